#include "event_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "reco/interactions.h"

namespace reco::serve {
namespace {

using json = nlohmann::json;

// Deepest nesting a valid body has: {"events": [ {event} ]}.
constexpr int kMaxDepth = 3;

struct EventFailure {
  std::string field;
  std::string reason;  // completes "<field> <reason>"
};

bool ReadId(const json& v, std::string* out) {
  if (v.is_string()) {
    *out = v.get<std::string>();
  } else if (v.is_number_unsigned()) {
    *out = std::to_string(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    *out = std::to_string(v.get<int64_t>());
  } else {
    return false;
  }
  return true;
}

bool ReadEvent(const json& object, int64_t now_ms, Event* event, EventFailure* failure) {
  if (!object.is_object()) {
    *failure = {"", "must be a JSON object"};
    return false;
  }
  bool has_user = false, has_item = false, has_type = false;
  event->value.reset();
  event->timestamp_ms = now_ms;
  for (const auto& [key, v] : object.items()) {
    if (key == "user_id" || key == "item_id") {
      if (!ReadId(v, key == "user_id" ? &event->user_id : &event->item_id)) {
        *failure = {key, "must be a string or an integer"};
        return false;
      }
      (key == "user_id" ? has_user : has_item) = true;
    } else if (key == "type") {
      if (!v.is_string()) {
        *failure = {key, "must be a string"};
        return false;
      }
      event->type = v.get<std::string>();
      has_type = true;
    } else if (key == "value") {
      if (v.is_null()) continue;
      if (!v.is_number()) {
        *failure = {key, "must be a number"};
        return false;
      }
      // Bounded where it enters: one huge value would otherwise poison every
      // model trained on the log (interactions.h).
      const double d = v.get<double>();
      if (!std::isfinite(d) || std::fabs(d) > double{kMaxInteractionValue}) {
        *failure = {key, "must be a finite number in [-1000000, 1000000]"};
        return false;
      }
      event->value = static_cast<float>(d);
    } else if (key == "timestamp") {
      if (v.is_null()) continue;
      if (!v.is_number_integer()) {
        *failure = {key, "must be an integer (Unix seconds or milliseconds)"};
        return false;
      }
      if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(kMaxTimestampMs)
                                 : v.get<int64_t>() < 0) {
        *failure = {key, "must be between 0 and 253402300799999 (year 9999 in milliseconds)"};
        return false;
      }
      const int64_t t = v.get<int64_t>();
      event->timestamp_ms = t < kTimestampMillisThreshold ? t * 1000 : t;
    } else {
      *failure = {key, "is not a known field (allowed: user_id, item_id, type, value, timestamp)"};
      return false;
    }
  }
  if (!has_user || !has_item || !has_type) {
    *failure = {!has_user ? "user_id" : !has_item ? "item_id" : "type", "is required"};
    return false;
  }
  if (Status st = ValidateEvent(*event); !st.ok()) {
    // ValidateEvent's messages start with the field they are about.
    const std::string& m = st.message();
    const size_t space = m.find(' ');
    *failure = {m.substr(0, space),
                space == std::string::npos ? "is invalid" : m.substr(space + 1)};
    return false;
  }
  return true;
}

}  // namespace

bool ParseEventsBody(std::string_view body, uint32_t max_events, int64_t now_ms,
                     std::vector<Event>* events, EventBodyError* error) {
  events->clear();
  // Structural rules that a DOM cannot show afterwards (depth, duplicate
  // keys) are checked while parsing; discarding a too-deep value keeps a
  // hostile body from building a deep tree.
  //
  // The body is exactly one JSON document. The parser takes a NUL byte for
  // the end of its input, so "{...}\0garbage" would parse as "{...}"; NUL
  // has no place in JSON text (inside a string it must be escaped), so any
  // raw one is refused first.
  if (const void* nul = std::memchr(body.data(), '\0', body.size()); nul != nullptr) {
    const size_t at = static_cast<size_t>(static_cast<const char*>(nul) - body.data());
    *error = {400, "", -1,
              "invalid JSON at byte " + std::to_string(at + 1) +
                  ": a NUL byte (the body must be exactly one JSON document)"};
    return false;
  }
  int depth = 0;
  bool too_deep = false;
  std::string duplicate;
  std::vector<std::set<std::string>> keys;
  // Where the parser is, for an error the DOM never sees (a number beyond
  // double range): the last key read and the index of the event it is in.
  std::string last_key;
  int64_t event_index = -1;
  const json::parser_callback_t check = [&](int, json::parse_event_t e, json& parsed) {
    switch (e) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++depth > kMaxDepth) too_deep = true;
        if (e == json::parse_event_t::object_start) {
          keys.emplace_back();
          // A single event is the top-level object; a batch's are at depth 3.
          if (depth == 1 || depth == 3) ++event_index;
        }
        return depth <= kMaxDepth;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (e == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
        --depth;
        return true;
      case json::parse_event_t::key:
        last_key = parsed.get<std::string>();
        if (!keys.empty() && !keys.back().insert(last_key).second && duplicate.empty()) {
          duplicate = last_key;
        }
        return true;
      case json::parse_event_t::value:
        return true;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(body.begin(), body.end(), check);
  } catch (const json::parse_error& e) {
    *error = {400, "", -1, "invalid JSON at byte " + std::to_string(e.byte)};
    return false;
  } catch (const json::out_of_range&) {
    // The only one parsing throws: a number that overflows a double. Its
    // text is not repeated (it may be a megabyte of digits).
    constexpr std::string_view kWhat = " is a number beyond the range of a double";
    if (depth >= 3) {  // in an event of a batch; the top-level object was event_index 0
      const int64_t index = event_index - 1;
      *error = {400, last_key, index,
                "events[" + std::to_string(index) + "]." + last_key + std::string(kWhat)};
    } else if (depth == 2) {  // an element of "events"
      *error = {400, "events", -1, "an element of events" + std::string(kWhat)};
    } else if (depth == 1) {  // in a single event
      *error = {400, last_key, 0, last_key + std::string(kWhat)};
    } else {
      *error = {400, "", -1, "the body" + std::string(kWhat)};
    }
    return false;
  } catch (const json::exception&) {
    *error = {400, "", -1, "invalid JSON"};
    return false;
  }
  if (too_deep) {
    *error = {400, "", -1, "JSON nests too deeply: events are flat objects"};
    return false;
  }
  if (!duplicate.empty()) {
    *error = {400, duplicate, -1, "field '" + duplicate + "' is given more than once"};
    return false;
  }
  if (!doc.is_object()) {
    *error = {400, "", -1, "body must be an event object or {\"events\": [...]}"};
    return false;
  }

  const json* list = nullptr;
  if (auto it = doc.find("events"); it != doc.end()) {
    if (doc.size() != 1) {
      *error = {400, "", -1, "a batch body has only the field \"events\""};
      return false;
    }
    if (!it->is_array()) {
      *error = {400, "events", -1, "events must be an array of event objects"};
      return false;
    }
    list = &*it;
    if (list->empty()) {
      *error = {400, "events", -1, "events is empty"};
      return false;
    }
    if (list->size() > max_events) {
      *error = {413, "events", -1,
                "events holds " + std::to_string(list->size()) + " events; at most " +
                    std::to_string(max_events) + " per request"};
      return false;
    }
  }

  const size_t n = list == nullptr ? 1 : list->size();
  events->resize(n);
  for (size_t i = 0; i < n; ++i) {
    EventFailure failure;
    if (!ReadEvent(list == nullptr ? doc : (*list)[i], now_ms, &(*events)[i], &failure)) {
      std::string where = list == nullptr ? "" : "events[" + std::to_string(i) + "]";
      if (!failure.field.empty()) where += (where.empty() ? "" : ".") + failure.field;
      *error = {400, failure.field, static_cast<int64_t>(i),
                (where.empty() ? "event" : where) + " " + failure.reason};
      return false;
    }
  }
  return true;
}

}  // namespace reco::serve
