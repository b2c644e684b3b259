// SPDX-License-Identifier: MIT
#include "cachefiles/internal.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace cachefiles {

int OpenNoFollow(const std::string& path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    int fd = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how)));
    if (fd >= 0 || errno != EAGAIN) return fd;  // EAGAIN: a rename raced the lookup; again.
  }
}

int StatNoFollow(const std::string& path, struct stat* st) {
  int fd = OpenNoFollow(path, O_PATH);
  if (fd < 0) return -1;
  int rc = ::fstat(fd, st);
  int err = errno;
  ::close(fd);
  errno = err;
  return rc;
}

namespace {

// The directory holding `path`, opened without following symlinks, and the last name in it.
int OpenParent(const std::string& path, std::string* name) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    errno = EINVAL;  // Cache paths are absolute.
    return -1;
  }
  *name = path.substr(slash + 1);
  return OpenNoFollow(slash == 0 ? "/" : path.substr(0, slash), O_PATH | O_DIRECTORY);
}

}  // namespace

int UnlinkNoFollow(const std::string& path) {
  std::string name;
  int dir = OpenParent(path, &name);
  if (dir < 0) return -1;
  int rc = ::unlinkat(dir, name.c_str(), 0);
  int err = errno;
  ::close(dir);
  errno = err;
  return rc;
}

int MkdirNoFollow(const std::string& path, mode_t mode) {
  std::string name;
  int dir = OpenParent(path, &name);
  if (dir < 0) return -1;
  int rc = ::mkdirat(dir, name.c_str(), mode);
  int err = errno;
  ::close(dir);
  errno = err;
  return rc;
}

DIR* OpenDirNoFollow(const std::string& path) {
  int fd = OpenNoFollow(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return nullptr;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) ::close(fd);
  return dir;
}

FILE* FopenNoFollow(const std::string& path, const char* mode) {
  const bool write = mode[0] == 'w';
  int fd = OpenNoFollow(path, write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0600);
  if (fd < 0) return nullptr;
  FILE* f = ::fdopen(fd, mode);
  if (f == nullptr) ::close(fd);
  return f;
}

util::Result<std::string> CheckedCacheDir(const std::string& dir, bool create) {
  if (create) {
    std::string partial;
    for (size_t at = 0; at != std::string::npos;) {
      at = dir.find('/', at + 1);
      partial = dir.substr(0, at);
      if (!partial.empty() && ::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return util::Status::FromErrno(errno, "cannot create cache directory " + partial);
      }
    }
  }
  char resolved[PATH_MAX];
  if (::realpath(dir.c_str(), resolved) == nullptr) {
    return util::Status::FromErrno(errno, "cache directory " + dir);
  }
  struct stat st;
  if (::stat(resolved, &st) != 0) return util::Status::FromErrno(errno, "cache directory " + dir);
  if (!S_ISDIR(st.st_mode)) {
    return util::Status::Error(util::Code::kNotADirectory, "cache directory " + dir + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return util::Status::Error(
        util::Code::kPermissionDenied,
        "cache directory " + dir + " belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " +
            std::to_string(::geteuid()) + "); use a directory of your own (netcache creates it, mode 0700)");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return util::Status::Error(util::Code::kPermissionDenied,
                               "cache directory " + dir + " is writable by other users (mode " + mode +
                                   "); make it private (chmod 700) or use another");
  }
  return std::string(resolved);
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  return StatNoFollow(path, &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

uint64_t TreeAllocatedBytes(const std::string& dir, uint64_t* data_files) {
  uint64_t total = AllocatedBytes(dir), files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    // lstat: the walk itself never follows a symlink to a directory, and one lstat per file
    // keeps re-measuring a large cache cheap.
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
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
  int fd = OpenNoFollow(path, O_RDONLY);
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
