// SPDX-License-Identifier: MIT
#include "folio/folio_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

#include "folio/mapping.h"

namespace folio {
namespace {
// Folio data is aligned for O_DIRECT.
constexpr size_t kDataAlign = 4096;
// Recycled folios are carved from arenas of one huge page each. A fresh mount's first pass
// through the pool faulted every 4 KiB page (and zeroed it) as downloads were copied in: 15% of
// the daemon's CPU in a cold 1 GiB read. One fault per 2 MiB instead, and the kernel pins
// these pages for FUSE copies and direct I/O with fewer page-table walks.
constexpr size_t kArenaBytes = 2 * 1024 * 1024;
static_assert(kArenaBytes % kFolioSize == 0);
}  // namespace

FolioPool::FolioPool(size_t memory_limit_bytes, bool recycle)
    : limit_folios_(std::max<size_t>(memory_limit_bytes / kFolioSize, 4)), recycle_(recycle) {}

FolioPool::~FolioPool() {
  NC_CHECK(mappings_.empty());
  NC_CHECK(resident_.load() == 0);
  for (Folio* folio : free_) delete folio;  // Their data lives in the arenas.
  for (void* arena : arenas_) ::operator delete(arena, std::align_val_t(kArenaBytes));
}

Folio* FolioPool::NewFolio() {
  if (!recycle_) {
    return new Folio(this, static_cast<std::byte*>(::operator new(kFolioSize, std::align_val_t(kDataAlign))));
  }
  void* arena = ::operator new(kArenaBytes, std::align_val_t(kArenaBytes));
  // Only a hint: where transparent huge pages are off, the arena is ordinary 4 KiB pages.
  madvise(arena, kArenaBytes, MADV_HUGEPAGE);
  auto* base = static_cast<std::byte*>(arena);
  Folio* first = new Folio(this, base);
  std::lock_guard lock(free_mu_);
  arenas_.push_back(arena);
  for (size_t offset = kFolioSize; offset < kArenaBytes; offset += kFolioSize) {
    free_.push_back(new Folio(this, base + offset));
  }
  return first;
}

Folio* FolioPool::Allocate(uint64_t index) {
  uint64_t resident = resident_.load(std::memory_order_relaxed);
  if (resident >= limit_folios_) {
    // Free a small batch beyond the excess so that steady streaming does not scan per folio.
    Reclaim(resident - limit_folios_ + 1 + limit_folios_ / 64);
  }
  Folio* folio = nullptr;
  {
    std::lock_guard lock(free_mu_);
    if (!free_.empty()) {
      folio = free_.back();
      free_.pop_back();
    }
  }
  if (folio == nullptr) folio = NewFolio();
  NC_CHECK(folio->refs_.load() == 0 && folio->flags_.load() == 0);
  folio->index_ = index;
  folio->referenced_.store(false, std::memory_order_relaxed);
  folio->generation_.fetch_add(1, std::memory_order_relaxed);
  folio->refs_.store(1, std::memory_order_release);
  resident_.fetch_add(1, std::memory_order_relaxed);
  return folio;
}

void FolioPool::Free(Folio* folio) {
  // Rule 4 / rule 2: memory with a flag still set is never handed back.
  uint32_t flags = folio->flags_.load(std::memory_order_acquire);
  NC_CHECK((flags & (static_cast<uint32_t>(FolioFlag::kLocked) |
                     static_cast<uint32_t>(FolioFlag::kFscache) |
                     static_cast<uint32_t>(FolioFlag::kWriteback) |
                     static_cast<uint32_t>(FolioFlag::kDirty))) == 0);
  folio->flags_.store(0, std::memory_order_relaxed);
  resident_.fetch_sub(1, std::memory_order_relaxed);
  if (recycle_) {
    std::lock_guard lock(free_mu_);
    free_.push_back(folio);
    return;
  }
  ::operator delete(folio->data_, std::align_val_t(kDataAlign));
  delete folio;
}

size_t FolioPool::Reclaim(size_t target) {
  std::lock_guard lock(registry_mu_);
  size_t freed = 0;
  size_t count = mappings_.size();
  // Two rounds: the first may only clear second-chance bits.
  for (int round = 0; round < 2 && freed < target; ++round) {
    for (size_t i = 0; i < count && freed < target; ++i) {
      Mapping* mapping = mappings_[(next_mapping_ + i) % count];
      freed += mapping->ReclaimSome(target - freed);
    }
  }
  if (count > 0) next_mapping_ = (next_mapping_ + 1) % count;
  reclaimed_.fetch_add(freed, std::memory_order_relaxed);
  return freed;
}

FolioPoolStats FolioPool::Stats() const {
  return {resident_.load(std::memory_order_relaxed), reclaimed_.load(std::memory_order_relaxed),
          limit_folios_};
}

void FolioPool::Register(Mapping* mapping) {
  std::lock_guard lock(registry_mu_);
  mappings_.push_back(mapping);
}

void FolioPool::Unregister(Mapping* mapping) {
  std::lock_guard lock(registry_mu_);
  mappings_.erase(std::find(mappings_.begin(), mappings_.end(), mapping));
  next_mapping_ = 0;
}

}  // namespace folio
