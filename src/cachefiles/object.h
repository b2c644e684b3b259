// SPDX-License-Identifier: MIT
// object.h — one cached remote file: a sparse data file at the file's own offsets and its
// metadata journal. Kernel: fs/cachefiles/interface.c and io.c.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "cachefiles/metadata.h"
#include "fscache/backend.h"

namespace cachefiles {

class Space;

// The access record of an object that is not open, read from its metadata file (opens = 1 and
// the file's mtime when it has none).
AccessRecord ReadAccessRecord(const std::string& base_path);

class Object final : public fscache::BackendObject {
 public:
  // Opens or creates the files at `base_path` + ".data"/".meta"; stored data is kept only when
  // key, aux, size and granule size all match and its journal decodes. `space` is borrowed and
  // accounts for the object's allocated bytes.
  static util::Result<std::unique_ptr<Object>> Open(const std::string& base_path,
                                                    const MetadataHeader& wanted, Space* space);
  ~Object() override;

  uint64_t granule_size() const override { return header_.granule_size; }
  fscache::Occupancy Query(uint64_t pos, uint64_t max_len) override;
  util::Status ReadV(uint64_t pos, const std::vector<std::span<std::byte>>& pieces) override;
  util::Status WriteV(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                      fscache::WriteHint hint = fscache::WriteHint::kStreamed) override;
  util::Status Invalidate(const std::string& aux, uint64_t object_size) override;
  util::Status Resize(uint64_t object_size) override;
  fscache::ObjectUsage Usage() override;
  void Use() override;
  void Unuse() override;
  std::vector<std::pair<uint64_t, uint64_t>> CachedRanges() override;
  void SetPinned(bool pinned) override;
  bool pinned() const override { return pinned_.load(std::memory_order_relaxed); }

  // For the culler. CullIfIdle() retires the object unless it is in use or pinned: its files are
  // removed (freeing blocks and inodes) and recreated by the next write. Returns bytes freed.
  AccessRecord Access() const;
  uint64_t CullIfIdle();

  // For Space's descriptor budget. ParkIfIdle() closes the files of an object no file handle
  // uses and no I/O holds (it never waits for one), keeping them on disk; the next I/O reopens
  // them. Parkable() is a hint, read without the lock.
  bool Parkable() const {
    return ready_.load(std::memory_order_acquire) && uses_.load(std::memory_order_relaxed) == 0 &&
           files_open_.load(std::memory_order_relaxed);
  }
  int64_t FilesUsedNs() const { return files_used_ns_.load(std::memory_order_relaxed); }
  bool ParkIfIdle();

  // True when Open() found usable data from an earlier run.
  bool reused() const { return reused_; }

 private:
  Object(std::string base_path, MetadataHeader header, Space* space)
      : base_path_(std::move(base_path)), space_(space), header_(std::move(header)) {}
  // Empties the data file (sized again if large) and rewrites the metadata file with no
  // granules. REQUIRES: mu_ exclusive.
  util::Status Reset();
  // Rewrites the metadata file in place: header_, the records of granules_ and the access
  // record (a torn rewrite fails its checksums). REQUIRES: mu_ exclusive.
  util::Status RewriteMetadata();
  uint64_t GranuleLen(uint64_t index) const;
  // Re-measures the files' allocated bytes and charges the change to space_. REQUIRES: mu_
  // exclusive, or shared with records_mu_.
  void Recharge();
  void AppendAccessRecord();
  // Recreates the files of a retired object. REQUIRES: mu_ exclusive.
  util::Status Revive();
  // Closes the files and forgets the granules (culled, or found gone). REQUIRES: mu_ exclusive.
  void Retire();
  // Reopens a parked object's files; if they are gone, retires it. REQUIRES: mu_ exclusive.
  util::Status Unpark();
  // mu_ shared, with the files open unless the object is retired (a parked object is reopened
  // first). On failure to reopen, returns no lock and sets *status.
  std::shared_lock<std::shared_mutex> LockShared(util::Status* status);
  // The files were opened (Open, Unpark, Revive) or closed: counted in space_.
  void SetFilesOpen(bool open);
  // Opens direct_fd_ on the data file if not open and the object is large enough for direct
  // reads; leaves it -1 where the filesystem refuses. REQUIRES: mu_ or not yet shared.
  void OpenDirect();
  // Writes the leading aligned `pieces` at `pos` through direct_fd_, advancing *at; *next is
  // the first piece left for a buffered write. REQUIRES: mu_ held (shared), direct_fd_ open.
  util::Status WriteDirect(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                           size_t* next, uint64_t* at);
  void CloseData();
  // Extends a large object's data file to the object's size (sparse). REQUIRES: mu_ exclusive.
  void SizeDataFile();

  const std::string base_path_;
  Space* const space_;
  // Shared by reads, lookups and writes (any number at once), exclusive for what changes the
  // files or the object's size and version; held across the I/O so the culler cannot close the
  // files under it.
  mutable std::shared_mutex mu_;
  // Under mu_ shared: the granule records, appends to the journal (granule and access
  // records) and the space charged (a holder of mu_ exclusive needs no more). Never held across
  // data I/O.
  std::mutex records_mu_;
  MetadataHeader header_;                          // Protected by mu_.
  std::map<uint64_t, GranuleRecord> granules_;     // Protected by mu_ and records_mu_.
  uint64_t bytes_present_ = 0;                     // Protected by mu_ and records_mu_.
  uint64_t allocated_ = 0;  // Protected by mu_ and records_mu_. Charged to space_.
  int data_fd_ = -1;
  // Reads of at least this much (a stream's readahead) go O_DIRECT; smaller ones (random
  // access) stay buffered, so the kernel's readahead and page cache serve their neighbours.
  static constexpr uint64_t kDirectMin = 1024 * 1024;
  static constexpr uint64_t kDirectAlign = 4096;  // Any device's logical block size divides it.
  // The data file again, O_DIRECT, for aligned reads and writes; -1 where the filesystem
  // refuses it.
  int direct_fd_ = -1;
  std::atomic<bool> direct_refused_{false};  // Direct I/O failed with EINVAL: stop trying.
  int meta_fd_ = -1;  // O_APPEND; replaced by RewriteMetadata(). Protected by mu_.
  bool reused_ = false;
  bool retired_ = false;  // Protected by mu_. Files removed by the culler; fds closed.
  bool parked_ = false;   // Protected by mu_. Files kept, fds closed for the descriptor budget.
  std::atomic<bool> files_open_{false};  // Written under mu_ exclusive (or before sharing).
  std::atomic<int64_t> files_used_ns_{0};  // Steady clock: the descriptor budget's LRU.
  uint64_t resets_ = 0;   // Protected by mu_. Counts Reset(), so a late verdict hits no newer data.
  std::atomic<int> uses_{0};
  std::atomic<uint64_t> opens_{0};
  std::atomic<int64_t> last_access_ns_{0};
  std::atomic<bool> pinned_{false};
  std::atomic<bool> ready_{false};  // Set once Open() is done with the files.
};

}  // namespace cachefiles
