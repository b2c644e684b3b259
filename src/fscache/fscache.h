// SPDX-License-Identifier: MIT
// fscache.h — the cache API that netfs uses (cf. Documentation/filesystems/caching/netfs-api.rst).
//
// A Cache wraps a Backend. A Volume holds the cookies of one origin; a Cookie stands for one
// remote file: its key, its coherency data (aux) and its size. Reads and writes happen inside an
// Operation, which pins the cookie and remembers the invalidation counter at its start: once
// the cookie is invalidated, the operation's I/O fails with kStale, so data of an old version
// never lands in, or comes out of, the new object. Every cache error is absorbed here: the worst
// outcome for netfs is "no caching" (Source::kDownloadFromServer without copy-to-cache).
//
// fscache never sees folios: only positions, byte spans and completion functions.
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "fscache/backend.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace fscache {

enum class Source {
  kFillWithZeroes,      // At or beyond EOF.
  kDownloadFromServer,  // Not in the cache.
  kReadFromCache,
};

struct ReadPlan {
  Source source = Source::kDownloadFromServer;
  uint64_t len = 0;            // May be shorter than asked: the run ends where the source does.
  bool copy_to_cache = false;  // For downloads: store the bytes afterwards.
};

struct Span {
  std::byte* base;
  size_t len;
};

// Called exactly once, possibly before the call that takes it returns.
using IoCompletion = std::function<void(util::Status status)>;

struct CacheStats {
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> read_bytes{0};
  std::atomic<uint64_t> read_errors{0};  // Includes corruption found on read.
  std::atomic<uint64_t> corruptions{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> write_bytes{0};
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> stale_ops{0};  // I/O refused because the cookie was invalidated since.
  std::atomic<uint64_t> invalidations{0};
  std::atomic<uint64_t> objects_discarded_on_open{0};
  // Files not cached because their cache object could not be created or opened (read-only or
  // failing disk, permissions); full disks are counted as refused writes instead.
  std::atomic<uint64_t> open_errors{0};
};

class Cookie;
class Volume;

class Cache {
 public:
  // Takes ownership of `backend` (may be null: then no volume caches anything).
  Cache(std::unique_ptr<Backend> backend, int io_threads);
  ~Cache();
  // Fails with kBusy when another process owns the volume, or with the backend's error.
  util::Result<std::shared_ptr<Volume>> AcquireVolume(const std::string& key);
  CacheStats& stats() { return stats_; }
  BackendStats backend_stats() { return backend_ ? backend_->Stats() : BackendStats{}; }
  util::Result<uint64_t> Cull(uint64_t target_bytes) {
    if (!backend_) return util::Status::Error(util::Code::kNoCache, "no cache");
    return backend_->Cull(target_bytes);
  }
  // Waits until no cache I/O is queued or running.
  void Drain() { io_pool_.Drain(); }

 private:
  friend class Cookie;
  friend class Operation;
  std::unique_ptr<Backend> backend_;
  CacheStats stats_;
  // Write failures are logged at most once a minute for the whole cache (a full or failing
  // disk fails every file alike); the rest are counted in write_errors.
  std::atomic<int64_t> write_failure_logged_ns_{INT64_MIN / 2};
  std::atomic<uint64_t> write_failures_unlogged_{0};
  util::ThreadPool io_pool_;
};

class Volume : public std::enable_shared_from_this<Volume> {
 public:
  Volume(Cache* cache, std::unique_ptr<BackendVolume> backend) : cache_(cache), backend_(std::move(backend)) {}
  // Never fails: a cookie whose object cannot be opened simply caches nothing.
  std::shared_ptr<Cookie> AcquireCookie(const std::string& key, const std::string& aux,
                                        uint64_t object_size);
  // Small records beside the data (listings, attributes). Without a backend they are not kept.
  void PutMetadata(const std::string& key, const MetadataRecord& record);
  std::optional<MetadataRecord> GetMetadata(const std::string& key);
  bool caching() const { return backend_ != nullptr; }

 private:
  Cache* const cache_;
  std::unique_ptr<BackendVolume> backend_;
};

// An Operation pins the cookie for one read or write and ends on destruction. Movable.
class Operation {
 public:
  Operation() = default;
  ~Operation();
  Operation(Operation&& other) noexcept;
  Operation& operator=(Operation&& other) noexcept;
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  // Where to get [start, start + len) of a file of size i_size (cachefiles_prepare_read).
  ReadPlan PrepareRead(uint64_t start, uint64_t len, uint64_t i_size) const;
  // Reads the cached bytes at `pos` into `spans` (contiguous in the file). `done` gets kStale if
  // the cookie was invalidated since BeginOperation, kCorruption if the bytes failed
  // verification (the object is then discarded), kNoCache if there is nothing to read from.
  void Read(uint64_t pos, std::vector<Span> spans, IoCompletion done) const;
  // As Read, on the calling thread: for small reads, where handing the work to the cache's
  // threads and back costs more than the read.
  util::Status ReadNow(uint64_t pos, const std::vector<Span>& spans) const;
  // Stores `spans` at `pos`. Errors turn caching off for the cookie; the data is just not kept.
  void Write(uint64_t pos, std::vector<Span> spans, IoCompletion done,
             WriteHint hint = WriteHint::kStreamed) const;

 private:
  friend class Cookie;
  void Submit(bool write, uint64_t pos, std::vector<Span> spans, IoCompletion done,
              WriteHint hint) const;
  Operation(std::shared_ptr<Cookie> cookie, uint64_t inval_counter)
      : cookie_(std::move(cookie)), inval_counter_(inval_counter) {}
  std::shared_ptr<Cookie> cookie_;
  uint64_t inval_counter_ = 0;
};

class Cookie : public std::enable_shared_from_this<Cookie> {
 public:
  Cookie(Cache* cache, std::string key, std::unique_ptr<BackendObject> object);
  const std::string& key() const { return key_; }
  bool caching() const;

  Operation BeginOperation();
  // A file is open: its object must not be culled until the matching Unuse().
  void Use();
  void Unuse();
  // Origin changed: drop all cached data and take on the new coherency data and size. I/O of
  // operations begun before this fails with kStale from now on.
  void Invalidate(const std::string& aux, uint64_t object_size);
  // The object's size changed (kernel: fscache_resize_cookie()). Cached data below the smaller of
  // the two sizes is kept; a failure turns caching off for the cookie.
  void Resize(uint64_t object_size);
  // Bytes stored for this cookie, and where.
  uint64_t BytesCached();
  std::vector<std::pair<uint64_t, uint64_t>> CachedRanges();
  void SetPinned(bool pinned);
  bool pinned() const;

 private:
  friend class Operation;
  // kStale (and counted) when the cookie was invalidated since the operation began.
  util::Status CheckCurrent(uint64_t inval_counter);
  util::Status DoRead(uint64_t inval_counter, uint64_t pos, const std::vector<Span>& spans);
  util::Status DoWrite(uint64_t inval_counter, uint64_t pos, const std::vector<Span>& spans,
                       WriteHint hint);
  void DisableCaching(const util::Status& why);

  Cache* const cache_;
  const std::string key_;
  // Held shared for each backend I/O and exclusively to invalidate: an invalidation waits for
  // I/O already inside the backend, and no older operation's I/O gets in after it.
  mutable std::shared_mutex io_mu_;
  std::unique_ptr<BackendObject> object_;  // Null when not caching. Protected by io_mu_.
  std::atomic<uint64_t> inval_counter_{0};
  // After a write error (full disk, I/O error) the cookie stops caching until this time
  // (steady clock, ns); 0 when caching.
  std::atomic<int64_t> disabled_until_ns_{0};
  bool Disabled() const;
};

}  // namespace fscache
