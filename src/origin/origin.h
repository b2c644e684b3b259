// SPDX-License-Identifier: MIT
// origin.h — the "network filesystem" side: what netcache caches. An Origin answers metadata
// queries synchronously and reads byte ranges asynchronously, pinned to a version token so a
// read never mixes two versions of a file. It knows nothing of folios or the cache.
//
// Paths are relative to the origin's root, components joined by '/', "" for the root; every
// component was produced by ReadDir or a FUSE lookup name (never "..", never containing '/').
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/status.h"

namespace origin {

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct Attr {
  FileType type = FileType::kOther;
  uint64_t size = 0;
  uint32_t mode = 0;  // Permission bits only.
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t nlink = 1;
  // Changes whenever the content may have changed (coherency data for the cache).
  std::string version;
};

struct DirEntry {
  std::string name;
  FileType type = FileType::kOther;
};

struct FsStats {
  uint64_t block_size = 4096;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint64_t name_max = 255;
};

struct IoVec {
  std::byte* base;
  size_t len;
};

// Called exactly once with the bytes placed at the front of the iovecs. A short count with an
// ok status means the file ended early.
using ReadCompletion = std::function<void(util::Status status, size_t transferred)>;

class Origin {
 public:
  virtual ~Origin() = default;

  // Identifies the origin for the cache's volume (e.g. "posix:/srv/share").
  virtual std::string VolumeKey() const = 0;
  virtual util::Result<Attr> GetAttr(const std::string& path) = 0;
  // As GetAttr, but past any caching layer in front of the origin.
  virtual util::Result<Attr> GetAttrFresh(const std::string& path) { return GetAttr(path); }
  virtual util::Result<std::vector<DirEntry>> ReadDir(const std::string& path) = 0;
  virtual util::Result<std::string> ReadLink(const std::string& path) = 0;
  virtual util::Result<FsStats> StatFs() = 0;
  // Reads [pos, pos + total iovec length) of the version `version` of `path`. A different
  // current version fails the read with kStale. `done` is called exactly once, possibly before
  // this returns, on any thread.
  virtual void Read(const std::string& path, const std::string& version, uint64_t pos,
                    std::vector<IoVec> iov, ReadCompletion done) = 0;
};

inline std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace origin
