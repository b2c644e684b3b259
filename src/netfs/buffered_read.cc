// SPDX-License-Identifier: MIT
// buffered_read.cc — turns a read() into locked folios and subrequests, and waits for the
// folios it must return. Kernel: fs/netfs/buffered_read.c (netfs_readahead,
// netfs_read_to_pagecache), mm/readahead.c for the window.
#include <algorithm>
#include <cstring>

#include "netfs/internal.h"
#include "util/log.h"

namespace netfs {

using folio::Folio;
using folio::FolioFlag;
using folio::FolioRef;
using folio::kFolioSize;
using fscache::Source;
using util::Code;
using util::Status;

namespace {

constexpr int kMaxAttempts = 4;

// Decides how far ahead of [pos, end) to read, from the pattern of earlier reads on the handle.
// Returns the end of the readahead range (== end when none is due).
//
// The kernel sends a sequential reader's readahead as several requests at once, and the FUSE
// threads may take them in any order: once a reader streams, a read that starts within
// `reorder` of where the last one ended still counts as sequential. The window is topped up
// whenever a subrequest's worth (`step`) of it has been read, so about a whole window stays in
// flight: on a link with a long round trip, throughput is the bytes in flight per round trip.
uint64_t PlanReadahead(ReadaheadState* ra, uint64_t pos, uint64_t end, uint64_t i_size,
                       uint64_t max_readahead, uint64_t step, std::atomic<uint64_t>* ahead_total,
                       bool* random) {
  if (ra == nullptr || max_readahead == 0) return end;
  const uint64_t reorder = 4 * 1024 * 1024;
  std::lock_guard lock(ra->mu);
  const bool streaming = ra->window > 0;  // Only a reader known to be sequential is let off.
  const bool sequential = pos == ra->next_pos ||
                          (streaming && pos + reorder >= ra->next_pos && pos <= ra->next_pos + reorder);
  // One seek (say, to read a file's trailer) is not random access yet; a second one is.
  if (!sequential) ++ra->random_reads;
  *random = !sequential && ra->random_reads >= 2;
  const uint64_t min_window = std::min(4 * kFolioSize, max_readahead);
  if (sequential) {
    if (end > ra->next_pos) {
      ra->window = std::clamp<uint64_t>(ra->window * 2, min_window, max_readahead);
    }
    ra->next_pos = std::max(ra->next_pos, end);
  } else {
    ra->window = 0;
    ra->ra_end = 0;
    ra->next_pos = end;
  }
  // The mount's streams share max_readahead: this one may take what the others leave, and
  // always the smallest window, so that none stops reading ahead. (Two streams planning at once
  // may both take the same remainder: the bound is loose by a window or two, which is fine.)
  const uint64_t others = ahead_total->load(std::memory_order_relaxed) - ra->charged;
  const uint64_t share = max_readahead > others ? max_readahead - others : 0;
  const uint64_t window = ra->window == 0 ? 0 : std::min(ra->window, std::max(min_window, share));
  uint64_t planned_end = end;
  if (window > 0 && ra->ra_end < end + window - std::min(step, window / 2)) {
    ra->ra_end = end + window;
    planned_end = ra->ra_end;
  }
  // Nothing lies ahead past the end of the file: a file read to its end and kept open holds none
  // of the budget.
  const uint64_t ahead_end = std::min(ra->ra_end, i_size);
  const uint64_t ahead = window > 0 && ahead_end > ra->next_pos ? ahead_end - ra->next_pos : 0;
  ra->ahead_total = ahead_total;
  ahead_total->fetch_add(ahead - ra->charged, std::memory_order_relaxed);  // Wraps to subtract.
  ra->charged = ahead;
  return planned_end;
}

}  // namespace

std::vector<fscache::Span> Io::SpansOf(const Subrequest& sub, uint64_t skip) {
  std::vector<fscache::Span> spans;
  uint64_t remaining = sub.len;
  for (Folio* folio : sub.folios) {
    uint64_t len = std::min<uint64_t>(kFolioSize, remaining);
    remaining -= len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    spans.push_back({folio->data() + skip, len - skip});
    skip = 0;
  }
  return spans;
}

void Io::IssueSubrequest(std::shared_ptr<Subrequest> sub) {
  switch (sub->source) {
    case Source::kFillWithZeroes:
      for (Folio* folio : sub->folios) std::memset(folio->data(), 0, kFolioSize);
      Collect(std::move(sub), Status::Ok(), 0);
      return;
    case Source::kReadFromCache: {
      auto spans = SpansOf(*sub, 0);
      if (sub->len <= kFolioSize) {
        // One folio: a random reader's (streams read many). Read on this thread: handing it to
        // the cache's threads and back cost two context switches per page-cache miss.
        Status status = sub->rreq->op.ReadNow(sub->start, spans);
        size_t n = status.ok() ? sub->len : 0;
        Collect(std::move(sub), std::move(status), n);
        return;
      }
      sub->rreq->op.Read(sub->start, std::move(spans), [sub](Status status) {
        size_t n = status.ok() ? sub->len : 0;  // Before the move below.
        Collect(sub, std::move(status), n);
      });
      return;
    }
    case Source::kDownloadFromServer: {
      std::vector<origin::IoVec> iov;
      for (const fscache::Span& span : SpansOf(*sub, sub->transferred)) {
        iov.push_back({span.base, span.len});
      }
      NetfsOf(*sub)->stats_.origin_reads.fetch_add(1, std::memory_order_relaxed);
      sub->issued = std::chrono::steady_clock::now();
      const ReadRequest& rreq = *sub->rreq;
      NetfsOf(*sub)->origin_->Read(
          InodeOf(*sub)->path_, rreq.version, sub->start + sub->transferred, std::move(iov),
          [sub](Status status, size_t n) { Collect(sub, std::move(status), n); });
      return;
    }
  }
}

util::Result<FolioSpan> Inode::ReadFolios(uint64_t pos, uint64_t len, ReadaheadState* ra) {
  util::Result<FolioSpan> result =
      Status::Error(Code::kStale, path_ + " kept changing during a read");
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool retry = false;
    result = ReadOnce(pos, len, ra, &retry);
    if (!retry) return result;
    netfs_->stats_.read_restarts.fetch_add(1, std::memory_order_relaxed);
    if (!result.ok() && result.status().code() == Code::kStale) {
      // The origin moved to a new version under us: take it on before reading again.
      auto fresh = netfs_->origin_->GetAttrFresh(path_);
      if (!fresh.ok()) return fresh.status();
      Revalidate(*fresh);
    }
  }
  return result;
}

bool Inode::WorthFetchingWhole(uint64_t i_size) const {
  const Options& options = netfs_->options_;
  if (i_size <= options.random_prefetch_max) return true;
  const uint64_t share = i_size / Options::kRandomPrefetchShare;
  return i_size <= options.random_prefetch_large_max &&
         random_download_bytes_.load(std::memory_order_relaxed) >= share;
}

void Inode::StartBackgroundFetch() {
  if (background_fetch_started_.exchange(true)) return;  // Once per inode.
  netfs_->stats_.background_fetches.fetch_add(1, std::memory_order_relaxed);
  netfs_->prefetch_pool_.Submit([self = shared_from_this()] {
    // A sequential reader of its own: readahead keeps several requests in flight.
    ReadaheadState ra;
    ra.fetches_for_random_reader = true;
    for (uint64_t pos = 0; !self->netfs_->stopping_.load(std::memory_order_relaxed);) {
      auto span = self->ReadFolios(pos, 1024 * 1024, &ra);
      if (!span.ok() || span->len == 0) break;
      pos += span->len;
    }
  });
}

util::Result<size_t> Inode::Read(uint64_t pos, std::span<std::byte> out, ReadaheadState* ra) {
  auto span = ReadFolios(pos, out.size(), ra);
  if (!span.ok()) return span.status();
  uint64_t copied = 0;
  uint64_t offset = span->offset;
  for (const FolioRef& folio : span->folios) {
    uint64_t n = std::min(kFolioSize - offset, span->len - copied);
    std::memcpy(out.data() + copied, folio->data() + offset, n);
    copied += n;
    offset = 0;
  }
  return static_cast<size_t>(span->len);
}

util::Result<FolioSpan> Inode::ReadOnce(uint64_t pos, uint64_t want, ReadaheadState* ra,
                                        bool* retry) {
  Snapshot snap = TakeSnapshot();
  if (ra != nullptr && ra->pinned_generation && *ra->pinned_generation != snap.version_generation) {
    return Status::Error(Code::kStale, path_ + " changed on the origin since it was opened");
  }
  const uint64_t i_size = snap.attr.size;
  if (pos >= i_size || want == 0) return FolioSpan{};
  const uint64_t len = std::min<uint64_t>(want, i_size - pos);
  const uint64_t end = pos + len;
  // Readahead folios are locked until filled, so reclaim cannot take them: keep the window well
  // inside the page cache's limit.
  const uint64_t max_readahead = std::min<uint64_t>(netfs_->options_.max_readahead,
                                                    netfs_->pool_->Stats().limit * kFolioSize / 4);
  bool random = false;
  const uint64_t ra_end = std::min(
      PlanReadahead(ra, pos, end, i_size, max_readahead, netfs_->options_.max_subrequest,
                    &netfs_->readahead_ahead_, &random), i_size);
  if (random && !background_fetch_started_.load(std::memory_order_relaxed) && cookie_ &&
      WorthFetchingWhole(i_size) && cookie_->BytesCached() < i_size) {
    StartBackgroundFetch();
  }
  const uint64_t first = pos / kFolioSize;
  const uint64_t last = (end - 1) / kFolioSize;
  const uint64_t ra_last = (std::max(ra_end, end) - 1) / kFolioSize;

  auto rreq = std::make_shared<ReadRequest>(shared_from_this());
  if (cookie_) rreq->op = cookie_->BeginOperation();
  rreq->version = snap.attr.version;
  rreq->generation = snap.generation;
  rreq->i_size = i_size;
  if (random || (ra != nullptr && ra->fetches_for_random_reader)) {
    rreq->cache_write_hint = fscache::WriteHint::kRereadSoon;
  }

  std::vector<FolioRef> wanted;
  std::vector<Folio*> to_fill;  // Locked by us.
  for (uint64_t index = first; index <= ra_last; ++index) {
    bool created = false;
    FolioRef ref = mapping_.FindOrCreate(index, &created);
    if (created) {
      to_fill.push_back(ref.get());
    } else if (index <= last && !ref->Test(FolioFlag::kUptodate) && ref->TryLock()) {
      // A folio left behind by a failed read: fill it again ourselves.
      if (ref->Test(FolioFlag::kUptodate)) {
        ref->Unlock();
      } else {
        to_fill.push_back(ref.get());
      }
    }
    // Readahead folios are held by their lock alone (rule 6); we keep only what we return.
    if (index <= last) wanted.push_back(std::move(ref));
  }

  // Cut the locked folios into subrequests of one source each.
  std::vector<std::shared_ptr<Subrequest>> subs;
  const uint64_t max_folios = std::max<uint64_t>(1, netfs_->options_.max_subrequest / kFolioSize);
  for (Folio* folio : to_fill) {
    uint64_t folio_len = folio->pos() < i_size ? std::min(kFolioSize, i_size - folio->pos()) : kFolioSize;
    fscache::ReadPlan plan = rreq->op.PrepareRead(folio->pos(), folio_len, i_size);
    if (plan.source == Source::kReadFromCache && plan.len < folio_len) {
      plan = {Source::kDownloadFromServer, folio_len, true};  // Only part of it is cached.
    }
    Subrequest* tail = subs.empty() ? nullptr : subs.back().get();
    bool extends = tail != nullptr && tail->source == plan.source &&
                   tail->copy_to_cache == plan.copy_to_cache &&
                   tail->folios.back()->index() + 1 == folio->index() &&
                   tail->folios.size() < max_folios;
    if (!extends) {
      auto sub = std::make_shared<Subrequest>();
      sub->rreq = rreq;
      sub->source = plan.source;
      sub->copy_to_cache = plan.copy_to_cache;
      sub->start = folio->pos();
      subs.push_back(std::move(sub));
      tail = subs.back().get();
    }
    tail->folios.push_back(folio);
    uint64_t sub_end = folio->pos() + kFolioSize;
    tail->len = (plan.source == Source::kFillWithZeroes ? sub_end : std::min(sub_end, i_size)) -
                tail->start;
  }
  if (random) {
    uint64_t downloads = 0;
    for (const auto& sub : subs) {
      if (sub->source == Source::kDownloadFromServer) downloads += sub->len;
    }
    if (downloads > 0) random_download_bytes_.fetch_add(downloads, std::memory_order_relaxed);
  }
  Io::ThrottleDownloads(netfs_, subs);
  for (auto& sub : subs) Io::IssueSubrequest(std::move(sub));

  // Wait for the folios we return; anyone's request may be filling them.
  bool all_uptodate = true;
  for (FolioRef& ref : wanted) {
    ref->WaitUnlocked();
    if (!ref->Test(FolioFlag::kUptodate)) all_uptodate = false;
  }
  if (!all_uptodate) {
    std::lock_guard lock(rreq->mu);
    Status error = rreq->error;
    // A failure in another reader's request, or a version change: try again ourselves. Our own
    // hard failure is the answer.
    *retry = error.ok() || error.code() == Code::kStale;
    if (error.ok()) error = Status::Error(Code::kIOError, "read of " + path_ + " failed");
    return error;
  }
  if (!SameGeneration(snap.generation)) {
    // The version changed while we waited: these folios may mix versions; read again.
    *retry = true;
    return Status::Error(Code::kStale, path_ + " changed during a read");
  }
  // Uptodate folios of one generation never change while referenced, so handing them out after
  // this check is as good as copying them before it.
  return FolioSpan{std::move(wanted), pos % kFolioSize, len};
}

}  // namespace netfs
