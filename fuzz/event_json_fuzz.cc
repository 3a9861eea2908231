// The POST /v1/events body parser (src/serve/event_json.cc) over arbitrary bytes.
#include <string_view>
#include <vector>

#include "../src/serve/event_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<reco::Event> events;
  reco::serve::EventBodyError error;
  (void)reco::serve::ParseEventsBody(std::string_view(reinterpret_cast<const char*>(data), size),
                                     /*max_events=*/64, /*now_ms=*/1'700'000'000'000, &events,
                                     &error);
  return 0;
}
