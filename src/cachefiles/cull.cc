// SPDX-License-Identifier: MIT
// cull.cc — space accounting and the culler. cachefilesd: cachefilesd.c (build_cull_table,
// cull_objects); kernel: cachefiles_has_space() in fs/cachefiles/daemon.c.
#include "cachefiles/cull.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cachefiles/internal.h"
#include "cachefiles/object.h"
#include "util/clock.h"
#include "util/log.h"

namespace cachefiles {

using util::Code;
using util::Status;

namespace {

using util::SteadyNs;

}  // namespace

std::string CheckPolicy(const CullPolicy& p) {
  auto ordered = [](double run, double cull, double stop) {
    return run > cull && cull > stop && stop >= 0 && run < 100;
  };
  if (!ordered(p.brun, p.bcull, p.bstop)) return "need 100 > brun > bcull > bstop >= 0";
  if (!ordered(p.frun, p.fcull, p.fstop)) return "need 100 > frun > fcull > fstop >= 0";
  return "";
}

void SortForCulling(std::vector<CullCandidate>* candidates) {
  std::stable_sort(candidates->begin(), candidates->end(),
                   [](const CullCandidate& a, const CullCandidate& b) {
                     bool a_once = a.opens <= 1, b_once = b.opens <= 1;
                     if (a_once != b_once) return a_once;  // Seen once: out first.
                     return a.last_access_ns < b.last_access_ns;
                   });
}

int64_t RescanIntervalNs(int64_t last_rescan_ns) {
  constexpr int64_t kMinIntervalNs = 5'000'000'000LL;
  constexpr int64_t kWalkShare = 100;  // The walk takes at most 1/kWalkShare of one core.
  return std::max(kMinIntervalNs, last_rescan_ns * kWalkShare);
}

size_t DefaultOpenObjects() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 8192;
  return std::clamp<size_t>(static_cast<size_t>(limit.rlim_cur) / 8, 16, 8192);
}

Space::Space(std::string dir, CullPolicy policy)
    : dir_(std::move(dir)),
      policy_(policy),
      open_budget_(policy.open_objects != 0 ? policy.open_objects : DefaultOpenObjects()) {}

void Space::TrimOpen() {
  if (open_objects_.load(std::memory_order_relaxed) <= open_budget_) return;
  std::lock_guard lock(mu_);
  size_t open = open_objects_.load(std::memory_order_relaxed);
  if (open <= open_budget_) return;  // Another thread trimmed meanwhile.
  // Down to 7/8 of the budget, so that a stream of new files does not scan live_ for each one.
  size_t excess = open - open_budget_ * 7 / 8;
  std::vector<std::pair<int64_t, Object*>> idle;
  for (auto& [path, object] : live_) {
    if (object->Parkable()) idle.emplace_back(object->FilesUsedNs(), object);
  }
  std::sort(idle.begin(), idle.end());
  for (size_t i = 0; i < idle.size() && excess > 0; ++i) {
    if (idle[i].second->ParkIfIdle()) --excess;
  }
}

Space::~Space() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Space::Start() {
  Rescan();
  thread_ = std::thread([this] { Loop(); });
}

void Space::AddVolumeDir(const std::string& dir) {
  std::lock_guard lock(mu_);
  volume_dirs_.push_back(dir);
}

void Space::Rescan() {
  uint64_t objects = 0;
  uint64_t total = TreeAllocatedBytes(dir_, &objects);
  usage_.store(static_cast<int64_t>(total), std::memory_order_relaxed);
  objects_.store(objects, std::memory_order_relaxed);
}

Space::FsFree Space::MeasureFree() const {
  struct statvfs sv;
  FsFree free;
  if (::statvfs(dir_.c_str(), &sv) != 0) return free;
  if (sv.f_blocks > 0) free.blocks_pct = 100.0 * static_cast<double>(sv.f_bavail) / sv.f_blocks;
  if (sv.f_files > 0) free.files_pct = 100.0 * static_cast<double>(sv.f_favail) / sv.f_files;
  return free;
}

bool Space::NeedsCull(const FsFree& free) const {
  int64_t usage = usage_.load(std::memory_order_relaxed);
  // Start above 95% of the limit (and cull to 90%): waiting until the limit itself is passed
  // would leave a cache just under it refusing every write, since writes may not pass it.
  return (policy_.cache_size != 0 && usage > static_cast<int64_t>(policy_.cache_size / 20 * 19)) ||
         want_room_.load(std::memory_order_relaxed) != 0 ||
         free.blocks_pct < policy_.bcull || free.files_pct < policy_.fcull;
}

Status Space::AdmitCreate() {
  // Measured every time: new files are rare next to writes, and inodes can run out fast.
  FsFree free = MeasureFree();
  bool stop = free.blocks_pct < policy_.bstop || free.files_pct < policy_.fstop;
  stopped_below_stop_.store(stop, std::memory_order_relaxed);
  if (!stop) return Status::Ok();
  {
    std::lock_guard lock(loop_mu_);
    kicked_ = true;
  }
  loop_cv_.notify_all();
  writes_refused_.fetch_add(1, std::memory_order_relaxed);
  return Status::Error(Code::kNoSpace, "the cache's file system is nearly full (below bstop/fstop)");
}

void Space::RefreshFree() {
  // statvfs at most every 100 ms: cheap enough, and the stop margin absorbs the lag.
  int64_t now = SteadyNs();
  if (now - free_checked_ns_.load(std::memory_order_relaxed) > 100'000'000) {
    free_checked_ns_.store(now, std::memory_order_relaxed);
    FsFree free = MeasureFree();
    stopped_below_stop_.store(free.blocks_pct < policy_.bstop || free.files_pct < policy_.fstop,
                              std::memory_order_relaxed);
    if (NeedsCull(free)) {
      std::lock_guard lock(loop_mu_);
      kicked_ = true;
      loop_cv_.notify_all();
    }
  }
}

Status Space::Admit(uint64_t bytes) {
  RefreshFree();
  const char* why = nullptr;
  if (stopped_below_stop_.load(std::memory_order_relaxed)) {
    why = "the cache's file system is nearly full (below bstop/fstop)";
  } else if (policy_.cache_size != 0 &&
             usage_.load(std::memory_order_relaxed) + static_cast<int64_t>(bytes) >
                 static_cast<int64_t>(policy_.cache_size)) {
    why = "the cache is at its size limit";
    uint64_t wanted = want_room_.load(std::memory_order_relaxed);
    while (wanted < bytes && !want_room_.compare_exchange_weak(wanted, bytes)) {
    }
  }
  if (why == nullptr) return Status::Ok();
  writes_refused_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(loop_mu_);
    kicked_ = true;
  }
  loop_cv_.notify_all();
  return Status::Error(Code::kNoSpace, why);
}

void Space::Charge(int64_t delta) { usage_.fetch_add(delta, std::memory_order_relaxed); }

bool Space::Register(const std::string& base_path, Object* object) {
  std::lock_guard lock(mu_);
  return live_.emplace(base_path, object).second;
}

void Space::Unregister(const std::string& base_path, Object* object) {
  std::lock_guard lock(mu_);
  auto it = live_.find(base_path);
  if (it != live_.end() && it->second == object) live_.erase(it);
}

std::vector<CullCandidate> Space::Candidates(std::vector<int>* orphan_locks) {
  std::vector<std::string> dirs;
  {
    std::lock_guard lock(mu_);
    dirs = volume_dirs_;
  }
  // Volumes no daemon holds (their mounts are gone) count against the same quota: their files
  // are culled by whoever needs the room, under their lock so no mount takes them meanwhile.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string volume = entry.path().string();
    if (entry.path().filename().string().rfind("v-", 0) != 0 ||
        std::find(dirs.begin(), dirs.end(), volume) != dirs.end()) {
      continue;
    }
    int fd = OpenNoFollow(volume + "/lock", O_RDWR);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);  // In use by another daemon, which culls it itself.
      continue;
    }
    orphan_locks->push_back(fd);
    dirs.push_back(volume);
  }
  std::vector<CullCandidate> out;
  for (const std::string& volume : dirs) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(volume, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().parent_path().parent_path().filename() == "meta" &&
          it->path().extension().empty() && it->is_regular_file(ec)) {
        struct stat st;
        if (::lstat(it->path().c_str(), &st) != 0) continue;
        CullCandidate record;
        record.base_path = it->path().string();
        record.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
        record.opens = 1;
        record.last_access_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
        record.record = true;
        out.push_back(std::move(record));
        continue;
      }
      if (it->path().extension() != ".data") continue;
      std::string base = it->path().string();
      base.resize(base.size() - 5);
      CullCandidate candidate;
      candidate.base_path = base;
      candidate.allocated = AllocatedBytes(base + ".data") + AllocatedBytes(base + ".meta");
      AccessRecord access = ReadAccessRecord(base);
      if (access.pinned) continue;  // Pinned data is never culled.
      candidate.opens = access.opens;
      candidate.last_access_ns = access.last_access_ns;
      out.push_back(std::move(candidate));
    }
  }
  // Live objects know better than their files.
  std::lock_guard lock(mu_);
  for (CullCandidate& candidate : out) {
    auto live = live_.find(candidate.base_path);
    if (live == live_.end()) continue;
    AccessRecord access = live->second->Access();
    candidate.opens = access.opens;
    candidate.last_access_ns = access.last_access_ns;
  }
  SortForCulling(&out);
  return out;
}

uint64_t Space::CullOne(const CullCandidate& candidate) {
  if (candidate.record) {
    // One unlink: a reader that has it open keeps what it reads, a torn read fails the
    // record's checksum and counts as absent, and a later write simply creates it again.
    uint64_t size = AllocatedBytes(candidate.base_path);
    if (UnlinkNoFollow(candidate.base_path) != 0) return 0;
    Charge(-static_cast<int64_t>(size));
    return size;
  }
  std::lock_guard lock(mu_);
  auto live = live_.find(candidate.base_path);
  if (live != live_.end()) {
    // Open or busy objects stay; an idle live object is emptied in place, under its own lock,
    // so its in-memory map and the files agree.
    return live->second->CullIfIdle();
  }
  uint64_t freed = 0;
  for (const char* suffix : {".data", ".meta"}) {
    std::string path = candidate.base_path + suffix;
    uint64_t size = AllocatedBytes(path);
    if (UnlinkNoFollow(path) == 0) freed += size;
  }
  Charge(-static_cast<int64_t>(freed));
  if (freed > 0) objects_.fetch_sub(std::min<uint64_t>(1, objects_.load()), std::memory_order_relaxed);
  return freed;
}

uint64_t Space::CullTo(uint64_t target_bytes) {
  uint64_t freed_total = 0;
  auto satisfied = [&] {
    FsFree free = MeasureFree();
    return usage_.load(std::memory_order_relaxed) <= static_cast<int64_t>(target_bytes) &&
           free.blocks_pct >= policy_.brun && free.files_pct >= policy_.frun;
  };
  if (satisfied()) return 0;
  std::vector<int> orphan_locks;
  for (const CullCandidate& candidate : Candidates(&orphan_locks)) {
    uint64_t freed = CullOne(candidate);
    if (freed == 0) continue;
    freed_total += freed;
    culled_objects_.fetch_add(1, std::memory_order_relaxed);
    culled_bytes_.fetch_add(freed, std::memory_order_relaxed);
    if (satisfied()) break;
  }
  for (int fd : orphan_locks) ::close(fd);
  if (freed_total > 0) {
    NC_LOG_INFO("culled %llu bytes from the cache %s", static_cast<unsigned long long>(freed_total),
                dir_.c_str());
  }
  return freed_total;
}

void Space::Loop() noexcept {
  int64_t last_rescan = SteadyNs();
  int64_t rescan_interval = RescanIntervalNs(0);
  for (;;) {
    {
      std::unique_lock lock(loop_mu_);
      loop_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return kicked_ || stopping_; });
      if (stopping_) return;
      kicked_ = false;
    }
    // Other daemons may write to the same directory: re-measure it now and then, so the quota
    // is one for all of them.
    if (SteadyNs() - last_rescan > rescan_interval) {
      int64_t start = SteadyNs();
      Rescan();
      last_rescan = SteadyNs();
      rescan_interval = RescanIntervalNs(last_rescan - start);
    }
    FsFree free = MeasureFree();
    stopped_below_stop_.store(free.blocks_pct < policy_.bstop || free.files_pct < policy_.fstop,
                              std::memory_order_relaxed);
    if (!NeedsCull(free)) continue;
    uint64_t target = UINT64_MAX;
    if (policy_.cache_size != 0) {
      uint64_t room = std::min(want_room_.exchange(0), policy_.cache_size);
      target = std::min(policy_.cache_size / 10 * 9, policy_.cache_size - room);
    }
    CullTo(target);
  }
}

fscache::BackendStats Space::Stats() {
  fscache::BackendStats stats;
  int64_t usage = usage_.load(std::memory_order_relaxed);
  stats.bytes_used = usage > 0 ? static_cast<uint64_t>(usage) : 0;
  stats.objects = objects_.load(std::memory_order_relaxed);
  stats.size_limit = policy_.cache_size;
  stats.culled_objects = culled_objects_.load(std::memory_order_relaxed);
  stats.culled_bytes = culled_bytes_.load(std::memory_order_relaxed);
  stats.writes_refused = writes_refused_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace cachefiles
