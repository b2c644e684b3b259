// SPDX-License-Identifier: MIT
// mapping.cc — lookup, insertion, truncation and the per-mapping half of reclaim.
// Kernel: filemap_get_folio(), truncate_inode_pages_range() in mm/truncate.c.
#include "folio/mapping.h"

#include <vector>

namespace folio {
namespace {
constexpr uint32_t kBusyFlags = static_cast<uint32_t>(FolioFlag::kLocked) |
                                static_cast<uint32_t>(FolioFlag::kDirty) |
                                static_cast<uint32_t>(FolioFlag::kWriteback) |
                                static_cast<uint32_t>(FolioFlag::kFscache);
}  // namespace

Mapping::Mapping(FolioPool* pool) : pool_(pool) { pool_->Register(this); }

Mapping::~Mapping() {
  pool_->Unregister(this);  // First, so reclaim no longer visits us.
  Invalidate();
}

FolioRef Mapping::Find(uint64_t index) {
  std::lock_guard lock(mu_);
  auto it = folios_.find(index);
  if (it == folios_.end()) return {};
  it->second->referenced_.store(true, std::memory_order_relaxed);
  return FolioRef::Acquire(it->second);
}

FolioRef Mapping::FindOrCreate(uint64_t index, bool* created) {
  *created = false;
  if (FolioRef found = Find(index)) return found;
  // Allocate outside mu_: allocation may reclaim, and reclaim takes mu_.
  Folio* fresh = pool_->Allocate(index);
  NC_CHECK(fresh->TryLock());
  std::lock_guard lock(mu_);
  auto [it, inserted] = folios_.try_emplace(index, fresh);
  if (!inserted) {
    // Lost the race: hand back our unused folio (never visible to anyone else).
    fresh->flags_.store(0, std::memory_order_relaxed);
    fresh->Put();
    it->second->referenced_.store(true, std::memory_order_relaxed);
    return FolioRef::Acquire(it->second);
  }
  *created = true;
  fresh->Get();  // The caller's reference; the allocation's one is the mapping's (rule 1).
  return FolioRef::Adopt(fresh);
}

void Mapping::TruncateFrom(uint64_t first_index) {
  std::vector<Folio*> removed;  // Each carries the reference the mapping held.
  {
    std::lock_guard lock(mu_);
    auto it = folios_.lower_bound(first_index);
    while (it != folios_.end()) {
      removed.push_back(it->second);
      it = folios_.erase(it);
    }
  }
  for (Folio* folio : removed) {
    // Rule 5. We still hold the mapping's reference, so rule 7 holds for these waits.
    folio->WaitUnlocked();
    folio->WaitFscache();
    folio->WaitWriteback();
    folio->Put();
  }
}

size_t Mapping::Size() const {
  std::lock_guard lock(mu_);
  return folios_.size();
}

size_t Mapping::ReclaimSome(size_t want) {
  std::lock_guard lock(mu_);
  size_t freed = 0;
  size_t visited = 0;
  const size_t total = folios_.size();
  auto it = folios_.lower_bound(clock_hand_);
  while (freed < want && visited < total) {
    if (it == folios_.end()) it = folios_.begin();
    ++visited;
    Folio* folio = it->second;
    if (folio->referenced_.exchange(false, std::memory_order_relaxed) ||
        (folio->flags_.load(std::memory_order_acquire) & kBusyFlags) != 0) {
      ++it;
      continue;
    }
    // Rule 4: only the mapping's reference may remain; claiming it atomically means no one can
    // take a new one (lookups need mu_, and every other holder already has a reference).
    int expected = 1;
    if (!folio->refs_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
      ++it;
      continue;
    }
    it = folios_.erase(it);
    // The count is already 0, so free directly instead of through Put().
    folio->refs_.store(1, std::memory_order_relaxed);
    folio->Put();
    ++freed;
  }
  clock_hand_ = it == folios_.end() ? 0 : it->first;
  return freed;
}

}  // namespace folio
