// SPDX-License-Identifier: MIT
// Stress: one cache object written, read, invalidated, resized, culled, parked (its files
// closed for the descriptor budget, reopened by the next I/O) and corrupted at once.
// Writes, reads and lookups all run under the object's shared lock (records under a mutex of
// their own), resets, resizes and culls under the exclusive one; every read that succeeds must
// return bytes of the version current while it ran. Bounded in time and count; run under TSan
// and ASan.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <shared_mutex>
#include <thread>

#include "cachefiles/cachefiles.h"
#include "cachefiles/object.h"
#include "testutil/scratch_dir.h"

namespace cachefiles {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kGranule = 4096;
constexpr uint64_t kLargeSize = 2 * 1024 * 1024 + 1000;  // Direct I/O; a short last granule.
constexpr uint64_t kSmallSize = 1536 * 1024;

// Byte `pos` of version `v`; a read names the version it came from or shows a mix.
std::byte ByteOf(uint64_t version, uint64_t pos) {
  return static_cast<std::byte>((version * 131 + pos / 5 + pos % 3) & 0xff);
}

// A run of whole granules within `size`: sometimes a few (random access), sometimes many (a
// stream's subrequest, which goes direct).
std::pair<uint64_t, uint64_t> RandomRange(std::mt19937_64& rng, uint64_t size) {
  uint64_t granules = (size + kGranule - 1) / kGranule;
  uint64_t first = rng() % granules;
  uint64_t count = 1 + rng() % std::min<uint64_t>(granules - first, rng() % 2 ? 400 : 4);
  uint64_t pos = first * kGranule;
  return {pos, std::min(count * kGranule, size - pos)};
}

struct AlignedBuffer {
  explicit AlignedBuffer(size_t size)
      : data(static_cast<std::byte*>(::operator new(size, std::align_val_t(4096)))), size(size) {}
  ~AlignedBuffer() { ::operator delete(data, std::align_val_t(4096)); }
  std::byte* data;
  size_t size;
};

TEST(CachefilesStressTest, ReadsSeeOnlyCurrentBytesWhileWritesRaceResetsResizesAndCulls) {
  testutil::ScratchDir dir("cachefiles-stress");
  CullPolicy policy;
  policy.open_objects = 1;  // A second object's I/O parks this one whenever it is idle.
  auto backend = std::move(*OpenCache(dir.path().string(), kGranule, policy));
  auto volume = std::move(*backend->AcquireVolume("stress"));
  auto opened = volume->OpenObject("f", "v0", kLargeSize);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<fscache::BackendObject> handle = std::move(*opened);
  auto* object = static_cast<Object*>(handle.get());
  std::unique_ptr<fscache::BackendObject> other =
      std::move(*volume->OpenObject("g", "v0", kGranule));
  const std::vector<std::byte> other_bytes(kGranule, std::byte{0x42});

  // The cookie's role (fscache.cc): I/O holds it shared and checks the version; a version
  // change or resize holds it exclusive. The culler and corruption do not take it.
  std::shared_mutex cookie;
  uint64_t version = 0;          // Protected by cookie.
  uint64_t size = kLargeSize;    // Protected by cookie.
  std::atomic<uint64_t> good_reads{0}, writes{0}, wrong{0}, changes{0}, culls{0}, parks{0};
  // Three seconds, longer (up to a minute) until each kind of event has happened at least once:
  // on a loaded machine a fixed time saw no successful read at all.
  const auto start = std::chrono::steady_clock::now();
  auto running = [&] {
    auto now = std::chrono::steady_clock::now();
    bool all_seen = good_reads > 0 && writes > 0 && changes > 0 && culls > 0 && parks > 0;
    return now < start + std::chrono::seconds(all_seen ? 3 : 60);
  };
  // glibc's shared mutex lets a stream of shared holders starve the exclusive one: readers and
  // writers stand back while the changer (the cookie's version change) waits.
  std::atomic<bool> change_waiting{false};
  auto stand_back = [&] {
    while (change_waiting.load(std::memory_order_relaxed)) std::this_thread::yield();
  };

  auto writer = [&](int seed) {
    std::mt19937_64 rng(seed);
    AlignedBuffer buf(kLargeSize + kGranule);
    for (int i = 0; i < 200000 && running(); ++i) {
      stand_back();
      std::shared_lock lock(cookie);
      auto [pos, len] = RandomRange(rng, size);
      for (uint64_t k = 0; k < len; ++k) buf.data[k] = ByteOf(version, pos + k);
      std::vector<std::span<const std::byte>> pieces;
      for (uint64_t at = 0; at < len; at += 32 * kGranule) {
        pieces.emplace_back(buf.data + at, std::min<uint64_t>(32 * kGranule, len - at));
      }
      util::Status status = object->WriteV(pos, pieces);
      EXPECT_TRUE(status.ok()) << status.ToString();  // Resets and culls wait for writes.
      writes += status.ok();
    }
  };
  auto reader = [&](int seed) {
    std::mt19937_64 rng(seed);
    AlignedBuffer buf(kLargeSize + kGranule);
    for (int i = 0; i < 200000 && running(); ++i) {
      stand_back();
      std::shared_lock lock(cookie);
      auto [pos, len] = RandomRange(rng, size);
      if (!object->Query(pos, len).present) continue;
      util::Status status = object->ReadV(pos, {std::span<std::byte>(buf.data, len)});
      if (!status.ok()) continue;  // Not all present, or caught corruption: both fine.
      ++good_reads;
      for (uint64_t k = 0; k < len; ++k) {
        if (buf.data[k] != ByteOf(version, pos + k)) {
          ++wrong;
          break;
        }
      }
    }
  };
  auto changer = [&] {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000 && running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      change_waiting = true;
      std::unique_lock lock(cookie);
      change_waiting = false;
      if (rng() % 3 == 0) {
        size = size == kLargeSize ? kSmallSize : kLargeSize;  // Same version, new length.
        EXPECT_TRUE(object->Resize(size).ok());
      } else {
        ++version;
        EXPECT_TRUE(object->Invalidate("v" + std::to_string(version), size).ok());
      }
      ++changes;
    }
  };
  auto disturber = [&] {
    std::mt19937_64 rng(11);
    for (int i = 0; i < 20000 && running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      object->Use();  // A file opened and closed: its close appends an access record.
      object->Unuse();
      switch (rng() % 3) {
        case 0:
          culls += object->CullIfIdle() > 0;  // Never in use here: removes its files.
          continue;
        case 1:
          parks += object->ParkIfIdle();  // Skipped while any I/O holds the object.
          EXPECT_TRUE(other->Write(0, other_bytes).ok());  // Reopens it, parking `object`.
          continue;
        default:
          break;
      }
      // A flipped byte on disk, as from a failing drive: reads must catch it.
      for (auto& entry : fs::recursive_directory_iterator(dir.path())) {
        if (entry.path().extension() != ".data") continue;
        int fd = ::open(entry.path().c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) continue;
        off_t at = static_cast<off_t>(rng() % kSmallSize);
        char byte = 0;
        if (::pread(fd, &byte, 1, at) == 1) {
          byte = static_cast<char>(byte ^ 0x5a);
          EXPECT_EQ(::pwrite(fd, &byte, 1, at), 1);
          ::fdatasync(fd);  // So the direct reads see it too.
        }
        ::close(fd);
      }
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back(writer, 100 + i);
  for (int i = 0; i < 2; ++i) threads.emplace_back(reader, 200 + i);
  threads.emplace_back(changer);
  threads.emplace_back(disturber);
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(wrong.load(), 0u) << "a read returned bytes of another version or place";
  EXPECT_GT(good_reads.load(), 0u);
  EXPECT_GT(writes.load(), 0u);
  EXPECT_GT(changes.load(), 0u);
  EXPECT_GT(culls.load(), 0u);
  EXPECT_GT(parks.load(), 0u);
}

}  // namespace
}  // namespace cachefiles
