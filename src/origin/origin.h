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
#include <optional>
#include <string>
#include <utility>
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
  // Changes whenever the content may have changed (coherency data for the cache). Empty when
  // not known: attributes taken from a directory listing are good for stat, not for reading.
  std::string version;
  // The origin's own clock (seconds since the epoch) when it reported `version`; 0 if unknown.
  // With mtime it tells whether a later listing showing the same mtime and size proves the
  // version unchanged (see MetadataCachingOrigin::ReadDir).
  int64_t version_seen_at_s = 0;
  // When (util::SteadyNs) the origin was asked the question this answers; 0 if not known (a
  // record, a listing). Orders answers that finish out of order: one asked earlier never
  // replaces one asked later. Not persisted.
  int64_t asked_at_ns = 0;
};

struct DirEntry {
  std::string name;
  FileType type = FileType::kOther;
  // What the listing itself said of the entry, when it said enough for stat (size and mtime);
  // its version is empty for files. mtime is rounded down to `mtime_granularity_s`.
  std::optional<Attr> attr;
  int64_t mtime_granularity_s = 1;
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
  // As GetAttr, for a path whose attributes were `known`: an origin may ask a conditional
  // question (HTTP: If-None-Match, 304) and answer `known` when nothing changed.
  virtual util::Result<Attr> GetAttrSince(const std::string& path, const Attr& known) {
    (void)known;
    return GetAttr(path);
  }
  // As GetAttr, for an open: a read from the start of the file usually follows, so an origin
  // may fetch the first bytes in the same round trip and keep them for that read.
  virtual util::Result<Attr> GetAttrForRead(const std::string& path) { return GetAttr(path); }
  // As GetAttr, for stat(2) only: may come from a directory listing, with an empty version.
  virtual util::Result<Attr> GetStatAttr(const std::string& path) { return GetAttr(path); }
  // As GetStatAttr, for an open file that is being read: the kernel asks again each time its
  // copy expires, and the reader waits for the answer. A caching layer may renew its answer
  // in the background before that answer expires.
  virtual util::Result<Attr> GetStatAttrInUse(const std::string& path) { return GetStatAttr(path); }
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

// The inverse of JoinPath: {directory, name}; the root's children have directory "".
inline std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace origin
