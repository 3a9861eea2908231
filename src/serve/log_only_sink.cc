// The EventSink of a server with an event log but no model to refresh:
// accepted events only become durable, for a later `reco events export` and
// retraining.
#include "reco/event_log.h"
#include "reco/ingest.h"
#include "reco/server.h"

namespace reco {
namespace {

class LogOnlyEventSink final : public EventSink {
 public:
  explicit LogOnlyEventSink(EventLog* log) : log_(log) {}
  Result<uint64_t> Accept(std::span<const Event> events) override { return log_->Append(events); }

 private:
  EventLog* log_;
};

}  // namespace

std::unique_ptr<EventSink> MakeLogOnlyEventSink(EventLog* log) {
  return std::make_unique<LogOnlyEventSink>(log);
}

}  // namespace reco
