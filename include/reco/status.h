// Status and Result<T>: the error type every fallible call in reco returns.
//
// As in leveldb, errors are values, not exceptions: a module boundary never
// throws. A Status carries a code (what kind of failure, for the caller's
// control flow) and a message (for the human: file, line, reason).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace reco {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad user input: flags, values, malformed lines
    kNotFound,         // missing file, unknown key
    kIOError,          // the OS or a network call failed
    kCorruption,       // stored bytes fail their checksum or format check
    kUnavailable,      // a service (store, server) cannot be reached now
    kFailedPrecondition,
    kInternal,
    kResourceExhausted,  // a bounded queue or pool is full: retry later
  };

  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }
  static Status ResourceExhausted(std::string msg) {
    return {Code::kResourceExhausted, std::move(msg)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: ratings.csv:12: expected 4 fields, got 3"
  std::string ToString() const;

  // Returns a copy with `context + ": "` prefixed to the message.
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Status::Code code);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result built from an OK status has no value");
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The same result, its error (if any) prefixed as Status::WithContext does.
  Result WithContext(const std::string& context) && {
    if (!ok()) status_ = status_.WithContext(context);
    return std::move(*this);
  }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace reco

// Propagates a non-OK Status to the caller.
#define RECO_RETURN_IF_ERROR(expr)       \
  do {                                   \
    ::reco::Status _reco_st = (expr);    \
    if (!_reco_st.ok()) return _reco_st; \
  } while (0)

#define RECO_CONCAT_INNER_(a, b) a##b
#define RECO_CONCAT_(a, b) RECO_CONCAT_INNER_(a, b)
// RECO_ASSIGN_OR_RETURN(auto x, MakeX()); binds the value or returns the Status.
#define RECO_ASSIGN_OR_RETURN(lhs, expr) \
  RECO_ASSIGN_OR_RETURN_IMPL_(RECO_CONCAT_(_reco_res_, __LINE__), lhs, expr)
#define RECO_ASSIGN_OR_RETURN_IMPL_(res, lhs, expr) \
  auto res = (expr);                                \
  if (!res.ok()) return res.status();               \
  lhs = std::move(res).value()
