// SPDX-License-Identifier: MIT
#include "fuse/errno.h"

#include <cerrno>

namespace nc_fuse {

int ErrnoOf(const util::Status& status) {
  switch (status.code()) {
    case util::Code::kOk: return 0;
    case util::Code::kNotFound: return ENOENT;
    case util::Code::kInvalidArgument: return EINVAL;
    case util::Code::kPermissionDenied: return EACCES;
    case util::Code::kNotADirectory: return ENOTDIR;
    case util::Code::kIsADirectory: return EISDIR;
    case util::Code::kBusy: return EBUSY;
    case util::Code::kNameTooLong: return ENAMETOOLONG;
    // The origin changed under us too often, the cache is unusable, or the origin failed:
    // a reader gets EIO rather than bytes we cannot vouch for.
    case util::Code::kStale:
    case util::Code::kNoCache:
    case util::Code::kNoSpace:
    case util::Code::kCorruption:
    case util::Code::kIOError:
    case util::Code::kUnavailable: return EIO;
  }
  return EIO;
}

}  // namespace nc_fuse
