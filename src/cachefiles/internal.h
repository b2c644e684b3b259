// SPDX-License-Identifier: MIT
// internal.h — small file helpers shared by the files of cachefiles/ only.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "util/status.h"

namespace cachefiles {

// Every path under the cache directory is reached through these. The cache directory's own
// path is resolved once when it is opened (CheckedCacheDir: no symlink in it), so a symlink met
// anywhere on a path below it was planted there: it is never followed (openat2 with
// RESOLVE_NO_SYMLINKS), and the call fails with ELOOP. Each returns as the system call it
// stands for (-1 and errno, or null).
int OpenNoFollow(const std::string& path, int flags, mode_t mode = 0);
int StatNoFollow(const std::string& path, struct stat* st);
int UnlinkNoFollow(const std::string& path);
int MkdirNoFollow(const std::string& path, mode_t mode);
DIR* OpenDirNoFollow(const std::string& path);
FILE* FopenNoFollow(const std::string& path, const char* mode);  // "rb" or "w".

// The cache directory `dir` made if missing (mode 0700) and resolved to its real path, or why it
// must not be used: it is not a directory, or belongs to another user, or others may write to it
// (anyone who can create files in it can plant symlinks or files whose names are computable).
util::Result<std::string> CheckedCacheDir(const std::string& dir, bool create);

// Allocated bytes (blocks, as du counts them) of one path; 0 if it does not exist.
uint64_t AllocatedBytes(const std::string& path);
// Allocated bytes of `dir` and everything below it; counts the ".data" files in *data_files.
uint64_t TreeAllocatedBytes(const std::string& dir, uint64_t* data_files = nullptr);
util::Result<std::string> ReadWholeFile(int fd);
util::Result<std::string> ReadWholeFile(const std::string& path);
// Writes all of data at pos (at the file's offset when pos < 0); `what` names it in errors.
util::Status WriteAll(int fd, const void* data, size_t len, int64_t pos, const std::string& what);

}  // namespace cachefiles
