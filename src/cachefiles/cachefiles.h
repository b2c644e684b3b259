// SPDX-License-Identifier: MIT
// cachefiles.h — the persistent on-disk cache backend (cf. fs/cachefiles). One directory per
// volume, hashed fan-out directories, and per remote file a sparse data file plus a metadata
// file that records the cookie key, coherency data, and a checksum for every stored granule.
// Bytes are served only when their granule's checksum matches, so a kill -9, a torn write or a
// flipped bit on disk leads to a refetch, never to wrong bytes. Format: docs/cache_format.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cachefiles/cull.h"
#include "cachefiles/metadata.h"
#include "fscache/backend.h"

namespace cachefiles {

inline constexpr uint64_t kDefaultGranuleSize = 128 * 1024;

// Opens (creating) the cache at `dir` and starts its culler. Fails with a clear message when
// `dir` cannot be created or written, or the policy makes no sense. `granule_size` must be a
// power of two of at least 4096.
util::Result<std::unique_ptr<fscache::Backend>> OpenCache(const std::string& dir,
                                                           uint64_t granule_size =
                                                               kDefaultGranuleSize,
                                                           CullPolicy policy = {});

// One cached file, as `netcache cache ls` shows it (read from the files, no daemon needed).
struct CacheEntry {
  std::string volume;  // The origin, e.g. "posix:/srv/data" or "http:https://host/data/".
  std::string key;     // The file's path in the origin.
  uint64_t size = 0;   // The file's size at the cached version.
  uint64_t cached_bytes = 0;
  uint64_t allocated = 0;  // Disk space of its data and metadata.
  AccessRecord access;
};

util::Result<std::vector<CacheEntry>> ListCacheDir(const std::string& dir);
// Removes every cached file of every volume not owned by a running daemon; fails naming the
// volumes that are (their data is kept).
util::Status ClearCacheDir(const std::string& dir);
// Allocated bytes of everything under `dir` (what du reports).
uint64_t CacheDirBytes(const std::string& dir);

// Measures `dir` and culls it down to `target_bytes` (coldest first) without a daemon; the
// caller must hold no volume of it. Returns the bytes freed.
util::Result<uint64_t> CullCacheDir(const std::string& dir, uint64_t target_bytes);

}  // namespace cachefiles
