// SPDX-License-Identifier: MIT
// posix_origin.h — a local directory as the origin: the stand-in for an NFS, SMB or sshfs mount
// that is slow to read. Version = size, mtime, ctime and inode number, so a rewrite in place or
// a replacement by rename both change it.
#pragma once

#include <memory>
#include <string>

#include "origin/origin.h"
#include "util/thread_pool.h"

namespace origin {

// Opens `root` (must be a directory). Reads run on `io_pool`, borrowed; must outlive the origin.
util::Result<std::unique_ptr<Origin>> OpenPosixOrigin(const std::string& root,
                                                      util::ThreadPool* io_pool);

}  // namespace origin
