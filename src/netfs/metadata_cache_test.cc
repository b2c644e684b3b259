// SPDX-License-Identifier: MIT
#include "netfs/metadata_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "fscache/memory_backend.h"
#include "origin/mock_origin.h"

namespace netfs {
namespace {

using namespace std::chrono_literals;
using util::Code;

class MetadataCacheTest : public ::testing::Test {
 protected:
  MetadataCacheTest()
      : cache_(fscache::NewMemoryBackend(4096, nullptr), 1), volume_(*cache_.AcquireVolume("m")) {
    origin_.PutFile("f", "content");
  }
  MetadataCachingOrigin Make(OriginPolicy policy, std::chrono::nanoseconds ttl = 0ns) {
    return MetadataCachingOrigin(&origin_, "mock:", volume_, {policy, ttl, 1h});
  }
  origin::MockOrigin origin_{nullptr};
  fscache::Cache cache_;
  std::shared_ptr<fscache::Volume> volume_;
};

TEST_F(MetadataCacheTest, StrictModeReportsOriginFailuresAsSuch) {
  auto strict = Make(OriginPolicy::kStrict);
  ASSERT_TRUE(strict.GetAttr("f").ok());
  origin_.unreachable = true;
  auto attr = strict.GetAttr("f");
  ASSERT_FALSE(attr.ok());
  EXPECT_EQ(attr.status().code(), Code::kUnavailable);  // Not kNotFound: not a deletion.
}

TEST_F(MetadataCacheTest, StaleIfErrorServesTheLastKnownAttributesAndListing) {
  auto stale = Make(OriginPolicy::kStaleIfError);
  auto fresh = stale.GetAttr("f");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(stale.ReadDir("").ok());
  origin_.unreachable = true;
  auto served = stale.GetAttr("f");
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(served->version, fresh->version);
  auto listing = stale.ReadDir("");
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 1u);
  EXPECT_EQ((*listing)[0].name, "f");
  EXPECT_EQ(stale.stats().served_stale.load(), 2u);
  // A name the origin really says is gone is gone.
  origin_.unreachable = false;
  origin_.RemoveFile("f");
  EXPECT_EQ(stale.GetAttr("f").status().code(), Code::kNotFound);
}

TEST_F(MetadataCacheTest, StaleDataBeyondTheBoundIsNotServed) {
  ASSERT_TRUE(Make(OriginPolicy::kStrict).GetAttr("f").ok());
  MetadataCachingOrigin tight(&origin_, "mock:", volume_, {OriginPolicy::kStaleIfError, 0ns, 1ns});
  origin_.unreachable = true;
  std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(tight.GetAttr("f").ok());
}

TEST_F(MetadataCacheTest, OfflineNeverAsksTheOrigin) {
  ASSERT_TRUE(Make(OriginPolicy::kStrict).GetAttr("f").ok());
  origin_.PutFile("g", "new");  // Exists on the origin, but was never seen.
  auto offline = Make(OriginPolicy::kOffline);
  EXPECT_TRUE(offline.GetAttr("f").ok());
  EXPECT_EQ(offline.GetAttr("g").status().code(), Code::kNotFound);
  EXPECT_TRUE(offline.GetAttr("").ok());  // The root always exists.
  EXPECT_EQ(offline.stats().offline_misses.load(), 2u);  // "g", and the never-listed root.
}

TEST_F(MetadataCacheTest, FreshRecordsSaveOriginRoundTrips) {
  auto cached = Make(OriginPolicy::kStrict, 1h);
  ASSERT_TRUE(cached.GetAttr("f").ok());
  origin_.unreachable = true;  // Within the TTL the origin is not asked at all.
  EXPECT_TRUE(cached.GetAttr("f").ok());
  EXPECT_EQ(cached.stats().hits.load(), 1u);
}

TEST(MetadataEncodingTest, RoundTripsAndRejectsJunk) {
  origin::Attr attr;
  attr.type = origin::FileType::kSymlink;
  attr.size = 123456789012ULL;
  attr.mode = 0640;
  attr.mtime_ns = -5;
  attr.version = "etag:\"x\"|12";
  origin::Attr back;
  ASSERT_TRUE(DecodeAttr(EncodeAttr(attr), &back));
  EXPECT_EQ(back.type, attr.type);
  EXPECT_EQ(back.size, attr.size);
  EXPECT_EQ(back.version, attr.version);
  EXPECT_FALSE(DecodeAttr(EncodeAttr(attr).substr(3), &back));
  std::vector<origin::DirEntry> entries = {{"a\nb", origin::FileType::kRegular},
                                           {"dir", origin::FileType::kDirectory}};
  std::vector<origin::DirEntry> decoded;
  ASSERT_TRUE(DecodeListing(EncodeListing(entries), &decoded));
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[0].name, "a\nb");
  EXPECT_FALSE(DecodeListing(EncodeListing(entries) + "x", &decoded));
}

}  // namespace
}  // namespace netfs
