// SPDX-License-Identifier: MIT
// status.h — the error type of every layer below fuse/: a code, a message, and whether a retry
// may help. errno is produced only in fuse/errno.cc.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include "util/check.h"

namespace util {

enum class Code {
  kOk,
  kNotFound,
  kInvalidArgument,
  kPermissionDenied,
  kNotADirectory,
  kIsADirectory,
  kIOError,
  kStale,       // ESTALE: the origin changed under a read pinned to an older version.
  kNoCache,     // ENOBUFS: no usable cache here; go to the origin instead.
  kNoSpace,     // The cache's disk is full.
  kCorruption,  // Cached bytes or metadata failed verification.
  kBusy,
  kUnavailable,  // Transient origin trouble (timeouts, resets); retryable.
  kNameTooLong,  // ENAMETOOLONG: a name the origin or the kernel cannot hold.
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message, bool retryable = false) {
    return Status(code, std::move(message), retryable);
  }
  // Maps an errno from a system call to a Status whose message names the failed operation.
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool retryable() const { return retryable_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string message, bool retryable)
      : code_(code), retryable_(retryable), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  bool retryable_ = false;
  std::string message_;
};

const char* CodeName(Code code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like absl.
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    NC_CHECK(!std::get<Status>(value_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(value_);
  }
  T& value() {
    NC_CHECK(ok());
    return std::get<T>(value_);
  }
  const T& value() const {
    NC_CHECK(ok());
    return std::get<T>(value_);
  }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace util
