// SPDX-License-Identifier: MIT
// objects.cc — the mount context and inodes: creation, revalidation, in-flight accounting.
// Kernel: fs/netfs/objects.c, netfs_inode_init(), fscache_invalidate() callers.
#include <fnmatch.h>

#include <algorithm>

#include "netfs/internal.h"
#include "util/log.h"

namespace netfs {

void Stats::RecordOriginLatency(double seconds) {
  size_t bucket = 0;
  while (bucket < kLatencyBounds.size() && seconds > kLatencyBounds[bucket]) ++bucket;
  origin_latency[bucket].fetch_add(1, std::memory_order_relaxed);
  origin_latency_sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

bool AdmissionRules::Admits(const std::string& path, uint64_t size) const {
  if (size < min_size || (max_size != 0 && size > max_size)) return false;
  // No FNM_PATHNAME: "*.iso" matches at any depth, as users expect.
  auto matches = [&path](const std::string& glob) { return ::fnmatch(glob.c_str(), path.c_str(), 0) == 0; };
  if (!include.empty() && std::none_of(include.begin(), include.end(), matches)) return false;
  return std::none_of(exclude.begin(), exclude.end(), matches);
}

Netfs::Netfs(origin::Origin* origin, folio::FolioPool* pool,
             std::shared_ptr<fscache::Volume> volume, Options options)
    : origin_(origin), pool_(pool), volume_(std::move(volume)), options_(options) {}

Netfs::~Netfs() {
  stopping_ = true;  // Background fetches stop at their next step.
  prefetch_pool_.Drain();
  WaitIdle();
}

std::shared_ptr<Inode> Netfs::GetInode(const std::string& path, const origin::Attr& attr) {
  std::shared_ptr<Inode> inode;
  {
    std::lock_guard lock(inodes_mu_);
    std::weak_ptr<Inode>& slot = inodes_[path];
    inode = slot.lock();
    if (!inode) {
      inode = std::make_shared<Inode>(this, path, attr);
      slot = inode;
      // Drop entries of inodes that died meanwhile whenever the map has doubled, so it stays
      // proportional to the live inodes at amortised O(1) per insertion.
      if (inodes_.size() >= prune_at_) {
        std::erase_if(inodes_, [](auto& e) { return e.second.expired(); });
        prune_at_ = std::max<size_t>(1024, 2 * inodes_.size());
      }
      return inode;
    }
  }
  inode->Revalidate(attr);
  return inode;
}

void Netfs::WaitIdle() {
  std::unique_lock lock(idle_mu_);
  idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
}

IoToken::IoToken(Netfs* netfs) : netfs_(netfs) {
  std::lock_guard lock(netfs_->idle_mu_);
  ++netfs_->in_flight_;
}

IoToken::~IoToken() {
  std::lock_guard lock(netfs_->idle_mu_);
  NC_CHECK(netfs_->in_flight_ > 0);
  if (--netfs_->in_flight_ == 0) netfs_->idle_cv_.notify_all();
}

ReadRequest::ReadRequest(std::shared_ptr<Inode> owner)
    : token(Io::NetfsOf(*owner)), inode(std::move(owner)) {}

size_t Netfs::LiveInodes() {
  std::lock_guard lock(inodes_mu_);
  return static_cast<size_t>(
      std::count_if(inodes_.begin(), inodes_.end(), [](auto& e) { return !e.second.expired(); }));
}

Netfs::RevalidateResult Netfs::RevalidateAll(std::chrono::nanoseconds older_than) {
  std::vector<std::shared_ptr<Inode>> live;
  {
    std::lock_guard lock(inodes_mu_);
    for (auto& [path, weak] : inodes_) {
      if (auto inode = weak.lock()) live.push_back(std::move(inode));
    }
  }
  RevalidateResult result;
  const auto cutoff = std::chrono::steady_clock::now() - older_than;
  for (const auto& inode : live) {
    if (inode->ValidatedAt() > cutoff) continue;
    ++result.checked;
    auto fresh = origin_->GetAttrFresh(inode->path());
    if (!fresh.ok()) {
      ++result.failed;
      continue;
    }
    if (inode->Revalidate(*fresh)) ++result.changed;
  }
  return result;
}

Inode::Inode(Netfs* netfs, std::string path, const origin::Attr& attr)
    : netfs_(netfs), path_(std::move(path)), attr_(attr), attr_asked_at_ns_(attr.asked_at_ns),
      validated_at_(std::chrono::steady_clock::now()), mapping_(netfs->pool_) {
  if (netfs->volume_ && netfs->options_.admission.Admits(path_, attr.size)) {
    cookie_ = netfs->volume_->AcquireCookie(path_, attr.version, attr.size);
  }
}

Inode::~Inode() = default;

origin::Attr Inode::attr() const {
  std::lock_guard lock(mu_);
  return attr_;
}

uint64_t Inode::Generation() const {
  std::lock_guard lock(mu_);
  return version_generation_;
}

Inode::Pin Inode::CurrentVersion() const {
  std::lock_guard lock(mu_);
  return {attr_, version_generation_};
}

Inode::Snapshot Inode::TakeSnapshot() {
  std::unique_lock lock(mu_);
  // A reader must not start while old folios may still be in the mapping.
  invalidated_cv_.wait(lock, [this] { return invalidating_ == 0; });
  return {attr_, generation_, version_generation_};
}

bool Inode::SameGeneration(uint64_t generation) {
  std::lock_guard lock(mu_);
  return generation == generation_ && invalidating_ == 0;
}

std::chrono::steady_clock::time_point Inode::ValidatedAt() const {
  std::lock_guard lock(mu_);
  return validated_at_;
}

bool Inode::Revalidate(const origin::Attr& fresh) {
  {
    std::lock_guard lock(mu_);
    if (fresh.asked_at_ns != 0 && fresh.asked_at_ns < attr_asked_at_ns_) {
      return false;  // Overtaken: a later question has been answered already.
    }
    attr_asked_at_ns_ = std::max(attr_asked_at_ns_, fresh.asked_at_ns);
    validated_at_ = std::chrono::steady_clock::now();
    bool changed = fresh.version != attr_.version;
    attr_ = fresh;
    if (!changed) {
      netfs_->stats_.revalidations_unchanged.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++generation_;
    ++version_generation_;
    ++invalidating_;
  }
  NC_LOG_INFO("%s changed on the origin; dropping cached data", path_.c_str());
  InvalidateData(fresh);
  return true;
}

void Inode::DropCache() {
  origin::Attr current;
  {
    std::lock_guard lock(mu_);
    ++generation_;
    ++invalidating_;
    current = attr_;
  }
  InvalidateData(current);
}

void Inode::InvalidateData(const origin::Attr& attr) {
  netfs_->stats_.invalidations.fetch_add(1, std::memory_order_relaxed);
  // Rule 5: waits for reads filling folios and for copies to the cache in flight.
  mapping_.Invalidate();
  if (cookie_) cookie_->Invalidate(attr.version, attr.size);
  {
    std::lock_guard lock(mu_);
    --invalidating_;
  }
  invalidated_cv_.notify_all();
}

}  // namespace netfs
