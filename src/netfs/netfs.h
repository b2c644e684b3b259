// SPDX-License-Identifier: MIT
// netfs.h — the helper library that joins the page cache, the cache and the origin
// (cf. include/linux/netfs.h, Documentation/filesystems/netfs_library.rst).
//
// A read looks its range up in the inode's folio mapping; missing folios are created locked,
// readahead extends the range on sequential access, and the locked folios are cut into
// subrequests, each served from the cache, downloaded from the origin, or zero-filled. Results
// are collected per subrequest: folios become uptodate and are unlocked; downloaded ones are
// then copied to the cache under kFscache (folio.h rules 2 and 3). Short origin reads are
// continued, retryable origin errors retried with backoff, failed cache reads re-fetched.
//
// Coherency: every read is pinned to the inode's version (the origin refuses other versions),
// and a version change invalidates folios and cookie before new data is served; a read() never
// returns bytes of two versions.
//
// Thread safety: all methods may be called concurrently from FUSE worker threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "folio/folio_pool.h"
#include "folio/mapping.h"
#include "fscache/fscache.h"
#include "origin/origin.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace netfs {

// Which files go into the persistent cache at all (others are read through memory only).
struct AdmissionRules {
  uint64_t min_size = 0;  // Bytes; smaller files are not cached.
  uint64_t max_size = 0;  // Bytes; 0: no limit.
  std::vector<std::string> include;  // Globs on the path in the origin; if any, one must match.
  std::vector<std::string> exclude;  // Globs; a match is never cached.
  bool Admits(const std::string& path, uint64_t size) const;
};

struct Options {
  AdmissionRules admission;
  // Deep enough to keep several requests in flight at tens of ms of round trip.
  uint64_t max_readahead = 32 * 1024 * 1024;
  uint64_t max_subrequest = 4 * 1024 * 1024;
  // A file read at random is fetched whole in the background, so the random reads soon hit
  // memory or the cache instead of paying a round trip each: a file up to random_prefetch_max
  // at its second random read, a larger one up to random_prefetch_large_max once its random
  // reads have downloaded 1/kRandomPrefetchShare of it (a reader that pulled that much, a
  // round trip a folio, likely wants most of it; one sequential fetch with several requests
  // in flight gets the rest in a few round trips per window). 0: never.
  uint64_t random_prefetch_max = 128 * 1024 * 1024;
  uint64_t random_prefetch_large_max = 4ull * 1024 * 1024 * 1024;
  static constexpr uint64_t kRandomPrefetchShare = 128;
  // Bytes of downloaded folios waiting for (or in) their copy to the cache. Past it, new
  // downloads wait for the cache disk: one slower than the origin would otherwise hold every
  // folio of a stream until it took them, past the memory limit. 0: no bound.
  uint64_t max_cache_backlog = 64 * 1024 * 1024;
  // How long a download waits for the backlog to drain before it goes uncached instead (a
  // cache disk that stopped answering must not stop reads).
  int cache_backlog_wait_ms = 5000;
  int retries = 3;           // Further attempts after a retryable origin error.
  int retry_backoff_ms = 50;  // Doubles on each attempt.
};

struct Stats {
  std::atomic<uint64_t> bytes_from_cache{0};
  std::atomic<uint64_t> bytes_from_origin{0};
  std::atomic<uint64_t> bytes_zero_filled{0};
  std::atomic<uint64_t> origin_reads{0};
  std::atomic<uint64_t> origin_errors{0};
  std::atomic<uint64_t> origin_retries{0};
  std::atomic<uint64_t> cache_reads{0};
  std::atomic<uint64_t> cache_read_fallbacks{0};  // Cache reads redone from the origin.
  std::atomic<uint64_t> cache_writes{0};
  std::atomic<uint64_t> cache_write_bytes{0};
  std::atomic<uint64_t> cache_write_errors{0};
  std::atomic<uint64_t> cache_backlog_waits{0};    // Downloads that waited for the cache disk.
  std::atomic<uint64_t> cache_writes_skipped{0};   // Not cached: the cache disk stayed behind.
  std::atomic<uint64_t> cache_write_skipped_bytes{0};
  std::atomic<uint64_t> invalidations{0};
  std::atomic<uint64_t> read_restarts{0};  // Reads redone because the version changed.
  std::atomic<uint64_t> background_fetches{0};  // Files fetched whole after random reads.
  std::atomic<uint64_t> revalidations_unchanged{0};
  // Origin request latency: counts per upper bound (seconds), the last is +Inf.
  static constexpr std::array<double, 11> kLatencyBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,   1,    2.5,   5};
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> origin_latency{};
  std::atomic<uint64_t> origin_latency_sum_us{0};
  void RecordOriginLatency(double seconds);
};

// Per open file: detects sequential access and sizes the readahead window, and pins the file
// handle to the version it was opened on.
struct ReadaheadState {
  ReadaheadState() = default;
  ReadaheadState(const ReadaheadState&) = delete;
  ReadaheadState& operator=(const ReadaheadState&) = delete;
  ~ReadaheadState() {
    if (ahead_total != nullptr) ahead_total->fetch_sub(charged, std::memory_order_relaxed);
  }
  // When set (Inode::Generation() at open), reads fail with kStale once the version changed,
  // so one open file never yields bytes of two versions. Constant after open.
  std::optional<uint64_t> pinned_generation;
  std::mutex mu;
  uint64_t next_pos = 0;  // Where a sequential reader reads next.
  uint64_t window = 0;    // Bytes read ahead of the reader; 0 when access looks random.
  uint64_t ra_end = 0;    // End of what has been read ahead already.
  uint32_t random_reads = 0;  // Reads that did not follow the previous one.
  // The whole-file fetch of a file read at random (Inode::StartBackgroundFetch). Constant.
  bool fetches_for_random_reader = false;
  // What this stream has read ahead and not yet consumed (ra_end - next_pos), as counted in
  // the mount's total (Netfs::readahead_ahead_), which all streams share. Protected by mu.
  uint64_t charged = 0;
  std::atomic<uint64_t>* ahead_total = nullptr;  // Set on the first charge.
};

class Inode;

// Folios holding [pos, pos + len) of one version of a file, kept alive by the references here:
// the bytes start `offset` into the first folio. Lets FUSE reply straight from folio memory.
struct FolioSpan {
  std::vector<folio::FolioRef> folios;
  uint64_t offset = 0;
  uint64_t len = 0;
};

// One mount's shared state. Borrowed pointers must outlive it.
class Netfs {
 public:
  // `volume` may be null (no caching).
  Netfs(origin::Origin* origin, folio::FolioPool* pool, std::shared_ptr<fscache::Volume> volume,
        Options options);
  // Waits for all reads and copies to the cache still in flight.
  // REQUIRES: the origin's and the cache's thread pools outlive it.
  ~Netfs();

  // The one live inode of `path` (revalidated against `attr`), created if there is none: two
  // inodes of one file would mean two page caches and two cache objects for it.
  std::shared_ptr<Inode> GetInode(const std::string& path, const origin::Attr& attr);
  // Inodes alive (held by a FUSE node, a file handle or I/O): for stats.
  size_t LiveInodes();
  Stats& stats() { return stats_; }
  origin::Origin* origin() { return origin_; }

  struct RevalidateResult {
    uint64_t checked = 0;
    uint64_t changed = 0;
    uint64_t failed = 0;
  };
  // Asks the origin again for every live file last checked longer than `older_than` ago; keeps
  // the data of unchanged files (`netcache revalidate`).
  RevalidateResult RevalidateAll(std::chrono::nanoseconds older_than);
  void WaitIdle();
  // Bytes read ahead and not yet consumed, over all open streams.
  uint64_t ReadaheadBytes() const { return readahead_ahead_.load(std::memory_order_relaxed); }

 private:
  friend class Inode;
  friend class IoToken;
  friend struct Io;
  origin::Origin* const origin_;
  folio::FolioPool* const pool_;
  const std::shared_ptr<fscache::Volume> volume_;
  const Options options_;
  Stats stats_;
  std::mutex inodes_mu_;
  std::map<std::string, std::weak_ptr<Inode>> inodes_;  // Protected by inodes_mu_.
  size_t prune_at_ = 1024;                               // Protected by inodes_mu_.
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  int64_t in_flight_ = 0;  // Protected by idle_mu_. Live ReadRequests (see IoToken).
  std::atomic<bool> stopping_{false};
  // Bytes read ahead and not yet consumed, summed over all streams (ReadaheadState::charged).
  // Bounded like one stream's window: eight streams with a window of the whole budget each
  // read ahead twice the memory limit, and reclaim took their folios before they were read
  // (8 readers of 512 MiB each: 2.3x the bytes from the origin, 481 MiB resident).
  std::atomic<uint64_t> readahead_ahead_{0};
  std::mutex backlog_mu_;
  std::condition_variable backlog_cv_;
  uint64_t cache_backlog_ = 0;  // Protected by backlog_mu_. See Options::max_cache_backlog.
  // Protected by backlog_mu_. A wait timed out: skip without waiting until the backlog drains.
  bool backlog_stuck_ = false;
  int64_t backlog_logged_ns_ = 0;  // Protected by backlog_mu_.
  uint64_t backlog_skips_unlogged_ = 0;  // Protected by backlog_mu_.
  // Last member: destroyed (joined) first, while everything its tasks use still exists.
  util::ThreadPool prefetch_pool_{"nc-prefetch", 2};
};

class Inode : public std::enable_shared_from_this<Inode> {
 public:
  Inode(Netfs* netfs, std::string path, const origin::Attr& attr);
  ~Inode();

  // Reads up to out.size() bytes at `pos`; fewer only at EOF. Errors: kNotFound (gone from the
  // origin), kStale (kept changing), kIOError and others from the origin.
  util::Result<size_t> Read(uint64_t pos, std::span<std::byte> out, ReadaheadState* ra);
  // As Read(), but hands out the folios instead of copying (len is 0 at EOF).
  util::Result<FolioSpan> ReadFolios(uint64_t pos, uint64_t len, ReadaheadState* ra);

  // Takes fresh attributes from the origin. A new version drops all cached data of the old
  // one (waiting for copies to the cache in flight) and returns true. An answer the origin was
  // asked for before the one taken last (a late, older answer) is ignored.
  bool Revalidate(const origin::Attr& fresh);
  std::chrono::steady_clock::time_point ValidatedAt() const;
  // Forgets all cached data of the file, in memory and on disk (`netcache invalidate`). Not a
  // version change: open handles go on reading (from the origin).
  void DropCache();
  // The file's cookie (null when not caching), for inspection and pinning.
  const std::shared_ptr<fscache::Cookie>& cookie() const { return cookie_; }

  // A file handle opened / closed: the cached data must not be culled in between.
  void BeginUse() {
    if (cookie_) cookie_->Use();
  }
  void EndUse() {
    if (cookie_) cookie_->Unuse();
  }

  origin::Attr attr() const;
  // Bumped by each version change (not by DropCache); see ReadaheadState::pinned_generation.
  uint64_t Generation() const;
  // The current attributes and the generation of their version, read together: what a new
  // file handle is pinned to.
  struct Pin {
    origin::Attr attr;
    uint64_t generation;
  };
  Pin CurrentVersion() const;
  const std::string& path() const { return path_; }
  uint64_t BytesCached() const { return cookie_ ? cookie_->BytesCached() : 0; }
  size_t FoliosResident() const { return mapping_.Size(); }

 private:
  friend struct Io;
  struct Snapshot {
    origin::Attr attr;
    uint64_t generation;          // Of the data: see generation_.
    uint64_t version_generation;  // Of the version: see version_generation_.
  };
  Snapshot TakeSnapshot();
  bool SameGeneration(uint64_t generation);
  // Drops folios and cached data and takes on `attr`. REQUIRES: invalidating_ raised by caller.
  void InvalidateData(const origin::Attr& attr);
  util::Result<FolioSpan> ReadOnce(uint64_t pos, uint64_t len, ReadaheadState* ra, bool* retry);

  // Fetches the whole file through the page cache (and so into the cache), in the background.
  void StartBackgroundFetch();
  // Whether a file of `i_size` read at random is fetched whole now (Options::random_prefetch_*).
  bool WorthFetchingWhole(uint64_t i_size) const;

  Netfs* const netfs_;
  const std::string path_;
  std::atomic<bool> background_fetch_started_{false};
  // Bytes downloaded for reads that looked random (the large-file prefetch rule, Options).
  std::atomic<uint64_t> random_download_bytes_{0};
  mutable std::mutex mu_;
  std::condition_variable invalidated_cv_;
  origin::Attr attr_;            // Protected by mu_.
  // Protected by mu_. Bumped whenever cached data is dropped (a version change or DropCache):
  // reads that filled folios across it are retried.
  uint64_t generation_ = 0;
  // Protected by mu_. Bumped on each version change only: what a file handle is pinned to
  // (dropping cached data of an unchanged file fails no reader).
  uint64_t version_generation_ = 0;
  // Protected by mu_. When the origin was asked for the answer in attr_ (Attr::asked_at_ns): an
  // answer asked before it is older and never replaces it.
  int64_t attr_asked_at_ns_ = 0;
  std::chrono::steady_clock::time_point validated_at_;  // Protected by mu_. Last origin check.
  int invalidating_ = 0;         // Protected by mu_. Readers wait while it is non-zero.
  folio::Mapping mapping_;
  std::shared_ptr<fscache::Cookie> cookie_;  // Null when not caching.
};

}  // namespace netfs
