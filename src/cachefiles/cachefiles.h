// SPDX-License-Identifier: MIT
// cachefiles.h — the persistent on-disk cache backend (cf. fs/cachefiles). One directory per
// volume, hashed fan-out directories, and per remote file a sparse data file plus a metadata
// file that records the cookie key, coherency data, and a checksum for every stored granule.
// Bytes are served only when their granule's checksum matches, so a kill -9, a torn write or a
// flipped bit on disk leads to a refetch, never to wrong bytes. Format: docs/cache_format.md.
#pragma once

#include <memory>
#include <string>

#include "cachefiles/cull.h"
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

// Measures `dir` and culls it down to `target_bytes` (coldest first) without a daemon; the
// caller must hold no volume of it. Returns the bytes freed.
util::Result<uint64_t> CullCacheDir(const std::string& dir, uint64_t target_bytes);

}  // namespace cachefiles
