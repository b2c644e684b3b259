// SPDX-License-Identifier: MIT
// folio_pool.h — owns folio memory and keeps the page cache within its memory limit by direct
// reclaim: when an allocation would pass the limit, a clock (second-chance LRU) scan over the
// registered mappings frees folios that rule 4 allows. Kernel: mm/vmscan.c, much simplified.
//
// Thread safety: all methods may be called from any thread. Lock order: registry_mu_ before
// Mapping::mu_ before free_mu_.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "folio/folio.h"

namespace folio {

struct FolioPoolStats {
  uint64_t resident = 0;   // Folios handed out and not yet freed.
  uint64_t reclaimed = 0;  // Folios freed by reclaim.
  uint64_t limit = 0;      // In folios.
};

class FolioPool {
 public:
  // `recycle` keeps freed folios for reuse (so a stale wake-up would hit a live folio, which the
  // checks in folio.cc catch); without it memory is returned to the allocator (for ASan).
  explicit FolioPool(size_t memory_limit_bytes, bool recycle = true);
  // REQUIRES: every folio has been freed and every mapping destroyed.
  ~FolioPool();
  FolioPool(const FolioPool&) = delete;
  FolioPool& operator=(const FolioPool&) = delete;

  // A fresh folio for `index`: flags clear, one reference owned by the caller. Reclaims first
  // when the pool is at its limit; never fails (the limit is soft when nothing is reclaimable).
  Folio* Allocate(uint64_t index);

  // Frees up to `target` folios by the clock scan. Returns how many were freed.
  size_t Reclaim(size_t target);

  FolioPoolStats Stats() const;

 private:
  friend class Folio;
  friend class Mapping;
  void Free(Folio* folio);
  // A folio not yet handed out: with `recycle_`, the first of a new arena (the rest go to free_).
  Folio* NewFolio();
  void Register(Mapping* mapping);
  void Unregister(Mapping* mapping);

  const size_t limit_folios_;
  const bool recycle_;
  std::atomic<uint64_t> resident_{0};
  std::atomic<uint64_t> reclaimed_{0};

  std::mutex registry_mu_;
  std::vector<Mapping*> mappings_;  // Protected by registry_mu_.
  size_t next_mapping_ = 0;         // Protected by registry_mu_; where the next scan starts.

  std::mutex free_mu_;
  std::vector<Folio*> free_;  // Protected by free_mu_.
  std::vector<void*> arenas_;  // Protected by free_mu_; where recycled folios' data lives.
};

}  // namespace folio
