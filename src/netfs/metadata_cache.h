// SPDX-License-Identifier: MIT
// metadata_cache.h — keeps an origin's attributes and directory listings in the persistent
// cache, and decides what happens when the origin is slow or gone:
//   kStrict        origin errors reach the reader (EIO); cached metadata only saves round
//                  trips while younger than the attribute timeout;
//   kStaleIfError  when the origin cannot be reached, metadata (and so the cached data of that
//                  version) up to `stale_bound` old is served instead, and logged;
//   kOffline       the origin is never contacted: everything comes from the cache.
// A failed lookup is never taken for a deletion: only the origin saying "not found" is.
//
// It wraps any Origin, so netfs and fuse see the same interface. Thread safety: as Origin.
#pragma once

#include <atomic>
#include <cstdint>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <map>
#include <set>
#include <string>

#include "fscache/fscache.h"
#include "origin/origin.h"
#include "util/thread_pool.h"

namespace netfs {

enum class OriginPolicy { kStrict, kStaleIfError, kOffline };

struct MetadataCacheOptions {
  OriginPolicy policy = OriginPolicy::kStrict;
  std::chrono::nanoseconds ttl = std::chrono::seconds(1);              // The attribute timeout.
  std::chrono::nanoseconds stale_bound = std::chrono::hours(24);       // kStaleIfError only.
  // When a reader lists a directory, up to this many of its subdirectories are listed in the
  // background, several at once: `ls -R`, find, du and tar descend into them next, and on a
  // link with a long round trip one listing at a time is what they wait for. 0: none.
  int listing_readahead = 0;
};

struct MetadataCacheStats {
  std::atomic<uint64_t> hits{0};          // Answered from the cache without the origin.
  std::atomic<uint64_t> served_stale{0};  // Answered from the cache because the origin failed.
  std::atomic<uint64_t> offline_misses{0};
  std::atomic<uint64_t> listings_read_ahead{0};  // Fetched in the background.
  std::atomic<uint64_t> opened_ahead{0};         // Files opened ahead of a reader.
  std::atomic<uint64_t> attrs_renewed_ahead{0};  // Attributes of files in use, renewed early.
};

class MetadataCachingOrigin final : public origin::Origin {
 public:
  // `inner` is borrowed (unused when offline); `volume` may not cache (then only the policy
  // applies, with nothing to fall back on).
  MetadataCachingOrigin(origin::Origin* inner, std::string volume_key,
                        std::shared_ptr<fscache::Volume> volume, MetadataCacheOptions options);
  ~MetadataCachingOrigin() override;
  // Answers held in memory (attributes and listings younger than the TTL, and some older ones
  // until the next sweep).
  size_t RecentAnswers();

  std::string VolumeKey() const override { return volume_key_; }
  util::Result<origin::Attr> GetAttr(const std::string& path) override;
  // Skips the within-TTL shortcut (still falls back to the cache as the policy says).
  util::Result<origin::Attr> GetAttrFresh(const std::string& path) override;
  util::Result<origin::Attr> GetAttrForRead(const std::string& path) override;
  // May answer from a directory listing (attributes without a version).
  util::Result<origin::Attr> GetStatAttr(const std::string& path) override;
  // Past a quarter of its attribute timeout, a regular file's answer is renewed in the
  // background (one renewal at a time per file) when the origin is slow to answer (see
  // kSlowOriginNs): with the kernel asking at half the timeout, a file being read never
  // waits for the origin's round trip. Strict as before: nothing older than the timeout is
  // served from memory.
  util::Result<origin::Attr> GetStatAttrInUse(const std::string& path) override;
  util::Result<std::vector<origin::DirEntry>> ReadDir(const std::string& path) override;
  util::Result<std::string> ReadLink(const std::string& path) override;
  util::Result<origin::FsStats> StatFs() override;
  void Read(const std::string& path, const std::string& version, uint64_t pos,
            std::vector<origin::IoVec> iov, origin::ReadCompletion done) override;

  MetadataCacheStats& stats() { return stats_; }

 private:
  template <typename T, typename Fetch, typename Encode, typename Decode>
  util::Result<T> Cached(const std::string& kind, const std::string& path, Fetch fetch,
                         Encode encode, Decode decode, bool use_ttl = true);
  // Keeps `value` for `key` in memory and, if `persist` and new or a minute old, in the
  // persistent record -- unless the answer kept in memory was asked for after this one
  // (`asked_at_ns`, util::SteadyNs): then nothing changes and the newer value is returned.
  std::optional<std::string> Remember(const std::string& key, const std::string& value,
                                      const std::optional<fscache::MetadataRecord>& stored,
                                      int64_t asked_at_ns, bool persist = true);
  // `measure`: a reader's own request, timed into attr_latency_ns_ (work in ahead_pool_ also
  // waits for other work there).
  util::Result<origin::Attr> FetchAttr(const std::string& path, const origin::Attr* known,
                                       bool for_read = false, bool measure = true);
  // `path`'s entry in the persistent listing of its directory, if that names it.
  std::optional<origin::DirEntry> StoredListingEntry(const std::string& path);
  void LearnFromListing(const std::string& dir, const std::vector<origin::DirEntry>& entries,
                        int64_t asked_at_ns);
  util::Result<std::vector<origin::DirEntry>> ListDir(const std::string& path, bool read_ahead);
  void ReadAheadListings(const std::string& dir, const std::vector<origin::DirEntry>& entries);
  util::Result<origin::Attr> OpenAttr(const std::string& path, bool measure);
  void OpenAhead(const std::string& path);
  void RenewAhead(const std::string& path);
  void RememberOrder(const std::string& dir, const std::vector<origin::DirEntry>& entries);
  static constexpr size_t kOpenAhead = 8;  // Within the HTTP origin's 16 kept file starts.
  // How long the origin takes to answer a reader's request for attributes (moving average):
  // from kSlowOriginNs on (one answer of 16 ms gets there), work done ahead of readers (opening
  // ahead, renewing ahead) hides round trips; below it, it would only cost CPU and requests.
  static constexpr int64_t kSlowOriginNs = 2'000'000;
  std::atomic<int64_t> attr_latency_ns_{0};
  bool WorthDoingAhead() const {
    return ahead_pool_ && attr_latency_ns_.load(std::memory_order_relaxed) >= kSlowOriginNs;
  }

  origin::Origin* const inner_;
  const std::string volume_key_;
  const std::shared_ptr<fscache::Volume> volume_;
  const MetadataCacheOptions options_;
  MetadataCacheStats stats_;
  std::mutex mu_;
  std::set<std::string> warned_stale_;  // Protected by mu_. Paths already logged as stale.
  // Answers within the TTL straight from memory (no disk read, no origin request).
  struct Recent {
    std::string value;
    std::chrono::steady_clock::time_point fetched;
    int64_t asked_at_ns = 0;  // When the origin was asked (util::SteadyNs).
  };
  // The answer kept in memory for `key` if younger than the TTL, else null. REQUIRES: mu_.
  const Recent* RecentLocked(const std::string& key) const;
  std::map<std::string, Recent> recent_;  // Protected by mu_. By record key.
  // Entries past the TTL answer nothing: they are dropped whenever the map has doubled since
  // the last sweep, so it holds about what one TTL brings in (at most kMaxRecent; a tar of
  // 100,000 small files kept 100,000 attributes and 1000 listings, 25 MB, under a 1 s TTL).
  void SweepRecentLocked();
  static constexpr size_t kMaxRecent = 16384;
  size_t sweep_recent_at_ = 1024;  // Protected by mu_.
  std::set<std::string> reading_ahead_;   // Protected by mu_. Listings queued or in flight.
  std::set<std::string> described_dirs_;  // Protected by mu_. Listings that gave attributes.
  std::set<std::string> renewing_;        // Protected by mu_. Paths with a renewal in flight.
  // The regular files of listed directories in listing order, and how far a reader opening
  // them in that order has got. Protected by mu_.
  struct DirFiles {
    std::vector<std::string> names;
    std::map<std::string, size_t> index;
    size_t last_opened = SIZE_MAX;
    size_t opened_ahead_to = 0;
  };
  std::map<std::string, DirFiles> dir_files_;
  size_t dir_file_names_ = 0;  // Protected by mu_. Names in dir_files_, at most kMaxDirFileNames.
  static constexpr size_t kMaxDirFileNames = 32768;
  std::atomic<bool> closing_{false};      // Queued readahead is dropped, not run.
  // Lists directories and opens files ahead of readers; null without listing readahead.
  std::unique_ptr<util::ThreadPool> ahead_pool_;
};

// Serialisation of attributes and listings for the persistent records (exposed for tests).
std::string EncodeAttr(const origin::Attr& attr);
bool DecodeAttr(const std::string& bytes, origin::Attr* attr);
std::string EncodeListing(const std::vector<origin::DirEntry>& entries);
bool DecodeListing(const std::string& bytes, std::vector<origin::DirEntry>* entries);

}  // namespace netfs
