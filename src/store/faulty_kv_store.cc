#include "faulty_kv_store.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace reco::testing_util {

FaultyKvStore::FaultyKvStore(std::unique_ptr<KvStore> base)
    : base_(std::move(base)), uri_("faulty+" + base_->uri()) {}

std::unique_ptr<FaultyKvStore> FaultyKvStore::OverMemory() {
  Result<std::unique_ptr<KvStore>> memory = OpenKvStore("memory://");
  if (!memory.ok()) std::abort();  // memory:// cannot fail to open
  return std::make_unique<FaultyKvStore>(std::move(memory).value());
}

Status FaultyKvStore::OutageFault() {
  if (!unavailable.load()) return Status::Ok();
  injected_.fetch_add(1);
  return Status::Unavailable(uri_ + ": injected: store unreachable");
}

Status FaultyKvStore::ReadFault() {
  RECO_RETURN_IF_ERROR(OutageFault());
  if (fail_reads.load()) {
    injected_.fetch_add(1);
    return Status::IOError(uri_ + ": injected read error: " + std::strerror(EIO));
  }
  return Status::Ok();
}

Status FaultyKvStore::WriteFault() {
  RECO_RETURN_IF_ERROR(OutageFault());
  int left = writes_until_failure.load();
  while (left > 0 && !writes_until_failure.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 0) {
    injected_.fetch_add(1);
    return Status::IOError(uri_ + ": injected write error: " + std::strerror(ENOSPC));
  }
  return Status::Ok();
}

Status FaultyKvStore::Get(std::string_view key, std::string* value) {
  RECO_RETURN_IF_ERROR(ReadFault());
  return base_->Get(key, value);
}

Status FaultyKvStore::Scan(std::string_view prefix, const ScanFn& fn) {
  RECO_RETURN_IF_ERROR(ReadFault());
  return base_->Scan(prefix, fn);
}

Status FaultyKvStore::Put(std::string_view key, std::string_view value) {
  RECO_RETURN_IF_ERROR(WriteFault());
  return base_->Put(key, value);
}

Status FaultyKvStore::Delete(std::string_view key) {
  RECO_RETURN_IF_ERROR(WriteFault());
  return base_->Delete(key);
}

Status FaultyKvStore::Write(const WriteBatch& batch) {
  RECO_RETURN_IF_ERROR(WriteFault());
  return base_->Write(batch);
}

Result<uint64_t> FaultyKvStore::DeletePrefix(std::string_view prefix) {
  RECO_RETURN_IF_ERROR(WriteFault());
  return base_->DeletePrefix(prefix);
}

Status FaultyKvStore::Ping() {
  RECO_RETURN_IF_ERROR(OutageFault());
  return base_->Ping();
}

}  // namespace reco::testing_util
