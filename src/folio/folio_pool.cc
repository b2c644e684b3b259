// SPDX-License-Identifier: MIT
#include "folio/folio_pool.h"

#include <algorithm>
#include <new>

#include "folio/mapping.h"

namespace folio {
namespace {
// A folio and its data in one allocation, aligned for O_DIRECT-friendly buffers.
constexpr size_t kDataAlign = 4096;

Folio* NewFolio(FolioPool* pool, auto make) {
  auto* data = static_cast<std::byte*>(::operator new(kFolioSize, std::align_val_t(kDataAlign)));
  return make(pool, data);
}
}  // namespace

FolioPool::FolioPool(size_t memory_limit_bytes, bool recycle)
    : limit_folios_(std::max<size_t>(memory_limit_bytes / kFolioSize, 4)), recycle_(recycle) {}

FolioPool::~FolioPool() {
  NC_CHECK(mappings_.empty());
  NC_CHECK(resident_.load() == 0);
  for (Folio* folio : free_) {
    ::operator delete(folio->data_, std::align_val_t(kDataAlign));
    delete folio;
  }
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
    } else {
      ++allocated_;
    }
  }
  if (folio == nullptr) {
    folio = NewFolio(this, [](FolioPool* pool, std::byte* data) { return new Folio(pool, data); });
  }
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
  {
    std::lock_guard lock(free_mu_);
    --allocated_;
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
