// SPDX-License-Identifier: MIT
#include "netfs/metadata_cache.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "util/clock.h"
#include "util/log.h"

namespace netfs {

using util::Code;
using util::Status;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PutString(std::string* out, const std::string& s) {
  uint32_t len = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&len), 4);
  out->append(s);
}

bool GetString(const std::string& in, size_t* at, std::string* s) {
  uint32_t len;
  if (*at + 4 > in.size()) return false;
  std::memcpy(&len, in.data() + *at, 4);
  *at += 4;
  if (*at + len > in.size()) return false;
  s->assign(in, *at, len);
  *at += len;
  return true;
}

template <typename T>
void PutPod(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
bool GetPod(const std::string& in, size_t* at, T* value) {
  if (*at + sizeof(T) > in.size()) return false;
  std::memcpy(value, in.data() + *at, sizeof(T));
  *at += sizeof(T);
  return true;
}

// Errors that say nothing about whether the file exists: the origin could not be asked.
bool OriginUnreachable(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kIOError;
}

}  // namespace

std::string EncodeAttr(const origin::Attr& attr) {
  std::string out;
  PutPod<uint8_t>(&out, static_cast<uint8_t>(attr.type));
  PutPod(&out, attr.size);
  PutPod(&out, attr.mode);
  PutPod(&out, attr.mtime_ns);
  PutPod(&out, attr.ctime_ns);
  PutPod(&out, attr.nlink);
  PutString(&out, attr.version);
  PutPod(&out, attr.version_seen_at_s);
  return out;
}

bool DecodeAttr(const std::string& bytes, origin::Attr* attr) {
  size_t at = 0;
  uint8_t type = 0;
  bool ok = GetPod(bytes, &at, &type) && GetPod(bytes, &at, &attr->size) &&
            GetPod(bytes, &at, &attr->mode) && GetPod(bytes, &at, &attr->mtime_ns) &&
            GetPod(bytes, &at, &attr->ctime_ns) && GetPod(bytes, &at, &attr->nlink) &&
            GetString(bytes, &at, &attr->version) && type <= 3;
  attr->version_seen_at_s = 0;
  // Records written before version_seen_at_s existed end here.
  if (ok && at < bytes.size()) ok = GetPod(bytes, &at, &attr->version_seen_at_s);
  attr->type = static_cast<origin::FileType>(type);
  return ok && at == bytes.size();
}

// Listing records: the names and types, and (since kListingWithAttrs) what the listing said of
// each entry, so an offline mount can stat files it never opened.
constexpr uint32_t kListingWithAttrs = 0xFFFFFFFEu;

std::string EncodeListing(const std::vector<origin::DirEntry>& entries) {
  std::string out;
  PutPod<uint32_t>(&out, kListingWithAttrs);
  PutPod<uint32_t>(&out, static_cast<uint32_t>(entries.size()));
  for (const auto& entry : entries) {
    PutPod<uint8_t>(&out, static_cast<uint8_t>(entry.type));
    PutString(&out, entry.name);
    PutString(&out, entry.attr ? EncodeAttr(*entry.attr) : std::string());
    PutPod<int64_t>(&out, entry.mtime_granularity_s);
  }
  return out;
}

bool DecodeListing(const std::string& bytes, std::vector<origin::DirEntry>* entries) {
  size_t at = 0;
  uint32_t count;
  if (!GetPod(bytes, &at, &count)) return false;
  const bool with_attrs = count == kListingWithAttrs;
  if (with_attrs && !GetPod(bytes, &at, &count)) return false;
  entries->clear();
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t type = 0;
    origin::DirEntry entry;
    if (!GetPod(bytes, &at, &type) || type > 3 || !GetString(bytes, &at, &entry.name)) return false;
    entry.type = static_cast<origin::FileType>(type);
    if (with_attrs) {
      std::string attr;
      if (!GetString(bytes, &at, &attr) || !GetPod(bytes, &at, &entry.mtime_granularity_s)) return false;
      if (!attr.empty()) {
        entry.attr.emplace();
        if (!DecodeAttr(attr, &*entry.attr)) return false;
      }
    }
    entries->push_back(std::move(entry));
  }
  return at == bytes.size();
}

MetadataCachingOrigin::MetadataCachingOrigin(origin::Origin* inner, std::string volume_key,
                                             std::shared_ptr<fscache::Volume> volume,
                                             MetadataCacheOptions options)
    : inner_(inner), volume_key_(std::move(volume_key)), volume_(std::move(volume)),
      options_(options) {
  if (options_.listing_readahead > 0 && options_.policy != OriginPolicy::kOffline) {
    ahead_pool_ = std::make_unique<util::ThreadPool>("nc-ahead", 8);
  }
}

MetadataCachingOrigin::~MetadataCachingOrigin() {
  closing_.store(true, std::memory_order_relaxed);
  ahead_pool_.reset();  // Runs what is queued (each returns at once), joins.
}

template <typename T, typename Fetch, typename Encode, typename Decode>
util::Result<T> MetadataCachingOrigin::Cached(const std::string& kind, const std::string& path,
                                              Fetch fetch, Encode encode, Decode decode,
                                              bool use_ttl) {
  const std::string key = kind + ":" + path;
  if (use_ttl && options_.policy != OriginPolicy::kOffline && options_.ttl.count() > 0) {
    std::lock_guard lock(mu_);
    const Recent* recent = RecentLocked(key);
    T cached{};
    if (recent != nullptr && decode(recent->value, &cached)) {
      stats_.hits.fetch_add(1, std::memory_order_relaxed);
      if constexpr (std::is_same_v<T, origin::Attr>) cached.asked_at_ns = recent->asked_at_ns;
      return cached;
    }
  }
  std::optional<fscache::MetadataRecord> stored = volume_->GetMetadata(key);
  T cached{};
  bool have = stored && decode(stored->value, &cached);
  const int64_t now = NowNs();
  const int64_t age = have ? now - stored->stored_at_ns : 0;
  if (options_.policy == OriginPolicy::kOffline) {
    if (have) {
      stats_.hits.fetch_add(1, std::memory_order_relaxed);
      return cached;
    }
    stats_.offline_misses.fetch_add(1, std::memory_order_relaxed);
    // A name the cached listing of its directory shows exists: what is missing is only what the
    // cache holds of it, so the answer is EIO (as for an unreachable origin), not ENOENT.
    if (StoredListingEntry(path)) {
      return Status::Error(Code::kIOError, path + ": listed, but not in the cache (offline)");
    }
    return Status::Error(Code::kNotFound, path + ": not in the cache (offline)");
  }
  if (use_ttl && have && age >= 0 && age < options_.ttl.count()) {
    stats_.hits.fetch_add(1, std::memory_order_relaxed);
    return cached;
  }
  const int64_t asked = util::SteadyNs();
  util::Result<T> fresh = fetch(have ? &cached : nullptr);
  if (fresh.ok()) {
    if constexpr (std::is_same_v<T, origin::Attr>) fresh->asked_at_ns = asked;
    // Answers can finish out of order (a slow request, a renewal): the one asked last stands.
    if (std::optional<std::string> newer = Remember(key, encode(*fresh), stored, asked)) {
      T kept{};
      if (decode(*newer, &kept)) return kept;  // Attr: asked_at_ns left 0, "not known".
    }
    return fresh;
  }
  bool may_serve_stale = options_.policy == OriginPolicy::kStaleIfError && have &&
                         OriginUnreachable(fresh.status()) && age < options_.stale_bound.count();
  if (!may_serve_stale) return fresh;
  stats_.served_stale.fetch_add(1, std::memory_order_relaxed);
  bool first;
  {
    std::lock_guard lock(mu_);
    first = warned_stale_.insert(path).second;
  }
  if (first) {
    NC_LOG_WARN("serving cached %s of %s, %.0f s old: the origin failed (%s)",
                kind == "attr" ? "attributes (and data)" : "listing", path.empty() ? "/" : path.c_str(),
                static_cast<double>(age) / 1e9, fresh.status().ToString().c_str());
  }
  return cached;
}

std::optional<origin::DirEntry> MetadataCachingOrigin::StoredListingEntry(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto [dir, name] = origin::SplitPath(path);
  std::optional<fscache::MetadataRecord> stored = volume_->GetMetadata("dir:" + dir);
  std::vector<origin::DirEntry> entries;
  if (!stored || !DecodeListing(stored->value, &entries)) return std::nullopt;
  for (origin::DirEntry& entry : entries) {
    if (entry.name == name) return std::move(entry);
  }
  return std::nullopt;
}

size_t MetadataCachingOrigin::RecentAnswers() {
  std::lock_guard lock(mu_);
  return recent_.size();
}

void MetadataCachingOrigin::SweepRecentLocked() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(recent_, [&](const auto& entry) {
    return now - entry.second.fetched >= options_.ttl;
  });
  // Still full under a long TTL: start afresh (the records on disk answer meanwhile).
  if (recent_.size() >= kMaxRecent) recent_.clear();
  sweep_recent_at_ = std::max<size_t>(1024, 2 * recent_.size());
}

const MetadataCachingOrigin::Recent* MetadataCachingOrigin::RecentLocked(
    const std::string& key) const {
  auto it = recent_.find(key);
  if (it == recent_.end() || std::chrono::steady_clock::now() - it->second.fetched >= options_.ttl) {
    return nullptr;
  }
  return &it->second;
}

std::optional<std::string> MetadataCachingOrigin::Remember(
    const std::string& key, const std::string& value,
    const std::optional<fscache::MetadataRecord>& stored, int64_t asked_at_ns, bool persist) {
  {
    std::lock_guard lock(mu_);
    if (recent_.size() >= sweep_recent_at_) SweepRecentLocked();
    Recent& recent = recent_[key];
    if (recent.asked_at_ns > asked_at_ns) return recent.value;  // Overtaken by a later question.
    recent = {value, std::chrono::steady_clock::now(), asked_at_ns};
  }
  // Rewrite only what changed, or a record a minute old (its time bounds --stale-if-error and
  // lets a remount skip the origin), so lookups do not each cost a disk write.
  if (!persist) return std::nullopt;
  const int64_t now = NowNs();
  const int64_t refresh_ns = std::max<int64_t>(options_.ttl.count(), 60'000'000'000LL);
  if (!stored || stored->value != value || now - stored->stored_at_ns >= refresh_ns) {
    volume_->PutMetadata(key, {value, now});
  }
  return std::nullopt;
}

namespace {

// Attributes a reader can open by: a regular file's must carry its version.
bool DecodeVersionedAttr(const std::string& bytes, origin::Attr* attr) {
  return DecodeAttr(bytes, attr) && (attr->type != origin::FileType::kRegular || !attr->version.empty());
}

}  // namespace

util::Result<origin::Attr> MetadataCachingOrigin::FetchAttr(const std::string& path,
                                                            const origin::Attr* known,
                                                            bool for_read, bool measure) {
  const int64_t start = util::SteadyNs();
  // A version seen before is checked conditionally: its data is likely in the cache already.
  auto attr = known != nullptr && !known->version.empty() ? inner_->GetAttrSince(path, *known)
              : for_read                                  ? inner_->GetAttrForRead(path)
                                                          : inner_->GetAttr(path);
  if (attr.ok()) attr->asked_at_ns = start;
  if (measure) {
    const int64_t took = util::SteadyNs() - start;
    // A moving average (1/8 weight) of the origin's answer time; races lose a sample.
    int64_t average = attr_latency_ns_.load(std::memory_order_relaxed);
    attr_latency_ns_.store(average + (took - average) / 8, std::memory_order_relaxed);
  }
  return attr;
}

util::Result<origin::Attr> MetadataCachingOrigin::GetAttr(const std::string& path) {
  auto attr = Cached<origin::Attr>(
      "attr", path, [&](const origin::Attr* known) { return FetchAttr(path, known); }, EncodeAttr,
      DecodeVersionedAttr);
  if (!attr.ok() && path.empty() && options_.policy == OriginPolicy::kOffline) {
    origin::Attr root;  // An empty cache still mounts: an empty root directory.
    root.type = origin::FileType::kDirectory;
    root.mode = 0555;
    root.nlink = 2;
    root.version = "dir";
    return root;
  }
  return attr;
}

util::Result<origin::Attr> MetadataCachingOrigin::GetAttrFresh(const std::string& path) {
  return Cached<origin::Attr>(
      "attr", path, [&](const origin::Attr* known) { return FetchAttr(path, known); }, EncodeAttr,
      DecodeVersionedAttr, /*use_ttl=*/false);
}

util::Result<origin::Attr> MetadataCachingOrigin::GetAttrForRead(const std::string& path) {
  auto attr = OpenAttr(path, /*measure=*/true);
  if (attr.ok()) OpenAhead(path);
  return attr;
}

util::Result<origin::Attr> MetadataCachingOrigin::OpenAttr(const std::string& path, bool measure) {
  return Cached<origin::Attr>(
      "attr", path, [&](const origin::Attr* known) { return FetchAttr(path, known, true, measure); },
      EncodeAttr, DecodeVersionedAttr);
}

// A reader opening a directory's files one after another in listing order (tar, cp -r, grep
// -r) will open the next ones next: open them ahead, several at once, so their attributes and
// first bytes (HTTP: one GET each, kept by the origin) are there when it does. On a link with a
// long round trip that turns one round trip per file into a fraction of one.
void MetadataCachingOrigin::OpenAhead(const std::string& path) {
  if (!WorthDoingAhead()) return;
  auto [dir, name] = origin::SplitPath(path);
  std::vector<std::string> ahead;
  {
    std::lock_guard lock(mu_);
    auto files = dir_files_.find(dir);
    if (files == dir_files_.end()) return;
    DirFiles& order = files->second;
    auto at = order.index.find(name);
    if (at == order.index.end()) return;
    const size_t i = at->second;
    const bool in_order = order.last_opened != SIZE_MAX && i == order.last_opened + 1;
    order.last_opened = i;
    if (!in_order) {
      order.opened_ahead_to = i + 1;  // A new pass (tar run again): nothing is ahead of it yet.
      return;
    }
    const size_t end = std::min(order.names.size(), i + 1 + kOpenAhead);
    for (size_t j = std::max(i + 1, order.opened_ahead_to); j < end; ++j) {
      ahead.push_back(origin::JoinPath(dir, order.names[j]));
    }
    order.opened_ahead_to = std::max(order.opened_ahead_to, end);
  }
  for (std::string& next : ahead) {
    ahead_pool_->Submit([this, next = std::move(next)] {
      if (closing_.load(std::memory_order_relaxed)) return;
      if (OpenAttr(next, /*measure=*/false).ok()) {
        stats_.opened_ahead.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
}

util::Result<origin::Attr> MetadataCachingOrigin::GetStatAttr(const std::string& path) {
  auto [dir, name] = origin::SplitPath(path);
  if (!path.empty() && options_.policy != OriginPolicy::kOffline && options_.ttl.count() > 0) {
    // Its directory's listing described it, and that has expired: list the directory again
    // (one request for all its files) rather than ask about this file alone. tar of a
    // directory of many files would otherwise pay a HEAD for each file it reaches after the
    // first attribute timeout.
    bool relist;
    {
      std::lock_guard lock(mu_);
      relist = RecentLocked("attr:" + path) == nullptr && described_dirs_.count(dir) != 0;
    }
    if (relist) (void)ListDir(dir, /*read_ahead=*/false);
  }
  auto attr = Cached<origin::Attr>(
      "attr", path, [&](const origin::Attr* known) { return FetchAttr(path, known); }, EncodeAttr,
      DecodeAttr);
  const bool may_use_listing =
      options_.policy == OriginPolicy::kOffline ||
      (options_.policy == OriginPolicy::kStaleIfError && OriginUnreachable(attr.status()));
  if (attr.ok() || path.empty() || !may_use_listing) return attr;
  // Never opened, so never asked about: what the stored listing of its directory said.
  std::optional<origin::DirEntry> listed = StoredListingEntry(path);
  return listed && listed->attr ? *listed->attr : attr;
}

util::Result<origin::Attr> MetadataCachingOrigin::GetStatAttrInUse(const std::string& path) {
  auto attr = GetStatAttr(path);
  if (attr.ok() && attr->type == origin::FileType::kRegular) RenewAhead(path);
  return attr;
}

// fio reading a cached file through a 20 ms link ran 48-62k IOPS with each expired attribute
// fetched while the reader waited (the kernel checks them on every read: auto_inval_data), 56-62k
// with a timeout too long to expire, and 59-63k with renewals.
void MetadataCachingOrigin::RenewAhead(const std::string& path) {
  if (!WorthDoingAhead() || options_.ttl.count() == 0) return;
  const std::string key = "attr:" + path;
  origin::Attr known;
  {
    std::lock_guard lock(mu_);
    auto recent = recent_.find(key);
    if (recent == recent_.end() ||
        std::chrono::steady_clock::now() - recent->second.fetched < options_.ttl / 4 ||
        !DecodeVersionedAttr(recent->second.value, &known) || !renewing_.insert(path).second) {
      return;
    }
  }
  ahead_pool_->Submit([this, path, key, known] {
    // Only an answer is kept: a failure changes nothing, and the reader's next ask after the
    // timeout meets it (and the --stale-if-error policy) itself.
    if (!closing_.load(std::memory_order_relaxed)) {
      // Not timed: work in the pool also waits for other work there.
      auto fresh = FetchAttr(path, &known, /*for_read=*/false, /*measure=*/false);
      if (fresh.ok()) {
        (void)Remember(key, EncodeAttr(*fresh), volume_->GetMetadata(key), fresh->asked_at_ns);
        stats_.attrs_renewed_ahead.fetch_add(1, std::memory_order_relaxed);
      }
    }
    std::lock_guard lock(mu_);
    renewing_.erase(path);
  });
}

util::Result<std::vector<origin::DirEntry>> MetadataCachingOrigin::ReadDir(const std::string& path) {
  return ListDir(path, /*read_ahead=*/true);
}

util::Result<std::vector<origin::DirEntry>> MetadataCachingOrigin::ListDir(const std::string& path,
                                                                          bool read_ahead) {
  bool fetched = false;
  auto listing = Cached<std::vector<origin::DirEntry>>(
      "dir", path,
      [&](const std::vector<origin::DirEntry>*) {
        const int64_t asked = util::SteadyNs();
        auto entries = inner_->ReadDir(path);
        if (entries.ok()) {
          fetched = true;
          LearnFromListing(path, *entries, asked);
          if (read_ahead) ReadAheadListings(path, *entries);
        }
        return entries;
      },
      EncodeListing, DecodeListing);
  if (listing.ok() && !fetched && ahead_pool_) {
    bool known;
    {
      std::lock_guard lock(mu_);
      known = dir_files_.count(path) != 0;
    }
    if (!known) RememberOrder(path, *listing);  // From the cache: the order is as good.
  }
  return listing;
}

void MetadataCachingOrigin::RememberOrder(const std::string& dir,
                                          const std::vector<origin::DirEntry>& entries) {
  if (!ahead_pool_) return;
  DirFiles files;
  for (const origin::DirEntry& entry : entries) {
    if (entry.type != origin::FileType::kRegular) continue;
    files.index.emplace(entry.name, files.names.size());
    files.names.push_back(entry.name);
  }
  std::lock_guard lock(mu_);
  DirFiles& kept = dir_files_[dir];
  dir_file_names_ -= kept.names.size();
  // Bounded by names, not directories (1000 directories of 100 files held 25 MB): others go
  // first (relisting refills them), so a reader part-way through this one goes on.
  for (auto it = dir_files_.begin();
       it != dir_files_.end() && dir_file_names_ + files.names.size() > kMaxDirFileNames;) {
    if (it->first == dir) {
      ++it;
      continue;
    }
    dir_file_names_ -= it->second.names.size();
    it = dir_files_.erase(it);
  }
  dir_file_names_ += files.names.size();
  files.last_opened = kept.last_opened;
  files.opened_ahead_to = kept.opened_ahead_to;
  kept = std::move(files);
}

// One level only: a listing fetched ahead starts no more of its own, so listing one directory
// never crawls a whole tree.
void MetadataCachingOrigin::ReadAheadListings(const std::string& dir,
                                              const std::vector<origin::DirEntry>& entries) {
  if (!ahead_pool_) return;
  int queued = 0;
  for (const origin::DirEntry& entry : entries) {
    if (queued >= options_.listing_readahead) break;
    if (entry.type != origin::FileType::kDirectory) continue;
    std::string child = origin::JoinPath(dir, entry.name);
    {
      std::lock_guard lock(mu_);
      if (RecentLocked("dir:" + child) != nullptr || !reading_ahead_.insert(child).second) continue;
    }
    ++queued;
    ahead_pool_->Submit([this, child] {
      if (!closing_.load(std::memory_order_relaxed) && ListDir(child, /*read_ahead=*/false).ok()) {
        stats_.listings_read_ahead.fetch_add(1, std::memory_order_relaxed);
      }
      std::lock_guard lock(mu_);
      reading_ahead_.erase(child);
    });
  }
}

// A listing names each child's size and mtime (to its granularity). Where that matches a
// version the origin reported earlier, the listing proves that version still current, so opens
// and lookups need no request of their own; this is what makes a warm `tar` or `ls -lR` cost one
// request per directory. The proof needs the earlier report to be "racy-clean" (as git's index
// is): taken after the mtime's granule ended, so any later change shows as a new mtime. Where
// nothing matches, the listing's attributes still answer stat, without a version.
void MetadataCachingOrigin::LearnFromListing(const std::string& dir,
                                             const std::vector<origin::DirEntry>& entries,
                                             int64_t asked_at_ns) {
  RememberOrder(dir, entries);
  if (options_.ttl.count() <= 0) return;  // Nothing may be trusted past its request.
  bool described = false;
  for (const origin::DirEntry& entry : entries) {
    if (!entry.attr) continue;
    described = true;
    const std::string key = "attr:" + origin::JoinPath(dir, entry.name);
    const origin::Attr& listed = *entry.attr;
    // What only the listing says lives in memory: the listing's own record keeps it on disk,
    // and a file written per entry made `ls -lR` of a cold tree twice as slow.
    if (listed.type != origin::FileType::kRegular) {
      (void)Remember(key, EncodeAttr(listed), std::nullopt, asked_at_ns, /*persist=*/false);
      continue;
    }
    std::optional<fscache::MetadataRecord> stored = volume_->GetMetadata(key);
    origin::Attr known;
    bool versioned = stored && DecodeAttr(stored->value, &known) && !known.version.empty() &&
                     known.type == listed.type;
    const int64_t granule = std::max<int64_t>(1, entry.mtime_granularity_s);
    const int64_t known_mtime_s = known.mtime_ns / 1000000000LL;
    const int64_t listed_mtime_s = listed.mtime_ns / 1000000000LL;
    bool same = versioned && known.size == listed.size &&
                known_mtime_s - known_mtime_s % granule == listed_mtime_s;
    if (same && known.version_seen_at_s >= listed_mtime_s + granule) {
      (void)Remember(key, stored->value, stored, asked_at_ns);  // Still current, as of the listing.
    } else if (!same) {
      (void)Remember(key, EncodeAttr(listed), stored, asked_at_ns, /*persist=*/false);
    }
    // Same size and mtime but reported within the mtime's granule: unproven, so the next
    // lookup asks the origin.
  }
  if (described) {
    std::lock_guard lock(mu_);
    if (described_dirs_.size() > 100000) described_dirs_.clear();  // Bounded.
    described_dirs_.insert(dir);
  }
}

util::Result<std::string> MetadataCachingOrigin::ReadLink(const std::string& path) {
  return Cached<std::string>(
      "link", path, [&](const std::string*) { return inner_->ReadLink(path); },
      [](const std::string& s) { return s; },
      [](const std::string& bytes, std::string* s) {
        *s = bytes;
        return true;
      });
}

util::Result<origin::FsStats> MetadataCachingOrigin::StatFs() {
  if (options_.policy == OriginPolicy::kOffline) return origin::FsStats{};
  auto stats = inner_->StatFs();
  if (!stats.ok() && options_.policy == OriginPolicy::kStaleIfError) return origin::FsStats{};
  return stats;
}

void MetadataCachingOrigin::Read(const std::string& path, const std::string& version, uint64_t pos,
                                 std::vector<origin::IoVec> iov, origin::ReadCompletion done) {
  if (options_.policy == OriginPolicy::kOffline) {
    done(Status::Error(Code::kIOError, path + ": data not in the cache (offline)"), 0);
    return;
  }
  inner_->Read(path, version, pos, std::move(iov), std::move(done));
}

}  // namespace netfs
