// SPDX-License-Identifier: MIT
#include "origin/posix_origin.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace origin {
namespace {

using util::Result;
using util::Status;

FileType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kOther;
}

Attr AttrOf(const struct stat& st) {
  Attr attr;
  attr.type = TypeOf(st.st_mode);
  attr.size = static_cast<uint64_t>(st.st_size);
  attr.mode = st.st_mode & 07777;
  attr.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  attr.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  attr.nlink = st.st_nlink;
  attr.version = std::to_string(st.st_size) + ":" + std::to_string(attr.mtime_ns) + ":" +
                 std::to_string(attr.ctime_ns) + ":" + std::to_string(st.st_ino);
  return attr;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class PosixOrigin final : public Origin {
 public:
  PosixOrigin(std::string root, int root_fd, util::ThreadPool* io_pool)
      : root_(std::move(root)), root_fd_(root_fd), io_pool_(io_pool) {}
  ~PosixOrigin() override { ::close(root_fd_); }

  std::string VolumeKey() const override { return "posix:" + root_; }

  Result<Attr> GetAttr(const std::string& path) override {
    struct stat st;
    if (path.empty()) {
      if (::fstat(root_fd_, &st) != 0) return Status::FromErrno(errno, "stat " + root_);
      return AttrOf(st);
    }
    // The directory is opened beneath the root, then the last name is looked at without
    // following it: a directory on the way swapped for a symlink cannot lead outside.
    auto [dir, name] = SplitPath(path);
    FdCloser dir_fd(OpenBeneath(dir, O_PATH | O_DIRECTORY));
    if (dir_fd.get() < 0) return Status::FromErrno(errno, "stat " + Describe(path));
    if (::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Status::FromErrno(errno, "stat " + Describe(path));
    }
    return AttrOf(st);
  }

  Result<std::vector<DirEntry>> ReadDir(const std::string& path) override {
    int fd = OpenBeneath(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return Status::FromErrno(errno, "opendir " + Describe(path));
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "opendir " + Describe(path));
    }
    std::vector<DirEntry> entries;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      FileType type = FileType::kOther;
      switch (entry->d_type) {
        case DT_REG: type = FileType::kRegular; break;
        case DT_DIR: type = FileType::kDirectory; break;
        case DT_LNK: type = FileType::kSymlink; break;
        default: break;
      }
      entries.push_back({std::move(name), type});
    }
    int err = errno;
    ::closedir(dir);
    if (err != 0) return Status::FromErrno(err, "readdir " + Describe(path));
    return entries;
  }

  Result<std::string> ReadLink(const std::string& path) override {
    char target[PATH_MAX];
    auto [dir, name] = SplitPath(path);  // Beneath the root, as in GetAttr.
    FdCloser dir_fd(OpenBeneath(dir, O_PATH | O_DIRECTORY));
    if (dir_fd.get() < 0) return Status::FromErrno(errno, "readlink " + Describe(path));
    ssize_t n = ::readlinkat(dir_fd.get(), name.c_str(), target, sizeof(target));
    if (n < 0) return Status::FromErrno(errno, "readlink " + Describe(path));
    return std::string(target, static_cast<size_t>(n));
  }

  Result<FsStats> StatFs() override {
    struct statvfs sv;
    if (::fstatvfs(root_fd_, &sv) != 0) return Status::FromErrno(errno, "statfs " + root_);
    return FsStats{sv.f_frsize, sv.f_blocks, sv.f_bavail, sv.f_files, sv.f_favail, sv.f_namemax};
  }

  void Read(const std::string& path, const std::string& version, uint64_t pos,
            std::vector<IoVec> iov, ReadCompletion done) override {
    io_pool_->Submit([this, path, version, pos, iov = std::move(iov), done = std::move(done)] {
      size_t transferred = 0;
      Status status = ReadSync(path, version, pos, iov, &transferred);
      done(std::move(status), transferred);
    });
  }

 private:
  std::string Describe(const std::string& path) const {
    return path.empty() ? root_ : root_ + "/" + path;
  }

  // Opens below the root only: a symlink or ".." can never lead outside it.
  int OpenBeneath(const std::string& path, int flags) {
    if (path.empty()) return ::openat(root_fd_, ".", flags | O_CLOEXEC);
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
    return static_cast<int>(::syscall(SYS_openat2, root_fd_, path.c_str(), &how, sizeof(how)));
  }

  Status ReadSync(const std::string& path, const std::string& version, uint64_t pos,
                  const std::vector<IoVec>& iov, size_t* transferred) {
    // O_NONBLOCK: a FIFO swapped in for the file must not hold an origin thread in open().
    FdCloser fd(OpenBeneath(path, O_RDONLY | O_NONBLOCK));
    if (fd.get() < 0) return Status::FromErrno(errno, "open " + Describe(path));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + Describe(path));
    if (!S_ISREG(st.st_mode)) {
      return Status::Error(util::Code::kStale, Describe(path) + " is no longer a regular file");
    }
    if (AttrOf(st).version != version) {
      return Status::Error(util::Code::kStale, Describe(path) + " changed on the origin");
    }
    size_t total = 0;
    for (const IoVec& v : iov) total += v.len;
    std::vector<struct iovec> sys_iov;
    while (*transferred < total) {
      // Rebuild the iovec for what is left: short reads are continued, not reported.
      sys_iov.clear();
      size_t skip = *transferred;
      for (const IoVec& v : iov) {
        if (skip >= v.len) {
          skip -= v.len;
          continue;
        }
        sys_iov.push_back({v.base + skip, v.len - skip});
        skip = 0;
      }
      ssize_t n = ::preadv(fd.get(), sys_iov.data(), static_cast<int>(sys_iov.size()),
                           static_cast<off_t>(pos + *transferred));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "read " + Describe(path));
      }
      if (n == 0) break;
      *transferred += static_cast<size_t>(n);
    }
    // The bytes are only good if the file did not change while we read them.
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + Describe(path));
    if (AttrOf(st).version != version) {
      *transferred = 0;
      return Status::Error(util::Code::kStale, Describe(path) + " changed during a read");
    }
    return Status::Ok();
  }

  const std::string root_;
  const int root_fd_;
  util::ThreadPool* const io_pool_;
};

}  // namespace

Result<std::unique_ptr<Origin>> OpenPosixOrigin(const std::string& root,
                                                util::ThreadPool* io_pool) {
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr) {
    return Status::FromErrno(errno, "source " + root);
  }
  int fd = ::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "source " + root);
  return std::unique_ptr<Origin>(new PosixOrigin(resolved, fd, io_pool));
}

}  // namespace origin
