// SPDX-License-Identifier: MIT
#include "cachefiles/cull.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "cachefiles/cachefiles.h"
#include "cachefiles/object.h"
#include "testutil/scratch_dir.h"

namespace cachefiles {
namespace {

namespace fs = std::filesystem;
using util::Code;

constexpr uint64_t kGranule = 4096;
constexpr uint64_t kObjectSize = 64 * 1024;

TEST(CullOrderTest, OnceSeenGoFirstThenLeastRecentlyUsed) {
  std::vector<CullCandidate> c = {{"hot-old", 1, 5, 100}, {"once-new", 1, 1, 900},
                                  {"hot-new", 1, 3, 800}, {"once-old", 1, 1, 50},
                                  {"never", 1, 0, 500}};
  SortForCulling(&c);
  std::vector<std::string> order;
  for (auto& x : c) order.push_back(x.base_path);
  EXPECT_EQ(order, (std::vector<std::string>{"once-old", "never", "once-new", "hot-old", "hot-new"}));
}

TEST(CullPolicyTest, ThresholdsMustBeOrdered) {
  EXPECT_EQ(CheckPolicy({}), "");
  EXPECT_NE(CheckPolicy({0, 5, 7, 1, 7, 5, 1}), "");  // brun below bcull.
  EXPECT_NE(CheckPolicy({0, 7, 5, 1, 7, 5, -1}), "");
}

TEST(CullRescanTest, WalkingTheWholeCacheTakesAtMostOnePercentOfACore) {
  constexpr int64_t kSecond = 1'000'000'000;
  EXPECT_EQ(RescanIntervalNs(0), 5 * kSecond);  // Small caches: as often as before.
  for (int64_t walk : {kSecond / 1000, kSecond / 20, kSecond / 2, 3 * kSecond, 60 * kSecond}) {
    EXPECT_GE(RescanIntervalNs(walk), 5 * kSecond) << walk;
    EXPECT_GE(RescanIntervalNs(walk), 100 * walk) << walk;
  }
  EXPECT_EQ(RescanIntervalNs(kSecond / 2), 50 * kSecond);  // 200,000 files here.
}

class CullTest : public ::testing::Test {
 protected:
  // A cache of at most `cache_size` bytes, the other thresholds at their defaults.
  std::unique_ptr<fscache::Backend> OpenLimited(uint64_t cache_size) {
    CullPolicy policy;
    policy.cache_size = cache_size;
    return std::move(*OpenCache(dir_.string(), kGranule, policy));
  }
  // A whole object's worth of bytes.
  std::span<const std::byte> ObjectBytes() const {
    return {reinterpret_cast<const std::byte*>(object_data_.data()), object_data_.size()};
  }

  // A volume with `count` objects "f<i>" of 64 KiB, each fully written; object i opened
  // opens[i] times, in order, so later objects are more recent.
  void Fill(fscache::BackendVolume& volume, int count, const std::vector<int>& opens) {
    for (int i = 0; i < count; ++i) {
      auto object = std::move(*volume.OpenObject("f" + std::to_string(i), "v", kObjectSize));
      for (int o = 0; o < opens[i]; ++o) {
        object->Use();
        object->Unuse();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      ASSERT_TRUE(object->Write(0, ObjectBytes()).ok());
    }
  }
  // What du counts: the allocated blocks of the cache directory and everything under it.
  uint64_t DuBytes() const {
    struct stat st;
    uint64_t total = ::lstat(dir_.c_str(), &st) == 0 ? st.st_blocks * 512 : 0;
    for (auto& entry : fs::recursive_directory_iterator(dir_)) {
      EXPECT_EQ(::lstat(entry.path().c_str(), &st), 0) << entry.path();
      total += st.st_blocks * 512;
    }
    return total;
  }
  bool Cached(fscache::BackendVolume& volume, int i) {
    auto object = std::move(*volume.OpenObject("f" + std::to_string(i), "v", kObjectSize));
    return object->Usage().bytes_present == kObjectSize;
  }

  testutil::ScratchDir scratch_{"nc-cull"};
  const fs::path dir_ = scratch_.path();
  const std::string object_data_ = std::string(kObjectSize, 'x');
};

TEST_F(CullTest, CullingFreesOnceSeenColdObjectsAndSparesTheWorkingSet) {
  auto backend = std::move(*OpenCache(dir_.string(), kGranule));
  auto volume = std::move(*backend->AcquireVolume("v"));
  // Objects 0 and 1 are the working set (opened 3 times); 2..9 a scan, each opened once.
  Fill(*volume, 10, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1});
  uint64_t used = backend->Stats().bytes_used;
  ASSERT_GE(used, 10 * kObjectSize);
  // Culling to about half frees only scan objects, oldest first.
  // (CullCacheDir needs the volume lock, which we hold: cull through a second Space instead.)
  Space space(dir_.string(), {});
  space.AddVolumeDir((dir_ / fs::directory_iterator(dir_)->path().filename()).string());
  space.Rescan();
  uint64_t freed = space.CullTo(used / 2);
  EXPECT_GT(freed, 0u);
  EXPECT_TRUE(Cached(*volume, 0));
  EXPECT_TRUE(Cached(*volume, 1));
  EXPECT_FALSE(Cached(*volume, 2));  // The oldest of the scan went first.
  EXPECT_TRUE(Cached(*volume, 9));   // The newest of the scan survived.
}

TEST_F(CullTest, MetadataRecordsAreCulledToo) {
  auto backend = std::move(*OpenCache(dir_.string(), kGranule));
  auto volume = std::move(*backend->AcquireVolume("v"));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(volume->PutMetadata("attr:dir/file" + std::to_string(i), {std::string(3000, 'a'), i}).ok());
  }
  ASSERT_TRUE(volume->GetMetadata("attr:dir/file7").has_value());
  Space space(dir_.string(), {});
  space.AddVolumeDir((dir_ / fs::directory_iterator(dir_)->path().filename()).string());
  space.Rescan();
  const uint64_t before = space.Stats().bytes_used;
  EXPECT_GE(before, 50u * 3000);
  EXPECT_GE(space.CullTo(0), 50u * 3000);
  EXPECT_FALSE(volume->GetMetadata("attr:dir/file7").has_value());  // Gone: asked again next time.
  EXPECT_LT(space.Stats().bytes_used, before - 50 * 3000);
}

TEST_F(CullTest, SizeLimitRefusesWritesAndObjectsInUseAreNeverCulled) {
  constexpr uint64_t kLimit = 6 * kObjectSize;
  auto backend = OpenLimited(kLimit);
  auto volume = std::move(*backend->AcquireVolume("v"));
  auto pinned = std::move(*volume->OpenObject("open", "v", kObjectSize));
  pinned->Use();  // Open for the whole test.
  ASSERT_TRUE(pinned->Write(0, ObjectBytes()).ok());
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto object = std::move(*volume->OpenObject("f" + std::to_string(i), "v", kObjectSize));
    if (!object->Write(0, ObjectBytes()).ok()) ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(backend->Stats().writes_refused, 0u);
  // The background culler brings the cache back under the limit (new objects' headers are
  // charged but not refused, so it can be briefly over by those).
  for (int i = 0; i < 500 && backend->Stats().bytes_used > kLimit; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(backend->Stats().bytes_used, kLimit);
  // Refused writes woke the culler, which made room for them: a new write fits again.
  auto later = std::move(*volume->OpenObject("after", "v", kObjectSize));
  bool written = false;
  for (int i = 0; i < 500 && !(written = later->Write(0, ObjectBytes()).ok()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(written) << "the cache must not stay full";
  EXPECT_GT(backend->Stats().culled_objects, 0u);
  EXPECT_LE(backend->Stats().bytes_used, kLimit);
  EXPECT_EQ(pinned->Usage().bytes_present, kObjectSize);
  pinned->Unuse();
}

TEST_F(CullTest, ARefusedWriteLeavesACulledObjectCulled) {
  // Revived and then refused, it would be charged its files again and culled again, over and
  // over while the cache is full (seen as a cull loop of 4 KiB headers).
  auto backend = OpenLimited(3 * kObjectSize);
  auto volume = std::move(*backend->AcquireVolume("v"));
  const std::span<const std::byte> bytes = ObjectBytes();
  auto culled = std::move(*volume->OpenObject("culled", "v", kObjectSize));
  ASSERT_TRUE(culled->Write(0, bytes).ok());
  ASSERT_GT(static_cast<Object*>(culled.get())->CullIfIdle(), 0u);
  std::vector<std::unique_ptr<fscache::BackendObject>> open;  // In use: never culled.
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::move(*volume->OpenObject("open" + std::to_string(i), "v", kObjectSize)));
    open.back()->Use();
    (void)open.back()->Write(0, bytes);  // The third may be refused: the cache is full then.
  }
  const uint64_t objects = backend->Stats().objects;
  EXPECT_FALSE(culled->Write(0, bytes).ok());
  EXPECT_EQ(backend->Stats().objects, objects) << "the refused write brought the object back";
  EXPECT_EQ(culled->Usage().bytes_present, 0u);
  for (auto& object : open) object->Unuse();
}

TEST_F(CullTest, IdleLiveObjectIsRetiredAndRevivedByTheNextWrite) {
  auto backend = std::move(*OpenCache(dir_.string(), kGranule));
  auto volume = std::move(*backend->AcquireVolume("v"));
  auto object = std::move(*volume->OpenObject("f", "v", kObjectSize));
  std::string data(kObjectSize, 'z');
  ASSERT_TRUE(object->Write(0, {reinterpret_cast<const std::byte*>(data.data()), data.size()}).ok());
  auto* live = static_cast<Object*>(object.get());
  live->Use();
  EXPECT_EQ(live->CullIfIdle(), 0u);  // In use.
  live->Unuse();
  auto files = [&] {
    size_t n = 0;
    for (auto& entry : fs::recursive_directory_iterator(dir_)) {
      n += entry.path().extension() == ".data" || entry.path().extension() == ".meta";
    }
    return n;
  };
  EXPECT_EQ(files(), 2u);
  EXPECT_GT(live->CullIfIdle(), 0u);
  EXPECT_EQ(files(), 0u);  // Blocks and inodes both freed.
  EXPECT_EQ(backend->Stats().objects, 0u);
  EXPECT_EQ(object->Usage().bytes_present, 0u);
  EXPECT_FALSE(object->Query(0, kObjectSize).present);
  ASSERT_TRUE(object->Write(0, {reinterpret_cast<const std::byte*>(data.data()), data.size()}).ok());
  std::string back(kObjectSize, '\0');
  ASSERT_TRUE(object->Read(0, {reinterpret_cast<std::byte*>(back.data()), back.size()}).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(files(), 2u);
  EXPECT_EQ(backend->Stats().objects, 1u);
}

TEST_F(CullTest, AccountingAgreesWithTheFileSystem) {
  auto backend = std::move(*OpenCache(dir_.string(), kGranule));
  auto volume = std::move(*backend->AcquireVolume("v"));
  Fill(*volume, 5, {1, 1, 1, 1, 1});
  ASSERT_TRUE(volume->PutMetadata("dir:", {"listing", 1}).ok());
  uint64_t counted = backend->Stats().bytes_used;
  const uint64_t measured = DuBytes();
  EXPECT_NEAR(static_cast<double>(counted), static_cast<double>(measured), measured * 0.01);
  EXPECT_EQ(backend->Stats().objects, 5u);
}

// The cache is measured once when it is opened; a volume created later is charged for its own
// files instead of the whole cache being walked again.
TEST_F(CullTest, AccountingAgreesWithTheFileSystemAfterANewVolumeJoins) {
  {
    auto backend = std::move(*OpenCache(dir_.string(), kGranule));
    auto volume = std::move(*backend->AcquireVolume("first"));
    Fill(*volume, 5, {1, 1, 1, 1, 1});
  }
  auto backend = std::move(*OpenCache(dir_.string(), kGranule));
  const uint64_t opened = backend->Stats().bytes_used;
  EXPECT_GE(opened, 5 * kObjectSize);
  auto volume = std::move(*backend->AcquireVolume("second"));
  auto again = std::move(*backend->AcquireVolume("first"));  // Exists: adds nothing.
  Fill(*volume, 2, {1, 1});
  const uint64_t measured = DuBytes();
  EXPECT_GT(backend->Stats().bytes_used, opened + 2 * kObjectSize);
  EXPECT_NEAR(static_cast<double>(backend->Stats().bytes_used), static_cast<double>(measured), measured * 0.01);
  EXPECT_EQ(backend->Stats().objects, 7u);
}

std::span<const std::byte> BytesOf(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
std::span<std::byte> BufferOf(std::string& s) {
  return {reinterpret_cast<std::byte*>(s.data()), s.size()};
}

size_t OpenDescriptors() {
  return static_cast<size_t>(
      std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

// The kernel keeps the inodes it has seen, and netfs an object for each: without a budget a
// daemon reading a tree of 500 files ran out of its 1024 descriptors and failed reads with EIO.
TEST_F(CullTest, ObjectsBeyondTheDescriptorBudgetCloseTheirFilesAndReopenThemWhenUsed) {
  CullPolicy policy;
  policy.open_objects = 4;
  auto backend = std::move(*OpenCache(dir_.string(), kGranule, policy));
  auto volume = std::move(*backend->AcquireVolume("v"));
  const size_t before = OpenDescriptors();
  constexpr int kObjects = 40;
  // Distinct bytes per object, exactly kObjectSize of them.
  auto bytes_of = [](int i) {
    std::string bytes = std::to_string(i) + std::string(kObjectSize, static_cast<char>('a' + i));
    return bytes.substr(0, kObjectSize);
  };
  std::vector<std::unique_ptr<fscache::BackendObject>> objects;
  for (int i = 0; i < kObjects; ++i) {
    std::string data = bytes_of(i);
    objects.push_back(std::move(*volume->OpenObject("f" + std::to_string(i), "v", data.size())));
    objects.back()->Use();
    ASSERT_TRUE(objects.back()->Write(0, BytesOf(data)).ok());
    objects.back()->Unuse();
    // Two descriptors per small object; a few more while one is over the budget.
    ASSERT_LE(OpenDescriptors(), before + 2 * 4 + 4) << i;
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kObjects; ++i) {
      std::string want = bytes_of(i), got(want.size(), '\0');
      ASSERT_TRUE(objects[i]->Read(0, BufferOf(got)).ok()) << i;
      EXPECT_EQ(got, want) << i;
      objects[i]->Use();  // Reopened for its access record too.
      objects[i]->Unuse();
    }
    EXPECT_LE(OpenDescriptors(), before + 2 * 4 + 4);
  }
  EXPECT_EQ(backend->Stats().objects, static_cast<uint64_t>(kObjects));
  // Files removed by hand while their objects are parked: no data (never wrong bytes), and
  // each takes new data again.
  for (auto& entry : fs::recursive_directory_iterator(dir_)) {
    auto ext = entry.path().extension();
    if (ext == ".data" || ext == ".meta") fs::remove(entry.path());
  }
  int missing = 0;
  for (int i = 0; i < kObjects; ++i) {
    std::string want = bytes_of(i), got(want.size(), '\0');
    if (objects[i]->Read(0, BufferOf(got)).ok()) {
      EXPECT_EQ(got, want) << i;  // Still open: its unlinked files still hold its bytes.
    } else {
      ++missing;
    }
  }
  EXPECT_GE(missing, kObjects - 4);
  for (int i = 0; i < kObjects; ++i) {
    std::string data = bytes_of(i + 1), got(data.size(), '\0');
    ASSERT_TRUE(objects[i]->Invalidate("v2", data.size()).ok()) << i;
    ASSERT_TRUE(objects[i]->Write(0, BytesOf(data)).ok()) << i;
    ASSERT_TRUE(objects[i]->Read(0, BufferOf(got)).ok()) << i;
    EXPECT_EQ(got, data) << i;
  }
  EXPECT_LE(OpenDescriptors(), before + 2 * 4 + 4);
}

}  // namespace
}  // namespace cachefiles
