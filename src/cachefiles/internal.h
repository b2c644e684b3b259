// SPDX-License-Identifier: MIT
// internal.h — small file helpers shared by the files of cachefiles/ only.
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace cachefiles {

// Allocated bytes (blocks, as du counts them) of one path; 0 if it does not exist.
uint64_t AllocatedBytes(const std::string& path);
// Allocated bytes of `dir` and everything below it; counts the ".data" files in *data_files.
uint64_t TreeAllocatedBytes(const std::string& dir, uint64_t* data_files = nullptr);
util::Result<std::string> ReadWholeFile(int fd);
util::Result<std::string> ReadWholeFile(const std::string& path);
// Writes all of data at pos (at the file's offset when pos < 0); `what` names it in errors.
util::Status WriteAll(int fd, const void* data, size_t len, int64_t pos, const std::string& what);

}  // namespace cachefiles
