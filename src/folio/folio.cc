// SPDX-License-Identifier: MIT
// folio.cc — flag and reference operations. Kernel: folio_end_private_2(), folio_unlock(),
// folio_wait_bit_common() in mm/filemap.c.
#include "folio/folio.h"

#include "folio/folio_pool.h"
#include "folio/wait_table.h"

namespace folio {

void Folio::Get() {
  int old = refs_.fetch_add(1, std::memory_order_relaxed);
  NC_CHECK(old > 0);  // A reference can only be copied from a live one.
}

void Folio::Put() {
  int old = refs_.fetch_sub(1, std::memory_order_acq_rel);
  NC_CHECK(old > 0);
  if (old == 1) pool_->Free(this);
}

void Folio::SetFlag(FolioFlag flag) {
  uint32_t bit = static_cast<uint32_t>(flag);
  uint32_t old = flags_.fetch_or(bit, std::memory_order_acq_rel);
  NC_CHECK((old & bit) == 0);
}

void Folio::ClearFlagAndWake(FolioFlag flag) {
  // Rules 3 and 7: the flag is cleared on a folio that someone still holds.
  NC_CHECK(RefCount() > 0);
  uint32_t bit = static_cast<uint32_t>(flag);
  uint32_t old = flags_.fetch_and(~bit, std::memory_order_acq_rel);
  NC_CHECK((old & bit) != 0);
  WakeAll(this);
}

void Folio::WaitWhileSet(FolioFlag flag) const {
  NC_CHECK(RefCount() > 0);  // Rule 7.
  if (!Test(flag)) return;
  WaitOn(this, [this, flag] { return !Test(flag); });
}

bool Folio::TryLock() {
  uint32_t bit = static_cast<uint32_t>(FolioFlag::kLocked);
  return (flags_.fetch_or(bit, std::memory_order_acquire) & bit) == 0;
}

void Folio::Lock() {
  NC_CHECK(RefCount() > 0);  // Rule 7.
  while (!TryLock()) WaitWhileSet(FolioFlag::kLocked);
}

void Folio::Unlock() { ClearFlagAndWake(FolioFlag::kLocked); }

void Folio::WaitUnlocked() const { WaitWhileSet(FolioFlag::kLocked); }

void Folio::MarkUptodate() {
  NC_CHECK(Test(FolioFlag::kLocked));
  flags_.fetch_or(static_cast<uint32_t>(FolioFlag::kUptodate), std::memory_order_release);
}

void Folio::StartFscache() {
  Get();  // Rule 2: the reference first, then the flag that implies it.
  SetFlag(FolioFlag::kFscache);
}

void Folio::EndFscache() {
  ClearFlagAndWake(FolioFlag::kFscache);  // Rule 3: clear and wake ...
  Put();                                  // ... and only then drop the flag's reference.
}

void Folio::WaitFscache() const { WaitWhileSet(FolioFlag::kFscache); }

void Folio::StartWriteback() {
  Get();
  SetFlag(FolioFlag::kWriteback);
}

void Folio::EndWriteback() {
  ClearFlagAndWake(FolioFlag::kWriteback);
  Put();
}

void Folio::WaitWriteback() const { WaitWhileSet(FolioFlag::kWriteback); }

}  // namespace folio
