// SPDX-License-Identifier: MIT
// read_collect.cc — judges a finished subrequest: continues short reads, sends failed cache
// reads to the origin, hands retryable origin errors to read_retry.cc, and on success marks the
// folios uptodate, starts their copy to the cache, and unlocks them.
// Kernel: fs/netfs/read_collect.c (netfs_read_subreq_terminated, netfs_read_unlock_folios).
#include <algorithm>
#include <cstring>

#include "netfs/internal.h"
#include "util/log.h"

namespace netfs {

using folio::Folio;
using folio::FolioFlag;
using folio::kFolioSize;
using fscache::Source;
using util::Code;
using util::Status;

namespace {

void Fail(const std::shared_ptr<Subrequest>& sub, const Status& status) {
  {
    std::lock_guard lock(sub->rreq->mu);
    if (sub->rreq->error.ok()) sub->rreq->error = status;
  }
  // Abandoned: unlocked without uptodate, so the next reader tries again.
  for (Folio* folio : sub->folios) folio->Unlock();
}

}  // namespace

void Io::Collect(std::shared_ptr<Subrequest> sub, Status status, size_t n) {
  Netfs* netfs = NetfsOf(*sub);
  Stats& stats = netfs->stats_;
  if (sub->source == Source::kReadFromCache && !status.ok()) {
    // Kernel: a failed cache read becomes a download (NETFS_SREQ_NEED_RETRY, counted as "di").
    NC_LOG_DEBUG("cache read of %s at %llu failed (%s); fetching from the origin",
                 InodeOf(*sub)->path_.c_str(), static_cast<unsigned long long>(sub->start),
                 status.ToString().c_str());
    stats.cache_read_fallbacks.fetch_add(1, std::memory_order_relaxed);
    sub->source = Source::kDownloadFromServer;
    // After corruption the object was emptied, so storing the good bytes again is right.
    sub->copy_to_cache = status.code() == Code::kCorruption;
    sub->transferred = 0;
    IssueSubrequest(std::move(sub));
    return;
  }
  if (sub->source == Source::kDownloadFromServer) {
    stats.RecordOriginLatency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sub->issued).count());
    if (!status.ok()) {
      stats.origin_errors.fetch_add(1, std::memory_order_relaxed);
      if (MaybeRetry(sub, status)) return;
      NC_LOG_WARN("read of %s at %llu failed: %s", InodeOf(*sub)->path_.c_str(),
                  static_cast<unsigned long long>(sub->start + sub->transferred),
                  status.ToString().c_str());
      Fail(sub, status);
      return;
    }
    sub->transferred += n;
    if (sub->transferred < sub->len) {
      if (n > 0) {
        IssueSubrequest(std::move(sub));  // Short read that made progress: continue it.
        return;
      }
      // EOF before the size we were promised: the file shrank, so it is a new version.
      stats.origin_errors.fetch_add(1, std::memory_order_relaxed);
      Fail(sub, Status::Error(Code::kStale, InodeOf(*sub)->path_ + " is shorter than expected"));
      return;
    }
  }

  // Success. Zero the rest of the page that holds EOF, as the kernel does. Nothing past EOF is
  // ever handed out (reads stop at i_size, cache writes too), so the rest of the folio is left:
  // for a 4 KiB file, zeroing all of it cost more than the file's own bytes.
  const ReadRequest& rreq = *sub->rreq;
  uint64_t zeroed = 0;
  constexpr uint64_t kPage = 4096;
  for (Folio* folio : sub->folios) {
    uint64_t valid = folio->pos() >= rreq.i_size ? 0 : std::min(kFolioSize, rreq.i_size - folio->pos());
    if (valid < kFolioSize && sub->source != Source::kFillWithZeroes) {
      const uint64_t page_end = std::min(kFolioSize, (valid + kPage - 1) / kPage * kPage);
      std::memset(folio->data() + valid, 0, page_end - valid);
      zeroed += page_end - valid;
    }
  }
  switch (sub->source) {
    case Source::kReadFromCache:
      stats.cache_reads.fetch_add(1, std::memory_order_relaxed);
      stats.bytes_from_cache.fetch_add(sub->len, std::memory_order_relaxed);
      break;
    case Source::kDownloadFromServer:
      stats.bytes_from_origin.fetch_add(sub->len, std::memory_order_relaxed);
      break;
    case Source::kFillWithZeroes:
      zeroed += sub->len;
      break;
  }
  stats.bytes_zero_filled.fetch_add(zeroed, std::memory_order_relaxed);

  Inode* inode = InodeOf(*sub);
  {
    // Under the inode's lock, so a version change either happened before (we drop the data)
    // or happens after (its mapping invalidation removes these folios).
    std::lock_guard lock(inode->mu_);
    if (inode->generation_ != rreq.generation || inode->invalidating_ != 0) {
      status = Status::Error(Code::kStale, inode->path_ + " changed during a read");
    } else {
      for (Folio* folio : sub->folios) {
        folio->MarkUptodate();
        // Rule 2: the flag and its reference are taken while we still hold the lock.
        if (sub->copy_to_cache) folio->StartFscache();
      }
    }
  }
  if (!status.ok()) {
    Fail(sub, status);
    return;
  }
  for (Folio* folio : sub->folios) folio->Unlock();
  if (sub->copy_to_cache) CopyToCache(sub);
}

}  // namespace netfs
