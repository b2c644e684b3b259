// SPDX-License-Identifier: MIT
// folio.h — the in-memory page cache's unit: a fixed-size, file-aligned block of one file's data
// with state flags and a reference count. Kernel: include/linux/page-flags.h, mm/filemap.c.
//
// THE LIFETIME RULES (ARCHITECTURE.md, from shared/seed/fscache-lifetime-email.txt). Tests that
// check one name it as "Rule N"; model/folio.pml checks them all.
//
//  1. A Mapping holds one reference on each folio it lists, and drops it only after the folio
//     has left the mapping.
//  2. Whoever sets kWriteback or kFscache takes a reference first: the flag implies a held
//     reference (StartFscache / StartWriteback do both, in that order).
//  3. The completion clears the flag, wakes the waiters, and only then drops the reference
//     (EndFscache / EndWriteback). Dropping first would let the folio be freed and reused, and
//     the clear or the wake-up would land on someone else's folio — the 2020 PG_writeback bug.
//  4. Reclaim frees only folios that are unlocked, clean, not under writeback or fscache, and
//     referenced by nobody but the mapping; it claims the last reference atomically (1 -> 0)
//     under the mapping's lock, so no lookup can race it.
//  5. Invalidation, truncation, release and "about to modify" wait for kFscache and kWriteback
//     to clear (and for the lock, so no read is left filling a folio nobody owns).
//  6. Readahead holds new folios by the lock alone until they are uptodate: the mapping's
//     reference keeps them alive, because rules 4 and 5 never free a locked folio.
//  7. A waiter holds its own reference while it sleeps on a folio, so the flag word it re-tests
//     is never freed memory.
//
// Thread safety: flags and the reference count are atomics; `index_` is constant while the
// folio is allocated; `data()` may be written only by the holder of kLocked.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "util/check.h"

namespace folio {

class FolioPool;
class Mapping;

// 128 KiB: the FUSE read size, and a multiple of every cache granule netcache uses.
inline constexpr size_t kFolioSize = 128 * 1024;

enum class FolioFlag : uint32_t {
  kLocked = 1u << 0,     // Being filled (or modified): exclusive.
  kUptodate = 1u << 1,   // The whole folio (clamped to EOF) holds the file's bytes.
  kDirty = 1u << 2,      // Must be written somewhere before it may be freed.
  kWriteback = 1u << 3,  // A write to the origin is in flight; implies a reference (rule 2).
  kFscache = 1u << 4,    // A copy to the cache is in flight; implies a reference (rule 2).
};

class Folio {
 public:
  Folio(const Folio&) = delete;
  Folio& operator=(const Folio&) = delete;

  uint64_t index() const { return index_; }
  uint64_t pos() const { return index_ * kFolioSize; }
  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  // Bumped each time the memory is handed out again; lets tests see reuse.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }

  bool Test(FolioFlag flag) const {
    return (flags_.load(std::memory_order_acquire) & static_cast<uint32_t>(flag)) != 0;
  }
  int RefCount() const { return refs_.load(std::memory_order_acquire); }

  void Get();
  // Consumes one reference; the last one returns the folio to its pool.
  void Put();

  bool TryLock();
  // REQUIRES: the caller holds a reference (rule 7).
  void Lock();
  // Clears kLocked and wakes waiters. REQUIRES: locked by the caller.
  void Unlock();
  // Waits until no one holds the lock, without taking it. REQUIRES: a held reference.
  void WaitUnlocked() const;

  // REQUIRES: locked.
  void MarkUptodate();

  // Rule 2: takes a reference, then sets kFscache. REQUIRES: locked or a held reference.
  void StartFscache();
  // Rule 3: clears kFscache, wakes waiters, then drops the flag's reference.
  void EndFscache();
  // REQUIRES: a held reference (rule 7).
  void WaitFscache() const;

  void StartWriteback();
  void EndWriteback();
  void WaitWriteback() const;

 private:
  friend class FolioPool;
  friend class Mapping;
  Folio(FolioPool* pool, std::byte* data) : pool_(pool), data_(data) {}

  void SetFlag(FolioFlag flag);
  void ClearFlagAndWake(FolioFlag flag);
  void WaitWhileSet(FolioFlag flag) const;

  FolioPool* const pool_;
  std::byte* const data_;
  std::atomic<uint32_t> flags_{0};
  std::atomic<int> refs_{0};
  std::atomic<uint64_t> generation_{0};
  // Clock (second chance) bit for reclaim: set on lookup, cleared by the reclaim scan.
  std::atomic<bool> referenced_{false};
  uint64_t index_ = 0;  // Set by the pool on allocation.
};

// An owned reference to a folio; drops it on destruction. Move-only.
class FolioRef {
 public:
  FolioRef() = default;
  // Consumes a reference the caller already holds.
  static FolioRef Adopt(Folio* folio) { return FolioRef(folio); }
  // Takes a new reference. REQUIRES: the caller already keeps `folio` alive some other way.
  static FolioRef Acquire(Folio* folio) {
    folio->Get();
    return FolioRef(folio);
  }
  ~FolioRef() { Reset(); }
  FolioRef(FolioRef&& other) noexcept : folio_(std::exchange(other.folio_, nullptr)) {}
  FolioRef& operator=(FolioRef&& other) noexcept {
    if (this != &other) {
      Reset();
      folio_ = std::exchange(other.folio_, nullptr);
    }
    return *this;
  }
  FolioRef(const FolioRef&) = delete;
  FolioRef& operator=(const FolioRef&) = delete;

  void Reset() {
    if (folio_ != nullptr) std::exchange(folio_, nullptr)->Put();
  }
  Folio* get() const { return folio_; }
  Folio* operator->() const { return folio_; }
  explicit operator bool() const { return folio_ != nullptr; }

 private:
  explicit FolioRef(Folio* folio) : folio_(folio) {}
  Folio* folio_ = nullptr;
};

}  // namespace folio
