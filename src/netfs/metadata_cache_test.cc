// SPDX-License-Identifier: MIT
#include "netfs/metadata_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
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

// Answers "v<n>" to the n-th question; the first question's answer waits until released.
class RacingOrigin final : public origin::Origin {
 public:
  std::string VolumeKey() const override { return "racing:"; }
  util::Result<origin::Attr> GetAttr(const std::string&) override {
    const int n = ++asked;
    if (n == 1) {
      first_asked.set_value();
      release_first.get_future().wait();
    }
    origin::Attr attr;
    attr.type = origin::FileType::kRegular;
    attr.size = static_cast<uint64_t>(n);
    attr.version = "v" + std::to_string(n);
    return attr;
  }
  util::Result<std::vector<origin::DirEntry>> ReadDir(const std::string&) override {
    return std::vector<origin::DirEntry>{};
  }
  util::Result<std::string> ReadLink(const std::string&) override { return std::string(); }
  util::Result<origin::FsStats> StatFs() override { return origin::FsStats{}; }
  void Read(const std::string&, const std::string&, uint64_t, std::vector<origin::IoVec>,
            origin::ReadCompletion done) override {
    done(util::Status::Ok(), 0);
  }
  std::atomic<int> asked{0};
  std::promise<void> first_asked, release_first;
};

// Issue 15.3: the metadata cache kept (and persisted) whichever answer finished last, so a
// slow, older answer replaced a newer one.
TEST_F(MetadataCacheTest, ALateOlderAnswerNeverReplacesANewerOne) {
  RacingOrigin racing;
  MetadataCachingOrigin cached(&racing, "racing:", volume_, {OriginPolicy::kStrict, 1h, 1h});
  util::Result<origin::Attr> first = util::Status::Error(Code::kIOError, "not answered");
  std::thread slow([&] { first = cached.GetAttrFresh("f"); });
  racing.first_asked.get_future().wait();
  auto second = cached.GetAttrFresh("f");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, "v2");
  racing.release_first.set_value();
  slow.join();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->version, "v2");  // The newer answer, not its own late "v1".
  EXPECT_EQ(cached.GetAttr("f")->version, "v2");  // Within the TTL: from memory.
  EXPECT_EQ(racing.asked.load(), 2);
  origin::Attr stored;
  auto record = volume_->GetMetadata("attr:f");
  ASSERT_TRUE(record.has_value());
  ASSERT_TRUE(DecodeAttr(record->value, &stored));
  EXPECT_EQ(stored.version, "v2");
}

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

TEST_F(MetadataCacheTest, AnswersPastTheTtlLeaveMemory) {
  for (int i = 0; i < 7000; ++i) origin_.PutFile("f" + std::to_string(i), "x");
  auto cached = Make(OriginPolicy::kStrict, 50ms);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(cached.GetAttr("f" + std::to_string(i)).ok());
  std::this_thread::sleep_for(60ms);  // All 3000 expired: they answer nothing any more.
  for (int i = 3000; i < 7000; ++i) ASSERT_TRUE(cached.GetAttr("f" + std::to_string(i)).ok());
  // The map doubled since its last sweep at least once meanwhile, and that sweep let the
  // expired go: at most the 4000 new answers are left (all 7000 without sweeps).
  EXPECT_LE(cached.RecentAnswers(), 4000u);
  EXPECT_GT(cached.RecentAnswers(), 0u);
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

// An origin whose listings carry sizes and mtimes (as a web server's index pages do); counts
// how often it is asked for attributes.
class ListingOrigin final : public origin::Origin {
 public:
  struct File {
    uint64_t size;
    int64_t mtime_s;
    std::string version;
    int64_t reported_at_s;  // The server's clock when it reports the version.
  };
  std::map<std::string, File> files;
  int64_t granularity_s = 60;
  std::chrono::milliseconds attr_delay{0};  // A round trip, for opening ahead.
  std::atomic<int> head_requests{0};
  std::atomic<int> conditional_requests{0};
  std::vector<std::string> dirs;         // Subdirectories of the root.
  std::mutex mu;
  std::map<std::string, int> listings;  // Protected by mu. Requests per directory.
  std::map<std::string, int> asked;     // Protected by mu. Attribute requests per file.
  int Asked(const std::string& path) {
    std::lock_guard lock(mu);
    return asked[path];
  }
  int Listings(const std::string& path) {
    std::lock_guard lock(mu);
    return listings[path];
  }

  std::string VolumeKey() const override { return "listing:"; }
  util::Result<origin::Attr> GetAttr(const std::string& path) override {
    std::this_thread::sleep_for(attr_delay);
    ++head_requests;
    {
      std::lock_guard lock(mu);
      ++asked[path];
    }
    return AttrOf(path);
  }
  util::Result<origin::Attr> GetAttrSince(const std::string& path, const origin::Attr& known) override {
    std::this_thread::sleep_for(attr_delay);
    ++conditional_requests;
    return AttrOf(path).ok() && AttrOf(path)->version == known.version ? known : AttrOf(path);
  }
  util::Result<std::vector<origin::DirEntry>> ReadDir(const std::string& path) override {
    std::vector<origin::DirEntry> entries;
    {
      std::lock_guard lock(mu);
      ++listings[path];
    }
    if (!path.empty()) {  // Subdirectories hold one subdirectory each, and no files.
      entries.push_back({"sub", origin::FileType::kDirectory, std::nullopt, 1});
      return entries;
    }
    for (const std::string& dir : dirs) entries.push_back({dir, origin::FileType::kDirectory, std::nullopt, 1});
    for (const auto& [name, file] : files) {
      origin::Attr listed;
      listed.type = origin::FileType::kRegular;
      listed.size = file.size;
      listed.mtime_ns = (file.mtime_s - file.mtime_s % granularity_s) * 1000000000LL;
      entries.push_back({name, origin::FileType::kRegular, listed, granularity_s});
    }
    return entries;
  }
  util::Result<std::string> ReadLink(const std::string&) override { return std::string(); }
  util::Result<origin::FsStats> StatFs() override { return origin::FsStats{}; }
  void Read(const std::string&, const std::string&, uint64_t, std::vector<origin::IoVec>,
            origin::ReadCompletion done) override {
    done(util::Status::Ok(), 0);
  }

 private:
  util::Result<origin::Attr> AttrOf(const std::string& path) {
    auto it = files.find(path);
    if (it == files.end()) return util::Status::Error(Code::kNotFound, path);
    origin::Attr attr;
    attr.type = origin::FileType::kRegular;
    attr.size = it->second.size;
    attr.mtime_ns = it->second.mtime_s * 1000000000LL;
    attr.version = it->second.version;
    attr.version_seen_at_s = it->second.reported_at_s;
    return attr;
  }
};

class ListingAttrTest : public ::testing::Test {
 protected:
  ListingAttrTest()
      : cache_(fscache::NewMemoryBackend(4096, nullptr), 1), volume_(*cache_.AcquireVolume("l")) {}
  // A fresh mount over the same persistent records (nothing in memory).
  MetadataCachingOrigin Mount() {
    return MetadataCachingOrigin(&origin_, "listing:", volume_, {OriginPolicy::kStrict, 1h, 1h});
  }
  // Makes a persistent record older than any TTL, as after a remount a day later.
  void Age(const std::string& key) {
    auto record = volume_->GetMetadata(key);
    ASSERT_TRUE(record.has_value());
    record->stored_at_ns = 0;
    volume_->PutMetadata(key, *record);
  }
  ListingOrigin origin_;
  fscache::Cache cache_;
  std::shared_ptr<fscache::Volume> volume_;
};

TEST_F(ListingAttrTest, ListingAnswersStatWithoutAVersion) {
  origin_.files["a"] = {100, 1000, "v1", 5000};
  auto mount = Mount();
  ASSERT_TRUE(mount.ReadDir("").ok());
  auto stat = mount.GetStatAttr("a");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->size, 100u);
  EXPECT_EQ(stat->mtime_ns, 960 * 1000000000LL);  // To the listing's minute.
  EXPECT_TRUE(stat->version.empty());
  EXPECT_EQ(origin_.head_requests, 0);
  // Opening needs the version: that one asks the origin.
  auto open = mount.GetAttr("a");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->version, "v1");
  EXPECT_EQ(origin_.head_requests, 1);
}

TEST_F(ListingAttrTest, MatchingListingProvesTheKnownVersionAfterARemount) {
  origin_.files["a"] = {100, 1000, "v1", 5000};  // Reported long after its mtime's minute.
  ASSERT_TRUE(Mount().GetAttr("a").ok());
  EXPECT_EQ(origin_.head_requests, 1);
  Age("attr:a");
  auto again = Mount();
  ASSERT_TRUE(again.ReadDir("").ok());
  auto open = again.GetAttr("a");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->version, "v1");
  EXPECT_EQ(open->mtime_ns, 1000 * 1000000000LL);  // The reported mtime, not the listing's minute.
  EXPECT_EQ(origin_.head_requests, 1);
  EXPECT_EQ(origin_.conditional_requests, 0);
}

TEST_F(ListingAttrTest, ChangedSizeOrMinuteIsNotProof) {
  origin_.files["a"] = {100, 1000, "v1", 5000};
  origin_.files["b"] = {100, 1000, "w1", 5000};
  ASSERT_TRUE(Mount().GetAttr("a").ok());
  ASSERT_TRUE(Mount().GetAttr("b").ok());
  Age("attr:a");
  Age("attr:b");
  origin_.files["a"] = {101, 1000, "v2", 5000};   // Same mtime, new size.
  origin_.files["b"] = {100, 4000, "w2", 5000};   // Same size, new minute.
  auto mount = Mount();
  ASSERT_TRUE(mount.ReadDir("").ok());
  EXPECT_EQ(mount.GetStatAttr("a")->size, 101u);
  EXPECT_EQ(mount.GetAttr("a")->version, "v2");
  EXPECT_EQ(mount.GetAttr("b")->version, "w2");
  EXPECT_EQ(origin_.head_requests + origin_.conditional_requests, 4);  // Each asked again.
}

TEST_F(ListingAttrTest, OfflineMountStatsListedFilesItNeverOpened) {
  origin_.files["a"] = {100, 1000, "v1", 5000};
  ASSERT_TRUE(Mount().ReadDir("").ok());
  MetadataCachingOrigin offline(&origin_, "listing:", volume_, {OriginPolicy::kOffline, 1h, 1h});
  auto listing = offline.ReadDir("");
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 1u);
  auto stat = offline.GetStatAttr("a");
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->size, 100u);
  // No version known: nothing to read offline. Listed, so it exists: EIO, not ENOENT (issue
  // 15.19); a name the listing does not show is not there.
  EXPECT_EQ(offline.GetAttr("a").status().code(), Code::kIOError);
  EXPECT_EQ(offline.GetAttrForRead("a").status().code(), Code::kIOError);
  EXPECT_EQ(offline.GetAttr("zz").status().code(), Code::kNotFound);
  EXPECT_EQ(origin_.head_requests, 0);
}

TEST_F(ListingAttrTest, VersionReportedWithinItsMtimeMinuteIsNotProvedByAListing) {
  // Reported 5 s after its mtime, within the same minute: a same-size change later in that minute would
  // show the same listing line, so the listing cannot vouch for v1.
  origin_.files["a"] = {100, 1000, "v1", 1000 + 5};
  ASSERT_TRUE(Mount().GetAttr("a").ok());
  Age("attr:a");
  auto mount = Mount();
  ASSERT_TRUE(mount.ReadDir("").ok());
  origin_.files["a"] = {100, 1010, "v2", 1030};
  auto open = mount.GetAttr("a");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->version, "v2");
}

TEST_F(ListingAttrTest, ExpiredVersionIsRevalidatedConditionally) {
  origin_.files["a"] = {100, 1000, "v1", 5000};
  MetadataCachingOrigin first(&origin_, "listing:", volume_, {OriginPolicy::kStrict, 0ns, 1h});
  ASSERT_TRUE(first.GetAttr("a").ok());
  EXPECT_EQ(origin_.head_requests, 1);
  auto again = first.GetAttr("a");  // TTL 0: asks every time, but conditionally.
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, "v1");
  EXPECT_EQ(origin_.head_requests, 1);
  EXPECT_EQ(origin_.conditional_requests, 1);
}

TEST_F(ListingAttrTest, ExpiredListingAttributesAreRefreshedByListingTheDirectoryAgain) {
  origin_.files["a"] = {100, 1000, "", 5000};
  origin_.files["b"] = {200, 1000, "", 5000};
  MetadataCachingOrigin mount(&origin_, "listing:", volume_, {OriginPolicy::kStrict, 20ms, 1h});
  ASSERT_TRUE(mount.ReadDir("").ok());
  std::this_thread::sleep_for(30ms);  // Past the attribute timeout.
  origin_.files["b"].size = 201;
  EXPECT_EQ(mount.GetStatAttr("a")->size, 100u);
  EXPECT_EQ(mount.GetStatAttr("b")->size, 201u);  // From the new listing.
  EXPECT_EQ(origin_.head_requests, 0);
  EXPECT_GE(origin_.Listings(""), 2);
}

TEST_F(ListingAttrTest, OpeningFilesInListingOrderOpensTheNextOnesAhead) {
  for (int i = 0; i < 20; ++i) {
    origin_.files[std::string("f") + static_cast<char>('a' + i)] = {100, 1000, "v", 5000};
  }
  MetadataCacheOptions options{OriginPolicy::kStrict, 1h, 1h};
  options.listing_readahead = 1;
  {
    // An origin that answers at once: nothing is gained by opening ahead, so nothing is.
    MetadataCachingOrigin fast(&origin_, "listing:", volume_, options);
    ASSERT_TRUE(fast.ReadDir("").ok());
    for (char c = 'p'; c <= 'r'; ++c) ASSERT_TRUE(fast.GetAttrForRead(std::string("f") + c).ok());
    EXPECT_EQ(fast.stats().opened_ahead.load(), 0u);
    EXPECT_EQ(origin_.Asked("fs"), 0);
  }
  origin_.attr_delay = 20ms;  // As a 20 ms round trip.
  MetadataCachingOrigin mount(&origin_, "listing:", volume_, options);
  ASSERT_TRUE(mount.ReadDir("").ok());
  ASSERT_TRUE(mount.GetAttrForRead("fc").ok());  // Not in order yet: nothing ahead.
  ASSERT_TRUE(mount.GetAttrForRead("fa").ok());
  EXPECT_EQ(mount.stats().opened_ahead.load(), 0u);
  ASSERT_TRUE(mount.GetAttrForRead("fb").ok());  // fa, fb: in order.
  for (int i = 0; i < 2000 && mount.stats().opened_ahead.load() < 8; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(mount.stats().opened_ahead.load(), 8u);  // fc..fj (fc answered from memory).
  EXPECT_EQ(origin_.Asked("fk"), 0);  // No further than 8 ahead.
  for (char c = 'c'; c <= 'j'; ++c) {
    ASSERT_TRUE(mount.GetAttrForRead(std::string("f") + c).ok());
    EXPECT_EQ(origin_.Asked(std::string("f") + c), 1) << c;  // Asked once: by the open ahead.
  }
  // A second pass from the start opens ahead again.
  for (int i = 0; i < 2000 && mount.stats().opened_ahead.load() < 16; ++i) {
    std::this_thread::sleep_for(5ms);  // The first pass's opens ahead (up to fr) finish.
  }
  const uint64_t first_pass = mount.stats().opened_ahead.load();
  ASSERT_TRUE(mount.GetAttrForRead("fa").ok());
  ASSERT_TRUE(mount.GetAttrForRead("fb").ok());
  for (int i = 0; i < 2000 && mount.stats().opened_ahead.load() < first_pass + 8; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(mount.stats().opened_ahead.load(), first_pass + 8);
}

TEST_F(ListingAttrTest, AttributesOfAFileInUseAreRenewedBeforeTheyExpire) {
  origin_.files["f"] = {100, 1000, "v", 5000};
  origin_.files["g"] = {100, 1000, "v", 5000};
  MetadataCacheOptions options{OriginPolicy::kStrict, 2s, 1h};
  options.listing_readahead = 1;  // Renewals run in the readahead pool.
  {
    // An origin that answers at once: a renewal would only add requests, so none is made.
    MetadataCachingOrigin fast(&origin_, "listing:", volume_, options);
    ASSERT_TRUE(fast.GetAttrForRead("f").ok());
    std::this_thread::sleep_for(600ms);  // Past a quarter of the timeout.
    ASSERT_TRUE(fast.GetStatAttrInUse("f").ok());
    EXPECT_EQ(fast.stats().attrs_renewed_ahead.load(), 0u);
  }
  origin_.attr_delay = 20ms;  // As a 20 ms round trip.
  MetadataCachingOrigin mount(&origin_, "listing:", volume_, options);
  ASSERT_TRUE(mount.GetAttrForRead("g").ok());
  ASSERT_EQ(origin_.Asked("g"), 1);
  const int conditional = origin_.conditional_requests.load();
  ASSERT_TRUE(mount.GetStatAttrInUse("g").ok());  // Younger than a quarter: left alone.
  std::this_thread::sleep_for(600ms);
  ASSERT_TRUE(mount.GetStatAttrInUse("g").ok());  // From memory, and renewed behind it.
  ASSERT_TRUE(mount.GetStatAttrInUse("g").ok());  // Within the first's round trip: no second.
  for (int i = 0; i < 2000 && mount.stats().attrs_renewed_ahead.load() < 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(100ms);  // A second renewal, had one started, would be done.
  ASSERT_EQ(mount.stats().attrs_renewed_ahead.load(), 1u);
  EXPECT_EQ(origin_.conditional_requests.load(), conditional + 1);  // Checked, version known.
  // Past the first answer's timeout the renewed answer is still fresh: nobody waits for the
  // origin.
  std::this_thread::sleep_for(1500ms);
  const uint64_t hits = mount.stats().hits.load();
  auto attr = mount.GetStatAttr("g");
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->version, "v");
  EXPECT_EQ(mount.stats().hits.load(), hits + 1);
  EXPECT_EQ(origin_.Asked("g"), 1);
  EXPECT_EQ(origin_.conditional_requests.load(), conditional + 1);
}

TEST_F(ListingAttrTest, ListingADirectoryListsItsSubdirectoriesInTheBackground) {
  origin_.dirs = {"d1", "d2", "d3"};
  MetadataCacheOptions options{OriginPolicy::kStrict, 1h, 1h};
  options.listing_readahead = 2;
  MetadataCachingOrigin mount(&origin_, "listing:", volume_, options);
  ASSERT_TRUE(mount.ReadDir("").ok());
  for (int i = 0; i < 2000 && mount.stats().listings_read_ahead.load() < 2; ++i) {
    std::this_thread::sleep_for(5ms);  // Bounded wait for the background listings.
  }
  ASSERT_EQ(mount.stats().listings_read_ahead.load(), 2u);  // At most 2, as asked.
  EXPECT_EQ(origin_.Listings("d1"), 1);
  EXPECT_EQ(origin_.Listings("d2"), 1);
  EXPECT_EQ(origin_.Listings("d3"), 0);
  ASSERT_TRUE(mount.ReadDir("d1").ok());  // Answered by the listing fetched ahead.
  EXPECT_EQ(origin_.Listings("d1"), 1);
  // One level only: listing d1 ahead did not list d1/sub.
  EXPECT_EQ(origin_.Listings("d1/sub"), 0);
}

TEST(MetadataEncodingTest, RoundTripsAndRejectsJunk) {
  origin::Attr attr;
  attr.type = origin::FileType::kSymlink;
  attr.size = 123456789012ULL;
  attr.mode = 0640;
  attr.mtime_ns = -5;
  attr.version = "etag:\"x\"|12";
  attr.version_seen_at_s = 1795660867;
  origin::Attr back;
  ASSERT_TRUE(DecodeAttr(EncodeAttr(attr), &back));
  EXPECT_EQ(back.version_seen_at_s, attr.version_seen_at_s);
  // Records from before version_seen_at_s existed still decode (as "not known").
  std::string old_record = EncodeAttr(attr);
  old_record.resize(old_record.size() - sizeof(int64_t));
  ASSERT_TRUE(DecodeAttr(old_record, &back));
  EXPECT_EQ(back.version_seen_at_s, 0);
  ASSERT_TRUE(DecodeAttr(EncodeAttr(attr), &back));
  EXPECT_EQ(back.type, attr.type);
  EXPECT_EQ(back.size, attr.size);
  EXPECT_EQ(back.version, attr.version);
  EXPECT_FALSE(DecodeAttr(EncodeAttr(attr).substr(3), &back));
  std::vector<origin::DirEntry> entries = {{"a\nb", origin::FileType::kRegular},
                                           {"dir", origin::FileType::kDirectory, attr, 60}};
  std::vector<origin::DirEntry> decoded;
  ASSERT_TRUE(DecodeListing(EncodeListing(entries), &decoded));
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[0].name, "a\nb");
  EXPECT_FALSE(decoded[0].attr.has_value());
  ASSERT_TRUE(decoded[1].attr.has_value());
  EXPECT_EQ(decoded[1].attr->size, attr.size);
  EXPECT_EQ(decoded[1].mtime_granularity_s, 60);
  // Records from before listings kept attributes still decode.
  std::string old_listing;
  uint32_t count = 1;
  uint8_t type = 0;
  uint32_t len = 1;
  old_listing.append(reinterpret_cast<const char*>(&count), 4);
  old_listing.append(reinterpret_cast<const char*>(&type), 1);
  old_listing.append(reinterpret_cast<const char*>(&len), 4);
  old_listing += "x";
  ASSERT_TRUE(DecodeListing(old_listing, &decoded));
  ASSERT_EQ(decoded.size(), 1u);
  EXPECT_EQ(decoded[0].name, "x");
  EXPECT_FALSE(DecodeListing(EncodeListing(entries) + "x", &decoded));
}

}  // namespace
}  // namespace netfs
