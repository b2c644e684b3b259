// SPDX-License-Identifier: MIT
// copy_to_cache.cc — writes freshly downloaded folios to the cache. Each folio carries kFscache
// and the reference that flag implies (taken in read_collect.cc); the write's completion clears
// the flag, wakes waiters, and only then drops the reference (folio.h rule 3).
// Kernel: fs/netfs/read_pgpriv2.c, folio_end_private_2().
#include <chrono>

#include "netfs/internal.h"
#include "util/clock.h"
#include "util/log.h"

namespace netfs {

using util::Code;
using util::Status;

// Downloads wait for a cache disk that is behind, so memory stays bounded and what is read is
// cached, as with the kernel's netfs (a folio under PG_private_2 cannot be reclaimed, so
// allocations wait for the cache). Only a disk that stays behind for long loses the copies.
void Io::ThrottleDownloads(Netfs* netfs, std::vector<std::shared_ptr<Subrequest>>& subs) {
  const uint64_t limit = netfs->options_.max_cache_backlog;
  uint64_t cached = 0;
  for (const auto& sub : subs) cached += sub->copy_to_cache ? sub->len : 0;
  if (limit == 0 || cached == 0) return;
  std::unique_lock lock(netfs->backlog_mu_);
  if (netfs->cache_backlog_ < limit) return;
  if (!netfs->backlog_stuck_) {
    netfs->stats_.cache_backlog_waits.fetch_add(1, std::memory_order_relaxed);
    if (netfs->backlog_cv_.wait_for(lock, std::chrono::milliseconds(netfs->options_.cache_backlog_wait_ms),
                                    [netfs, limit] { return netfs->cache_backlog_ < limit; })) {
      return;
    }
    netfs->backlog_stuck_ = true;  // Until it drains, later downloads do not wait for it too.
  }
  for (auto& sub : subs) sub->copy_to_cache = false;
  netfs->stats_.cache_writes_skipped.fetch_add(1, std::memory_order_relaxed);
  netfs->stats_.cache_write_skipped_bytes.fetch_add(cached, std::memory_order_relaxed);
  const int64_t now = util::SteadyNs();
  if (netfs->backlog_logged_ns_ != 0 && now - netfs->backlog_logged_ns_ < 60'000'000'000LL) {
    ++netfs->backlog_skips_unlogged_;
    return;
  }
  NC_LOG_WARN("the cache disk has been %.1f MiB behind for %d ms: %s at %llu not cached (%llu "
              "other reads since the last such line; all counted in cache_writes_skipped)",
              static_cast<double>(netfs->cache_backlog_) / (1 << 20),
              netfs->options_.cache_backlog_wait_ms, InodeOf(*subs.front())->path().c_str(),
              static_cast<unsigned long long>(subs.front()->start),
              static_cast<unsigned long long>(netfs->backlog_skips_unlogged_));
  netfs->backlog_logged_ns_ = now;
  netfs->backlog_skips_unlogged_ = 0;
}

void Io::CopyToCache(const std::shared_ptr<Subrequest>& sub) {
  // The folios are unlocked now but kept alive by the kFscache references.
  auto spans = SpansOf(*sub, 0);
  uint64_t len = sub->len;
  auto folios = sub->folios;
  Netfs* netfs = NetfsOf(*sub);
  auto rreq = sub->rreq;  // Keeps the operation (and so the cookie) pinned until completion.
  {
    std::lock_guard lock(netfs->backlog_mu_);
    netfs->cache_backlog_ += len;
  }
  rreq->op.Write(sub->start, std::move(spans), [rreq, folios, len, netfs](Status status) {
    if (status.ok()) {
      netfs->stats_.cache_writes.fetch_add(1, std::memory_order_relaxed);
      netfs->stats_.cache_write_bytes.fetch_add(len, std::memory_order_relaxed);
    } else if (status.code() != Code::kStale && status.code() != Code::kNoCache) {
      netfs->stats_.cache_write_errors.fetch_add(1, std::memory_order_relaxed);
    }
    for (folio::Folio* folio : folios) folio->EndFscache();
    std::lock_guard lock(netfs->backlog_mu_);
    netfs->cache_backlog_ -= len;
    if (netfs->cache_backlog_ < netfs->options_.max_cache_backlog) netfs->backlog_stuck_ = false;
    netfs->backlog_cv_.notify_all();
  }, rreq->cache_write_hint);
}

}  // namespace netfs
