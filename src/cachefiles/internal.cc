// SPDX-License-Identifier: MIT
#include "cachefiles/internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace cachefiles {

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

uint64_t TreeAllocatedBytes(const std::string& dir, uint64_t* data_files) {
  uint64_t total = AllocatedBytes(dir), files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    total += AllocatedBytes(it->path().string());
    if (it->path().extension() == ".data") ++files;
  }
  if (data_files != nullptr) *data_files = files;
  return total;
}

util::Result<std::string> ReadWholeFile(int fd) {
  std::string bytes;
  char chunk[65536];
  off_t pos = 0;
  for (;;) {
    ssize_t n = ::pread(fd, chunk, sizeof(chunk), pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::Status::FromErrno(errno, "read cache metadata");
    }
    if (n == 0) return bytes;
    bytes.append(chunk, static_cast<size_t>(n));
    pos += n;
  }
}

util::Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::Status::FromErrno(errno, "open " + path);
  auto bytes = ReadWholeFile(fd);
  ::close(fd);
  return bytes;
}

util::Status WriteAll(int fd, const void* data, size_t len, int64_t pos, const std::string& what) {
  const char* at = static_cast<const char*>(data);
  size_t done = 0;
  while (done < len) {
    ssize_t n = pos < 0 ? ::write(fd, at + done, len - done)
                        : ::pwrite(fd, at + done, len - done, static_cast<off_t>(pos) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::Status::FromErrno(errno, what);
    }
    done += static_cast<size_t>(n);
  }
  return util::Status::Ok();
}

}  // namespace cachefiles
