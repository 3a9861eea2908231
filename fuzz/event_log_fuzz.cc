// The event-log record reader (src/events/event_log.cc): the bytes are one
// segment file of a log directory, read by ReplayDirectory (the read-only path:
// header check, record decoding, torn-tail handling) and by Open (recovery,
// which may truncate the segment, so it runs on a fresh copy).
#include <filesystem>

#include "fuzz_util.h"
#include "reco/event_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = reco::fuzz::ScratchDir() + "/log";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // Base seq 1: the name of the first segment of a new log.
  const std::string segment = dir + "/events-00000000000000000001.log";
  reco::fuzz::WriteFileOrDie(segment, data, size);
  uint64_t events = 0;
  (void)reco::EventLog::ReplayDirectory(dir, 0, [&](uint64_t, const reco::Event&) {
    ++events;
    return reco::Status::Ok();
  });
  reco::EventLogOptions options;
  options.skip_corrupt_records = (size > 0 && data[0] & 1);
  (void)reco::EventLog::Open(dir, options);
  return 0;
}
