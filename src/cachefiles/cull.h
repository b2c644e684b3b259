// SPDX-License-Identifier: MIT
// cull.h — keeps the cache within its limits: the cachefilesd role. Space accounts the
// allocated bytes of the cache directory (blocks, not apparent sizes, so it agrees with du),
// refuses writes past the size limit or below the stop thresholds, and runs a background culler
// that removes the coldest objects first.
//
// Thresholds, as cachefilesd has them, in percent of the cache file system's blocks (b*) and
// files (f*) that are free: culling starts below bcull/fcull, goes on until brun/frun are free
// again, and new cache writes stop below bstop/fstop. With a size limit, writes never pass it;
// culling starts above 95% of it and goes on until usage is under 90%.
//
// Order (scan-resistant, 2Q-like): objects opened only once go before objects opened again,
// least recently used first within each class; so one big sequential scan of new files, each
// opened once, evicts other once-seen files before it can touch the working set. Objects in use
// (open, or with writes in flight) are never culled; culling never blocks readers of other
// objects. Thread safety: all methods may be called from any thread. Lock order: mu_ before
// Object::mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fscache/backend.h"
#include "util/status.h"

namespace cachefiles {

class Object;

struct CullPolicy {
  uint64_t cache_size = 0;  // Bytes; 0: no limit but the file system's.
  double brun = 7, bcull = 5, bstop = 1;
  double frun = 7, fcull = 5, fstop = 1;
  // How many objects may keep their files open at once (up to three descriptors each); 0: an
  // eighth of the process's descriptor limit (see DefaultOpenObjects).
  size_t open_objects = 0;
};

// An eighth of RLIMIT_NOFILE's soft limit, between 16 and 8192: the kernel keeps every inode it
// has seen, and with it our object, so without a bound a tree of 500 files read through a mount
// used up the 1024 descriptors a shell gives by default and further files failed with EIO.
size_t DefaultOpenObjects();

// Empty when the policy makes sense, else what is wrong with it.
std::string CheckPolicy(const CullPolicy& policy);

// What the culler knows of one object on disk.
struct CullCandidate {
  std::string base_path;  // Without ".data"/".meta"; a metadata record's own path.
  uint64_t allocated = 0;
  uint64_t opens = 0;
  int64_t last_access_ns = 0;
  // A record of meta/ (attributes or a listing): one file, refetched from the origin when
  // needed again. It counts as seen once, last used when last rewritten.
  bool record = false;
};

// Sorts coldest first (the order of culling).
void SortForCulling(std::vector<CullCandidate>* candidates);

// How long the culler waits between re-measurements of the whole cache directory, given how
// long the last one took. A re-measurement stats every file (about 2.5 us each here): every 5 s,
// an idle daemon over a cache of 200,000 files spent 10% of a core on it. So the pause is at
// least 100 times the walk (the walk takes at most 1% of a core) and never under 5 s.
int64_t RescanIntervalNs(int64_t last_rescan_ns);

class Space {
 public:
  Space(std::string dir, CullPolicy policy);
  ~Space();  // Stops the culler.
  Space(const Space&) = delete;
  Space& operator=(const Space&) = delete;

  // Measures the cache and starts the background culler.
  void Start();
  // A volume directory whose objects this process may cull (it holds the volume's lock).
  void AddVolumeDir(const std::string& dir);

  // Before a cache write of `bytes`: kNoSpace when over the limit or below bstop/fstop (and the
  // culler is woken).
  util::Status Admit(uint64_t bytes);
  // Before creating new files (an object, a metadata record): kNoSpace below bstop/fstop.
  util::Status AdmitCreate();
  // After allocated bytes changed by `delta` (writes, resets, culls).
  void Charge(int64_t delta);
  void CountObject(int64_t delta) { objects_.fetch_add(static_cast<uint64_t>(delta)); }

  // False if another Object of the same file is registered (netfs keeps one per file, so this
  // is only a safety net): that one stays the culler's view.
  bool Register(const std::string& base_path, Object* object);
  void Unregister(const std::string& base_path, Object* object);

  // One culling pass now, until usage <= target_bytes (and the run thresholds hold). Returns
  // the bytes freed.
  uint64_t CullTo(uint64_t target_bytes);
  // Objects keep their files open while they have any: the count of those, kept within the
  // budget (policy.open_objects) by closing the files of the least recently used idle objects
  // (Object::ParkIfIdle), which reopen them at their next I/O. CountOpen() only counts, so an
  // object may call it under its own lock; TrimOpen() parks, and must be called without it.
  void CountOpen(int delta) {
    open_objects_.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
  }
  void TrimOpen();
  size_t open_objects() const { return open_objects_.load(std::memory_order_relaxed); }

  // Re-measures the directory (corrects drift from files we do not charge for, and counts other
  // daemons' volumes, which share the size limit). Walks every file: see RescanIntervalNs.
  void Rescan();

  fscache::BackendStats Stats();

 private:
  struct FsFree {
    double blocks_pct = 100;
    double files_pct = 100;
  };
  FsFree MeasureFree() const;
  // Re-reads free space (at most every 100 ms) and wakes the culler when it is needed.
  void RefreshFree();
  bool NeedsCull(const FsFree& free) const;
  void Loop() noexcept;
  // Also from volumes no daemon holds: their lock fds are added to `orphan_locks`, to be
  // closed when culling is done.
  std::vector<CullCandidate> Candidates(std::vector<int>* orphan_locks);
  uint64_t CullOne(const CullCandidate& candidate);

  const std::string dir_;
  const CullPolicy policy_;
  const size_t open_budget_;
  std::atomic<size_t> open_objects_{0};
  std::atomic<int64_t> usage_{0};
  std::atomic<uint64_t> objects_{0};
  std::atomic<bool> stopped_below_stop_{false};  // Refreshed by the culler and by Admit().
  std::atomic<int64_t> free_checked_ns_{0};
  std::atomic<uint64_t> culled_objects_{0};
  std::atomic<uint64_t> culled_bytes_{0};
  std::atomic<uint64_t> writes_refused_{0};
  // The largest write refused for the size limit since the last cull: the culler makes room
  // for it, so a cache just under its limit does not refuse writes for ever.
  std::atomic<uint64_t> want_room_{0};

  std::mutex mu_;
  std::map<std::string, Object*> live_;   // Protected by mu_. Open objects by base path.
  std::vector<std::string> volume_dirs_;  // Protected by mu_.

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool kicked_ = false;    // Protected by loop_mu_.
  bool stopping_ = false;  // Protected by loop_mu_.
  std::thread thread_;
};

}  // namespace cachefiles
