// SPDX-License-Identifier: MIT
#include "util/status.h"

#include <cstring>

namespace util {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kNotADirectory: return "not a directory";
    case Code::kIsADirectory: return "is a directory";
    case Code::kIOError: return "I/O error";
    case Code::kStale: return "stale";
    case Code::kNoCache: return "no cache";
    case Code::kNoSpace: return "no space";
    case Code::kCorruption: return "corruption";
    case Code::kBusy: return "busy";
    case Code::kUnavailable: return "unavailable";
    case Code::kNameTooLong: return "name too long";
  }
  return "unknown";
}

Status Status::FromErrno(int err, const std::string& what) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return Error(Code::kNotFound, message);
    case EACCES:
    case EPERM:
    case EROFS: return Error(Code::kPermissionDenied, message);
    case ENOTDIR: return Error(Code::kNotADirectory, message);
    case EISDIR: return Error(Code::kIsADirectory, message);
    case ENOSPC:
    case EDQUOT: return Error(Code::kNoSpace, message);
    case ESTALE: return Error(Code::kStale, message);
    case EBUSY: return Error(Code::kBusy, message);
    case EINVAL: return Error(Code::kInvalidArgument, message);
    case ENAMETOOLONG: return Error(Code::kNameTooLong, message);
    case EINTR:
    case EAGAIN:
    case ETIMEDOUT: return Error(Code::kUnavailable, message, /*retryable=*/true);
    default: return Error(Code::kIOError, message);
  }
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace util
