// SPDX-License-Identifier: MIT
// Tests of the folio lifetime rules (folio.h). Each names the rule it checks.
#include "folio/folio.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "folio/folio_pool.h"
#include "folio/mapping.h"

namespace folio {
namespace {

using namespace std::chrono_literals;

// A folio that the mapping lists, unlocked and uptodate, with one extra reference for the test.
FolioRef MakeResident(Mapping& mapping, uint64_t index) {
  bool created = false;
  FolioRef ref = mapping.FindOrCreate(index, &created);
  EXPECT_TRUE(created);
  ref->MarkUptodate();
  ref->Unlock();
  return ref;
}

// Rule 1.
TEST(FolioTest, MappingHoldsOneReferenceWhileListed) {
  FolioPool pool(64 * kFolioSize);
  {
    Mapping mapping(&pool);
    FolioRef ref = MakeResident(mapping, 3);
    EXPECT_EQ(ref->RefCount(), 2);  // Ours and the mapping's.
    ref.Reset();
    FolioRef again = mapping.Find(3);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->RefCount(), 2);
    again.Reset();
    EXPECT_EQ(pool.Stats().resident, 1u);
    mapping.Invalidate();
    EXPECT_EQ(pool.Stats().resident, 0u);  // The mapping's reference was the last.
  }
}

// Rule 2.
TEST(FolioTest, FscacheFlagTakesAReference) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  FolioRef ref = MakeResident(mapping, 0);
  ref->StartFscache();
  EXPECT_TRUE(ref->Test(FolioFlag::kFscache));
  EXPECT_EQ(ref->RefCount(), 3);
  ref->EndFscache();
  EXPECT_FALSE(ref->Test(FolioFlag::kFscache));
  EXPECT_EQ(ref->RefCount(), 2);
}

// Rule 3: the completion clears and wakes before it drops the flag's reference, which here is
// the last but one; the waiters' own references (rule 7) keep the folio live while they re-test.
TEST(FolioTest, EndFscacheClearsAndWakesBeforeDroppingItsReference) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  Folio* raw = nullptr;
  {
    FolioRef ref = MakeResident(mapping, 0);
    raw = ref.get();
    ref->StartFscache();
  }
  std::atomic<int> woke{0};
  // Rule 7: the waiter's reference, taken while the folio is surely still listed.
  FolioRef waiter_ref = mapping.Find(0);
  ASSERT_TRUE(waiter_ref);
  std::thread waiter([&woke, mine = std::move(waiter_ref)] {
    mine->WaitFscache();
    woke++;
  });
  std::thread invalidator([&] {
    mapping.Invalidate();  // Rule 5: waits, then drops the mapping's reference.
    woke++;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(woke, 0);
  raw->EndFscache();
  waiter.join();
  invalidator.join();
  EXPECT_EQ(woke, 2);
  EXPECT_EQ(pool.Stats().resident, 0u);  // No reference leaked, none dropped twice.
}

// Rule 3, broken on purpose: dropping the flag's reference before clearing the flag lets the
// folio be freed while flagged. The always-on check in the pool catches it.
TEST(FolioDeathTest, DroppingTheFlagReferenceFirstIsCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        FolioPool pool(64 * kFolioSize);
        Mapping mapping(&pool);
        Folio* raw = nullptr;
        {
          FolioRef ref = MakeResident(mapping, 0);
          raw = ref.get();
          ref->StartFscache();
        }
        // The wrong order: put (the mapping's and the flag's refs), then clear.
        std::thread([&] { mapping.TruncateFrom(1); }).join();
        raw->Put();  // Drops the flag's reference early...
        raw->Put();  // ...and the mapping's: the flagged folio would be freed here.
        raw->EndFscache();
      },
      "check failed");
}

// Rule 4.
TEST(FolioTest, ReclaimFreesOnlyIdleFoliosReferencedByTheMappingAlone) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  FolioRef locked;
  {
    bool created = false;
    locked = mapping.FindOrCreate(0, &created);  // Stays locked.
  }
  FolioRef fscache = MakeResident(mapping, 1);
  fscache->StartFscache();
  FolioRef writeback = MakeResident(mapping, 2);
  writeback->StartWriteback();
  FolioRef held = MakeResident(mapping, 3);  // An extra reference: in use.
  MakeResident(mapping, 4).Reset();           // Idle.
  MakeResident(mapping, 5).Reset();           // Idle.
  fscache.Reset();
  writeback.Reset();

  // Two passes: the first only clears the second-chance bits.
  size_t freed = pool.Reclaim(100);
  EXPECT_EQ(freed, 2u);
  EXPECT_EQ(mapping.Size(), 4u);
  EXPECT_TRUE(mapping.Find(0));
  EXPECT_TRUE(mapping.Find(3));
  EXPECT_FALSE(mapping.Find(4));
  EXPECT_FALSE(mapping.Find(5));

  FolioRef f1 = mapping.Find(1);
  f1->EndFscache();
  FolioRef f2 = mapping.Find(2);
  f2->EndWriteback();
  f1.Reset();
  f2.Reset();
  held.Reset();
  locked->Unlock();
  locked.Reset();
  EXPECT_EQ(pool.Reclaim(100), 4u);
  EXPECT_EQ(pool.Stats().resident, 0u);
  EXPECT_EQ(pool.Stats().reclaimed, 6u);
}

// Rule 5.
TEST(FolioTest, InvalidateWaitsForCopyToCache) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  FolioRef ref = MakeResident(mapping, 0);
  ref->StartFscache();
  std::atomic<bool> done{false};
  std::thread invalidator([&] {
    mapping.Invalidate();
    done = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(done) << "invalidation did not wait for kFscache";
  ref->EndFscache();
  invalidator.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(mapping.Size(), 0u);
}

// Rule 5, truncation: only folios from the cut point on are removed, each after its flag.
TEST(FolioTest, TruncateWaitsForWritebackAndKeepsEarlierFolios) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  MakeResident(mapping, 0).Reset();
  FolioRef tail = MakeResident(mapping, 5);
  tail->StartWriteback();
  std::atomic<bool> done{false};
  std::thread truncator([&] {
    mapping.TruncateFrom(1);
    done = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(done);
  tail->EndWriteback();
  truncator.join();
  EXPECT_TRUE(mapping.Find(0));
  EXPECT_FALSE(mapping.Find(5));
}

// Rule 6: a folio being read in is kept alive by its lock and the mapping's reference alone.
TEST(FolioTest, LockedFolioWithoutExtraReferencesSurvivesReclaimAndInvalidationWaits) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  Folio* reading = nullptr;
  {
    bool created = false;
    FolioRef ref = mapping.FindOrCreate(7, &created);
    reading = ref.get();
  }  // Only the lock and the mapping hold it now.
  EXPECT_EQ(reading->RefCount(), 1);
  EXPECT_EQ(pool.Reclaim(100), 0u);
  std::atomic<bool> done{false};
  std::thread invalidator([&] {
    mapping.Invalidate();
    done = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(done);
  reading->data()[0] = std::byte{42};  // Still ours to fill.
  reading->MarkUptodate();
  reading->Unlock();
  invalidator.join();
  EXPECT_EQ(pool.Stats().resident, 0u);
}

// Rule 7: waiting needs a reference; the check rejects a wait on a folio nobody holds.
TEST(FolioDeathTest, WaitingWithoutAReferenceIsCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        FolioPool pool(64 * kFolioSize);
        Folio* folio = pool.Allocate(0);
        folio->Put();  // Freed (recycled): no reference remains.
        folio->WaitFscache();
      },
      "check failed");
}

TEST(FolioTest, LockIsExclusiveAndWakesTheNextLocker) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  FolioRef ref = MakeResident(mapping, 0);
  ASSERT_TRUE(ref->TryLock());
  EXPECT_FALSE(ref->TryLock());
  std::atomic<bool> got{false};
  std::thread locker([&] {
    FolioRef mine = mapping.Find(0);
    mine->Lock();
    got = true;
    mine->Unlock();
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(got);
  ref->Unlock();
  locker.join();
  EXPECT_TRUE(got);
}

TEST(FolioTest, AllocationPastTheLimitReclaimsIdleFolios) {
  FolioPool pool(8 * kFolioSize);
  Mapping mapping(&pool);
  for (uint64_t i = 0; i < 100; ++i) MakeResident(mapping, i).Reset();
  EXPECT_LE(pool.Stats().resident, 9u);
  EXPECT_GE(pool.Stats().reclaimed, 91u);
}

TEST(FolioTest, RacingCreatorsGetTheSameFolio) {
  FolioPool pool(64 * kFolioSize);
  Mapping mapping(&pool);
  std::atomic<int> created_count{0};
  std::vector<std::thread> threads;
  std::vector<Folio*> seen(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      bool created = false;
      FolioRef ref = mapping.FindOrCreate(11, &created);
      seen[t] = ref.get();
      if (created) {
        created_count++;
        ref->MarkUptodate();
        ref->Unlock();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created_count, 1);
  for (Folio* f : seen) EXPECT_EQ(f, seen[0]);
}

// Folios share arenas: each must own exactly its own aligned kFolioSize bytes, across arenas and
// after being recycled, or a download into one would overwrite its neighbour.
TEST(FolioPoolTest, FolioDataIsAlignedAndDisjointAcrossArenas) {
  for (bool recycle : {true, false}) {
    FolioPool pool(256 * kFolioSize, recycle);
    Mapping mapping(&pool);
    std::vector<FolioRef> held;
    for (uint64_t i = 0; i < 40; ++i) {  // 2.5 arenas of 2 MiB.
      held.push_back(MakeResident(mapping, i));
      std::memset(held.back()->data(), static_cast<int>(i + 1), kFolioSize);
    }
    mapping.Invalidate();
    held.resize(20);  // Half go back to the pool and are handed out again below.
    for (uint64_t i = 100; i < 120; ++i) {
      held.push_back(MakeResident(mapping, i));
      std::memset(held.back()->data(), static_cast<int>(i + 1), kFolioSize);
    }
    for (const FolioRef& ref : held) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(ref->data()) % 4096, 0u);
      const auto expected = static_cast<std::byte>(ref->index() + 1);
      for (size_t at = 0; at < kFolioSize; at += 4096) {
        ASSERT_EQ(ref->data()[at], expected) << "folio " << ref->index() << " at " << at;
      }
      ASSERT_EQ(ref->data()[kFolioSize - 1], expected);
    }
  }
}

}  // namespace
}  // namespace folio
