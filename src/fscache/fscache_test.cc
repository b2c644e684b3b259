// SPDX-License-Identifier: MIT
#include "fscache/fscache.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "fscache/memory_backend.h"

namespace fscache {
namespace {

using util::Code;
using util::Status;

constexpr uint64_t kGranule = 4096;

Status Sync(auto start) {
  std::promise<Status> promise;
  start([&promise](Status status) { promise.set_value(std::move(status)); });
  return promise.get_future().get();
}

class FscacheTest : public ::testing::Test {
 protected:
  FscacheTest() : cache_(NewMemoryBackend(kGranule, &faults_), 2) {
    volume_ = *cache_.AcquireVolume("test");
  }
  Status Write(const Operation& op, uint64_t pos, std::string& bytes) {
    return Sync([&](IoCompletion done) {
      op.Write(pos, {{reinterpret_cast<std::byte*>(bytes.data()), bytes.size()}}, std::move(done));
    });
  }
  Status Read(const Operation& op, uint64_t pos, std::string* bytes) {
    return Sync([&](IoCompletion done) {
      op.Read(pos, {{reinterpret_cast<std::byte*>(bytes->data()), bytes->size()}}, std::move(done));
    });
  }

  MemoryBackendFaults faults_;
  Cache cache_;
  std::shared_ptr<Volume> volume_;
};

TEST_F(FscacheTest, PrepareReadSaysZeroDownloadOrCache) {
  auto cookie = volume_->AcquireCookie("f", "v1", 5 * kGranule);
  Operation op = cookie->BeginOperation();
  ReadPlan beyond = op.PrepareRead(5 * kGranule, kGranule, 5 * kGranule);
  EXPECT_EQ(beyond.source, Source::kFillWithZeroes);
  ReadPlan cold = op.PrepareRead(0, 5 * kGranule, 5 * kGranule);
  EXPECT_EQ(cold.source, Source::kDownloadFromServer);
  EXPECT_TRUE(cold.copy_to_cache);
  std::string data(2 * kGranule, 'x');
  ASSERT_TRUE(Write(op, kGranule, data).ok());
  ReadPlan head = op.PrepareRead(0, 5 * kGranule, 5 * kGranule);
  EXPECT_EQ(head.source, Source::kDownloadFromServer);
  EXPECT_EQ(head.len, kGranule);  // The run stops where cached data begins.
  ReadPlan hit = op.PrepareRead(kGranule, 4 * kGranule, 5 * kGranule);
  EXPECT_EQ(hit.source, Source::kReadFromCache);
  EXPECT_EQ(hit.len, 2 * kGranule);
  std::string back(2 * kGranule, '\0');
  ASSERT_TRUE(Read(op, kGranule, &back).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(cookie->BytesCached(), 2 * kGranule);
}

TEST_F(FscacheTest, InvalidationMakesOlderOperationsStale) {
  auto cookie = volume_->AcquireCookie("f", "v1", 2 * kGranule);
  Operation old_op = cookie->BeginOperation();
  std::string data(kGranule, 'a');
  ASSERT_TRUE(Write(old_op, 0, data).ok());
  cookie->Invalidate("v2", 2 * kGranule);
  EXPECT_EQ(cookie->BytesCached(), 0u);
  std::string late(kGranule, 'b');
  EXPECT_EQ(Write(old_op, 0, late).code(), Code::kStale);  // Old data never lands.
  EXPECT_EQ(cookie->BytesCached(), 0u);
  EXPECT_EQ(old_op.PrepareRead(0, kGranule, 2 * kGranule).source, Source::kDownloadFromServer);
  EXPECT_FALSE(old_op.PrepareRead(0, kGranule, 2 * kGranule).copy_to_cache);
  Operation new_op = cookie->BeginOperation();
  ASSERT_TRUE(Write(new_op, 0, late).ok());
  std::string back(kGranule, '\0');
  ASSERT_TRUE(Read(new_op, 0, &back).ok());
  EXPECT_EQ(back, late);
  EXPECT_EQ(cache_.stats().stale_ops.load(), 1u);
}

TEST_F(FscacheTest, WriteErrorTurnsCachingOffButIsNotFatal) {
  auto cookie = volume_->AcquireCookie("f", "v1", kGranule);
  Operation op = cookie->BeginOperation();
  faults_.fail_writes = true;
  std::string data(kGranule, 'a');
  EXPECT_EQ(Write(op, 0, data).code(), Code::kNoSpace);
  EXPECT_FALSE(cookie->caching());
  EXPECT_FALSE(op.PrepareRead(0, kGranule, kGranule).copy_to_cache);
  EXPECT_EQ(cache_.stats().write_errors.load(), 1u);
}

TEST_F(FscacheTest, ChangedCoherencyDataDiscardsStoredData) {
  {
    auto cookie = volume_->AcquireCookie("f", "v1", kGranule);
    std::string data(kGranule, 'a');
    ASSERT_TRUE(Write(cookie->BeginOperation(), 0, data).ok());
  }
  EXPECT_EQ(volume_->AcquireCookie("f", "v1", kGranule)->BytesCached(), kGranule);
  EXPECT_EQ(volume_->AcquireCookie("f", "v2", kGranule)->BytesCached(), 0u);
}

TEST_F(FscacheTest, NoBackendMeansDownloadWithoutCopy) {
  Cache uncached(nullptr, 1);
  auto volume = *uncached.AcquireVolume("x");
  auto cookie = volume->AcquireCookie("f", "v", 100);
  ReadPlan plan = cookie->BeginOperation().PrepareRead(0, 100, 100);
  EXPECT_EQ(plan.source, Source::kDownloadFromServer);
  EXPECT_FALSE(plan.copy_to_cache);
}

}  // namespace
}  // namespace fscache

namespace fscache {
namespace {

TEST_F(FscacheTest, ResizeDropsDataPastTheNewEnd) {
  auto cookie = volume_->AcquireCookie("f", "v1", 4 * kGranule);
  Operation op = cookie->BeginOperation();
  std::string data(4 * kGranule, 'r');
  ASSERT_TRUE(Write(op, 0, data).ok());
  cookie->Resize(kGranule + 1);
  EXPECT_EQ(cookie->BytesCached(), kGranule);
  EXPECT_EQ(op.PrepareRead(0, kGranule, kGranule + 1).source, Source::kReadFromCache);
  EXPECT_EQ(op.PrepareRead(kGranule, kGranule, kGranule + 1).source, Source::kDownloadFromServer);
}

}  // namespace
}  // namespace fscache
