// SPDX-License-Identifier: MIT
// Stress: readers, copy-to-cache completions, reclaim and invalidation race on a small pool
// whose memory is recycled, so a folio freed too early is reused at once and any broken rule
// shows up as wrong data, a failed NC_CHECK, or a sanitizer report (CI runs this under TSan and
// ASan). Bounded in both iterations and time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "folio/folio_pool.h"
#include "folio/mapping.h"

namespace folio {
namespace {

constexpr int kMappings = 4;
constexpr uint64_t kIndexes = 24;

// Data a folio must hold: its mapping and index, repeated.
void Fill(Folio* folio, uint64_t tag) {
  auto* words = reinterpret_cast<uint64_t*>(folio->data());
  for (size_t i = 0; i < 64; ++i) words[i] = tag;
}
bool Holds(const Folio* folio, uint64_t tag) {
  const auto* words = reinterpret_cast<const uint64_t*>(folio->data());
  for (size_t i = 0; i < 64; ++i) {
    if (words[i] != tag) return false;
  }
  return true;
}

// Completions run on their own threads, as cache-write completions do.
class CompletionQueue {
 public:
  void Push(Folio* folio, uint64_t tag) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back({folio, tag});
    }
    cv_.notify_one();
  }
  bool Pop(Folio** folio, uint64_t* tag, const std::atomic<bool>& stop) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(5), [&] { return !queue_.empty(); });
    if (queue_.empty()) return !stop;
    *folio = queue_.front().first;
    *tag = queue_.front().second;
    queue_.pop_front();
    return true;
  }
  bool Empty() {
    std::lock_guard lock(mu_);
    return queue_.empty();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Folio*, uint64_t>> queue_;
};

TEST(FolioStressTest, ReadersCopiesReclaimAndInvalidationRace) {
  for (bool recycle : {true, false}) {
    FolioPool pool(16 * kFolioSize, recycle);
    std::vector<std::unique_ptr<Mapping>> mappings;
    for (int m = 0; m < kMappings; ++m) mappings.push_back(std::make_unique<Mapping>(&pool));
    CompletionQueue completions;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0}, bad{0}, copies{0};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);

    auto reader = [&](int seed) {
      std::mt19937_64 rng(seed);
      for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i) {
        int m = static_cast<int>(rng() % kMappings);
        uint64_t index = rng() % kIndexes;
        uint64_t tag = (static_cast<uint64_t>(m) << 32) | index;
        bool created = false;
        FolioRef ref = mappings[m]->FindOrCreate(index, &created);
        if (created) {
          Fill(ref.get(), tag);
          ref->MarkUptodate();
          ref->StartFscache();  // Rule 2, while still locked.
          ref->Unlock();
          completions.Push(ref.get(), tag);
          continue;
        }
        ref->WaitUnlocked();
        if (ref->Test(FolioFlag::kUptodate)) {
          if (!Holds(ref.get(), tag)) bad++;
          reads++;
        }
      }
    };
    auto completer = [&] {
      Folio* folio;
      uint64_t tag;
      while (completions.Pop(&folio, &tag, stop)) {
        if (folio == nullptr) continue;
        // The flag's reference keeps the folio ours even if it left its mapping.
        if (!Holds(folio, tag)) bad++;
        copies++;
        folio->EndFscache();  // Rule 3.
        folio = nullptr;
      }
    };
    auto reclaimer = [&] {
      while (!stop) pool.Reclaim(4);
    };
    auto invalidator = [&] {
      std::mt19937_64 rng(99);
      while (!stop) {
        mappings[rng() % kMappings]->Invalidate();  // Rule 5: waits for copies in flight.
        std::this_thread::yield();
      }
    };

    std::vector<std::thread> threads;
    for (int r = 0; r < 4; ++r) threads.emplace_back(reader, r);
    std::thread c1(completer), c2(completer), rc(reclaimer), inv(invalidator);
    for (auto& t : threads) t.join();
    stop = true;
    c1.join();
    c2.join();
    rc.join();
    inv.join();
    ASSERT_TRUE(completions.Empty());
    EXPECT_EQ(bad, 0u);
    EXPECT_GT(reads + copies, 0u);
    mappings.clear();
    EXPECT_EQ(pool.Stats().resident, 0u) << "a folio leaked";
  }
}

}  // namespace
}  // namespace folio
