// SPDX-License-Identifier: MIT
// Stress: many readers over a few files while the origin changes versions, revalidation
// invalidates, reclaim runs on a tiny pool and cache writes complete concurrently. Every read
// must return bytes of exactly one version. Bounded in time and count; run under TSan and ASan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "fscache/memory_backend.h"
#include "netfs/netfs.h"
#include "origin/mock_origin.h"

namespace netfs {
namespace {

using folio::kFolioSize;

// Version v of a file: every byte is (v * 31 + position / 7) mod 256, so any read can name the
// one version it came from, or show it mixes two.
std::string Content(int version, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((version * 31 + i / 7) & 0xff);
  return s;
}

TEST(NetfsStressTest, ReadersSeeOneVersionWhileTheOriginChanges) {
  util::ThreadPool origin_pool("stress-origin", 4);
  origin::MockOrigin origin(&origin_pool);
  fscache::MemoryBackendFaults faults;
  fscache::Cache cache(fscache::NewMemoryBackend(kFolioSize, &faults), 2);
  auto volume = *cache.AcquireVolume("mock:");
  constexpr int kFiles = 3;
  const size_t kSize = 6 * kFolioSize + 123;
  for (int f = 0; f < kFiles; ++f) origin.PutFile("f" + std::to_string(f), Content(0, kSize));
  std::atomic<uint64_t> reads{0}, mixed{0}, errors{0};
  {
    folio::FolioPool pool(6 * kFolioSize);  // Smaller than one file: constant reclaim.
    Options options;
    options.retry_backoff_ms = 1;
    Netfs netfs(&origin, &pool, volume, options);
    std::vector<std::shared_ptr<Inode>> inodes;
    for (int f = 0; f < kFiles; ++f) {
      std::string name = "f" + std::to_string(f);
      inodes.push_back(netfs.GetInode(name, *origin.GetAttr(name)));
    }
    std::atomic<bool> stop{false};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    auto reader = [&](int seed) {
      std::mt19937_64 rng(seed);
      ReadaheadState ra;
      std::string buf(300 * 1024, '\0');
      for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < deadline; ++i) {
        Inode& inode = *inodes[rng() % kFiles];
        uint64_t pos = rng() % kSize;
        size_t len = 1 + rng() % buf.size();
        auto n = inode.Read(pos, {reinterpret_cast<std::byte*>(buf.data()), len}, &ra);
        if (!n.ok()) {
          errors++;
          continue;
        }
        reads++;
        if (*n == 0) continue;
        // Which version does the first byte say? Every other byte must agree.
        int version = -1;
        for (int v = 0; v < 256 && version < 0; ++v) {
          if (static_cast<char>((v * 31 + pos / 7) & 0xff) == buf[0]) version = v;
        }
        std::string want = Content(version, kSize).substr(pos, *n);
        if (buf.compare(0, *n, want) != 0) mixed++;
      }
    };
    auto changer = [&] {
      std::mt19937_64 rng(7);
      for (int v = 1; !stop; ++v) {
        int f = static_cast<int>(rng() % kFiles);
        std::string name = "f" + std::to_string(f);
        origin.PutFile(name, Content(v % 8, kSize));
        inodes[f]->Revalidate(*origin.GetAttr(name));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    };
    std::vector<std::thread> threads;
    for (int r = 0; r < 4; ++r) threads.emplace_back(reader, r + 1);
    std::thread change(changer);
    for (auto& t : threads) t.join();
    stop = true;
    change.join();
    netfs.WaitIdle();
    cache.Drain();
    inodes.clear();
  }
  EXPECT_EQ(mixed, 0u) << "a read mixed two versions";
  EXPECT_GT(reads, 100u);
  // Errors are allowed only as kStale after repeated changes; they must stay rare.
  EXPECT_LT(errors, reads);
}

}  // namespace
}  // namespace netfs
