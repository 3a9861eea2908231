// Fault injection for the layers above the store, leveldb's way (as
// EventLogFiles is for the event log): a KvStore that forwards to a real one
// and fails on command, so a unit test shows what precompute, the real-time
// engine's list writes and the server's reads do when the disk is full or a
// read returns EIO, without filling a disk or killing a process. For tests.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "reco/kv_store.h"

namespace reco::testing_util {

class FaultyKvStore final : public KvStore {
 public:
  explicit FaultyKvStore(std::unique_ptr<KvStore> base);
  // A memory:// store behind the faults.
  static std::unique_ptr<FaultyKvStore> OverMemory();

  // Faults; atomics, so a test may switch them while other threads use the
  // store. Each failing call changes nothing underneath.
  //
  // Get and Scan fail with IOError (EIO).
  std::atomic<bool> fail_reads{false};
  // >= 0: that many more Put/Delete/Write/DeletePrefix calls succeed, then
  // every one fails with IOError (ENOSPC) until it is set back to -1.
  std::atomic<int> writes_until_failure{-1};
  // Every call, Ping included, fails with Unavailable (a store that is gone).
  std::atomic<bool> unavailable{false};

  // Calls that failed because of a fault.
  uint64_t injected_failures() const { return injected_.load(); }
  KvStore& base() { return *base_; }

  Status Get(std::string_view key, std::string* value) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status Scan(std::string_view prefix, const ScanFn& fn) override;
  Result<uint64_t> DeletePrefix(std::string_view prefix) override;
  Status Ping() override;
  const std::string& uri() const override { return uri_; }

 private:
  Status OutageFault();  // `unavailable` set: Unavailable, counted
  Status ReadFault();
  Status WriteFault();

  std::unique_ptr<KvStore> base_;
  std::string uri_;
  std::atomic<uint64_t> injected_{0};
};

}  // namespace reco::testing_util
