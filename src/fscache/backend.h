// SPDX-License-Identifier: MIT
// backend.h — what a cache backend implements for fscache (cf. include/linux/fscache-cache.h).
// A backend stores byte ranges of objects, each identified by a (volume key, cookie key) pair
// and guarded by coherency data ("aux"). It never sees folios; it sees positions and buffers.
//
// Contract for BackendObject: calls are synchronous and may come from several threads at once
// (the object serialises what it must). Data is stored in granules of granule_size() bytes;
// writes start on a granule boundary and cover whole granules, except that the last granule of
// the object may be short (it ends at object_size). A read of present granules returns the
// bytes exactly as written, or kCorruption — never other bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace fscache {

struct Occupancy {
  bool present = false;  // Whether the granule at the queried position is stored.
  uint64_t len = 0;      // How far the present (or absent) run extends from the position.
};

struct ObjectUsage {
  uint64_t bytes_present = 0;
};

// The backend's view of its space, for `netcache stat`.
struct BackendStats {
  uint64_t bytes_used = 0;      // Allocated bytes of everything in the cache directory.
  uint64_t objects = 0;         // Cached files.
  uint64_t size_limit = 0;      // 0: none.
  uint64_t culled_objects = 0;
  uint64_t culled_bytes = 0;
  uint64_t writes_refused = 0;  // Refused for want of space (limit, bstop, fstop).
};

// What a cache write's data is for next. kStreamed: a stream's, already in its reader's page
// cache, so the cache's copy may bypass memory (the backend may write it O_DIRECT). kRereadSoon:
// a random reader's, whose neighbours it will read through the cache soon: kept in memory (the
// cache file's page cache) as well as on disk.
enum class WriteHint { kStreamed, kRereadSoon };

class BackendObject {
 public:
  virtual ~BackendObject() = default;
  virtual uint64_t granule_size() const = 0;
  // The run of present or absent granules starting at `pos`, at most `max_len` long.
  virtual Occupancy Query(uint64_t pos, uint64_t max_len) = 0;
  // Fills `pieces`, contiguous in the file from `pos`, with verified cached data (kNoCache
  // when any of it is not cached, kCorruption when it fails verification).
  virtual util::Status ReadV(uint64_t pos, const std::vector<std::span<std::byte>>& pieces) = 0;
  util::Status Read(uint64_t pos, std::span<std::byte> buf) { return ReadV(pos, {buf}); }
  // Stores `pieces`, contiguous in the file from `pos`, as one write (one metadata update).
  virtual util::Status WriteV(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                              WriteHint hint = WriteHint::kStreamed) = 0;
  util::Status Write(uint64_t pos, std::span<const std::byte> data) { return WriteV(pos, {data}); }
  // Forgets all data and records new coherency data and size (origin changed).
  virtual util::Status Invalidate(const std::string& aux, uint64_t object_size) = 0;
  // The file's size changed without new content below the old size (e.g. a local truncate or
  // an append): keeps granules wholly below min(old, new) size, drops the rest.
  virtual util::Status Resize(uint64_t object_size) = 0;
  virtual ObjectUsage Usage() = 0;
  // Open files: an object in use is never culled. Balanced calls; may nest.
  virtual void Use() {}
  virtual void Unuse() {}
  // Stored byte ranges [start, end), merged, in order.
  virtual std::vector<std::pair<uint64_t, uint64_t>> CachedRanges() = 0;
  // A pinned object is never culled; the pin is kept across restarts.
  virtual void SetPinned(bool) {}
  virtual bool pinned() const { return false; }
};

// A small named record kept per volume (directory listings, attributes), with when it was
// stored.
struct MetadataRecord {
  std::string value;
  int64_t stored_at_ns = 0;  // CLOCK_REALTIME.
};

class BackendVolume {
 public:
  virtual ~BackendVolume() = default;
  // Replaces the record atomically. Errors just mean it is not kept.
  virtual util::Status PutMetadata(const std::string& key, const MetadataRecord& record) = 0;
  // Empty when absent, unreadable or corrupt.
  virtual std::optional<MetadataRecord> GetMetadata(const std::string& key) = 0;
  // Opens (creating if needed) the object for `key`. Stored data whose aux or size differ from
  // the given ones is discarded: the origin changed while we were not looking.
  virtual util::Result<std::unique_ptr<BackendObject>> OpenObject(const std::string& key,
                                                                 const std::string& aux,
                                                                 uint64_t object_size) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Fails with kBusy when another process owns the volume.
  virtual util::Result<std::unique_ptr<BackendVolume>> AcquireVolume(const std::string& key) = 0;
  virtual std::string Describe() const = 0;
  virtual BackendStats Stats() { return {}; }
  // Culls objects not in use, coldest first, until the cache holds at most `target_bytes`.
  virtual util::Result<uint64_t> Cull(uint64_t /*target_bytes*/) {
    return util::Status::Error(util::Code::kInvalidArgument, "this cache cannot be culled");
  }
};

}  // namespace fscache
