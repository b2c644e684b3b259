// SPDX-License-Identifier: MIT
// mapping.h — one file's folios by index (the kernel's address_space). The mapping owns one
// reference per listed folio (rule 1); lookups hand out further references.
//
// Thread safety: all methods may be called concurrently. Lock order: FolioPool::registry_mu_
// before mu_ before FolioPool::free_mu_. No folio is locked or waited on while mu_ is held.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "folio/folio.h"
#include "folio/folio_pool.h"

namespace folio {

class Mapping {
 public:
  explicit Mapping(FolioPool* pool);
  // Drops every listed folio, waiting for in-flight copies as Invalidate() does.
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  // The folio at `index` with a new reference, or empty.
  FolioRef Find(uint64_t index);

  // The folio at `index`, creating it when absent. A created folio comes locked (*created is
  // true) and its caller must fill it and unlock it; rule 6 keeps it alive meanwhile.
  FolioRef FindOrCreate(uint64_t index, bool* created);

  // Removes every folio at or after `first_index`. Rule 5: waits for each one's lock, kFscache
  // and kWriteback to clear first. Holders of references keep their (now detached) folios.
  void TruncateFrom(uint64_t first_index);
  void Invalidate() { TruncateFrom(0); }

  size_t Size() const;

 private:
  friend class FolioPool;
  // Rule 4, under mu_. Called by FolioPool::Reclaim.
  size_t ReclaimSome(size_t want);

  FolioPool* const pool_;
  mutable std::mutex mu_;
  std::map<uint64_t, Folio*> folios_;  // Protected by mu_. Each holds the mapping's reference.
  uint64_t clock_hand_ = 0;            // Protected by mu_. Next index the reclaim scan visits.
};

}  // namespace folio
