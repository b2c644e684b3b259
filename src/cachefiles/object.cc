// SPDX-License-Identifier: MIT
// object.cc — reading, writing and verifying one cache object.
//
// Write order is what makes a crash harmless: data first, then the granule's record (with the
// data's checksum) appended to the journal. A kill -9 between the two leaves data without a
// record (not served); a torn record fails its own checksum (journal cut there); data torn or
// altered after its record fails the data checksum on read (object discarded, bytes refetched).
#include "cachefiles/object.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <vector>

#include <xxhash.h>

#include "cachefiles/cull.h"
#include "cachefiles/internal.h"
#include "util/clock.h"
#include "util/log.h"

namespace cachefiles {

using util::Code;
using util::Status;

namespace {

int64_t RealtimeNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using util::SteadyNs;

// Consumes `n` bytes of a partly done preadv/pwritev from iov[first...]; the new first entry.
size_t Advance(std::vector<struct iovec>& iov, size_t first, uint64_t n) {
  while (n > 0 && first < iov.size()) {
    uint64_t step = std::min<uint64_t>(n, iov[first].iov_len);
    iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + step;
    iov[first].iov_len -= step;
    n -= step;
    if (iov[first].iov_len == 0) ++first;
  }
  return first;
}

uint64_t AllocatedOf(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

}  // namespace

AccessRecord ReadAccessRecord(const std::string& base_path) {
  AccessRecord access{1, 0};
  struct stat st;
  if (StatNoFollow(base_path + ".meta", &st) != 0) return access;
  access.last_access_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  auto bytes = ReadWholeFile(base_path + ".meta");
  if (bytes.ok()) {
    DecodedMetadata decoded = DecodeMetadata(*bytes);
    if (decoded.access.opens > 0) access = decoded.access;
  }
  return access;
}

util::Result<std::unique_ptr<Object>> Object::Open(const std::string& base_path,
                                                   const MetadataHeader& wanted, Space* space) {
  std::unique_ptr<Object> object(new Object(base_path, wanted, space));
  // Registered before any file is looked at: the culler removes only the files of objects that
  // are not registered, so it cannot pull files from under this open. (It also leaves objects
  // alone until they are ready.)
  if (space != nullptr) space->Register(base_path, object.get());
  struct stat existing;
  const bool existed = StatNoFollow(base_path + ".data", &existing) == 0;
  uint64_t allocated_before = 0;
  if (existed) {
    struct stat meta;
    allocated_before = static_cast<uint64_t>(existing.st_blocks) * 512;
    if (StatNoFollow(base_path + ".meta", &meta) == 0) {
      allocated_before += static_cast<uint64_t>(meta.st_blocks) * 512;
    }
  }
  object->allocated_ = allocated_before;
  object->data_fd_ = OpenNoFollow(base_path + ".data", O_RDWR | O_CREAT, 0600);
  if (object->data_fd_ < 0) return Status::FromErrno(errno, "open " + base_path + ".data");
  object->OpenDirect();
  object->meta_fd_ =
      OpenNoFollow(base_path + ".meta", O_RDWR | O_CREAT | O_APPEND, 0600);
  if (object->meta_fd_ < 0) return Status::FromErrno(errno, "open " + base_path + ".meta");
  object->SetFilesOpen(true);
  auto bytes = ReadWholeFile(object->meta_fd_);
  if (!bytes.ok()) return bytes.status();
  DecodedMetadata decoded = DecodeMetadata(*bytes);
  bool matches = decoded.header_ok && decoded.header.key == wanted.key &&
                 decoded.header.aux == wanted.aux &&
                 decoded.header.object_size == wanted.object_size &&
                 decoded.header.granule_size == wanted.granule_size;
  object->opens_ = decoded.access.opens;
  object->pinned_ = decoded.access.pinned;
  object->last_access_ns_ = decoded.access.last_access_ns;
  if (space != nullptr && !existed) space->CountObject(1);
  if (!matches) {
    Status status = object->Reset();
    if (!status.ok()) return status;
    {
      std::lock_guard lock(object->mu_);
      object->Recharge();
      object->ready_ = true;
    }
    if (space != nullptr) space->TrimOpen();
    return object;
  }
  if (decoded.bad_records != 0) {
    // A torn tail from a crash mid-append: cut it so new records follow good ones.
    if (::ftruncate(object->meta_fd_, static_cast<off_t>(decoded.valid_len)) != 0) {
      return Status::FromErrno(errno, "truncate " + base_path + ".meta");
    }
  }
  for (auto& [index, record] : decoded.granules) {
    if (record.len != object->GranuleLen(index)) continue;  // Not a granule of this size.
    object->granules_[index] = record;
    object->bytes_present_ += record.len;
  }
  object->reused_ = !object->granules_.empty();
  {
    std::lock_guard lock(object->mu_);
    if (decoded.records > 2 * object->granules_.size() + 64) {
      Status status = object->RewriteMetadata();  // Compact a journal grown by access records.
      if (!status.ok()) return status;
    }
    object->Recharge();
    object->ready_ = true;
  }
  if (space != nullptr) space->TrimOpen();
  return object;
}

Object::~Object() {
  // Unregister first: the culler may be working on us until then.
  if (space_ != nullptr) space_->Unregister(base_path_, this);
  CloseData();
  if (meta_fd_ >= 0) ::close(meta_fd_);
  SetFilesOpen(false);
}

void Object::SetFilesOpen(bool open) {
  if (open) files_used_ns_.store(SteadyNs(), std::memory_order_relaxed);
  if (files_open_.exchange(open, std::memory_order_relaxed) != open && space_ != nullptr) {
    space_->CountOpen(open ? 1 : -1);
  }
}

std::shared_lock<std::shared_mutex> Object::LockShared(Status* status) {
  for (;;) {
    std::shared_lock shared(mu_);
    if (!parked_) {
      files_used_ns_.store(SteadyNs(), std::memory_order_relaxed);
      return shared;
    }
    shared.unlock();
    {
      std::lock_guard lock(mu_);
      if (parked_) {
        *status = Unpark();
        if (!status->ok()) return {};
      }
    }
    // Without our lock (Space's comes first); it parks the least recently used, not us.
    if (space_ != nullptr) space_->TrimOpen();
  }
}

bool Object::ParkIfIdle() {
  if (!Parkable()) return false;
  // Never waits: an object whose lock is held has I/O under way, and is not idle.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || uses_.load(std::memory_order_relaxed) > 0 || parked_ || retired_) {
    return false;
  }
  CloseData();
  ::close(meta_fd_);
  meta_fd_ = -1;
  parked_ = true;
  SetFilesOpen(false);
  return true;
}

Status Object::Unpark() {
  // Not created again: files gone since (removed by hand, say) mean no data, as after a cull.
  data_fd_ = OpenNoFollow(base_path_ + ".data", O_RDWR);
  if (data_fd_ >= 0) {
    meta_fd_ = OpenNoFollow(base_path_ + ".meta", O_RDWR | O_APPEND);
  }
  if (data_fd_ < 0 || meta_fd_ < 0) {
    int err = errno;
    CloseData();
    if (meta_fd_ >= 0) ::close(meta_fd_);
    meta_fd_ = -1;
    if (err != ENOENT) return Status::FromErrno(err, "reopen " + base_path_);
    parked_ = false;
    Retire();
    return Status::Ok();
  }
  OpenDirect();
  parked_ = false;
  SetFilesOpen(true);
  return Status::Ok();
}

// Cache hits are read O_DIRECT into the folios, as the kernel's cachefiles reads (IOCB_DIRECT).
// Read buffered, every byte would also be copied into page cache of the cache file, memory the
// kernel must find, fill and later evict, while the reader's own page cache already keeps what
// is read again. A/B on a 1 GiB warm read here:
// 1.1-1.2 GB/s and 0.4-0.6 s daemon CPU direct, 0.8-1.0 GB/s and 1.1-1.6 s buffered. Our own
// readahead (netfs's window, several subrequests at once) replaces the kernel's. Small reads
// (random access, one folio) stay buffered: direct, each went to the disk, and random 4 KiB
// reads fell to half their rate. Writes of such objects go direct too (WriteDirect()).
void Object::OpenDirect() {
  // A smaller object never gets a direct read: its file is not opened a second time (one open
  // more per cached small file would be all it cost).
  if (direct_fd_ >= 0 || header_.object_size < kDirectMin) return;
  direct_fd_ = OpenNoFollow(base_path_ + ".data", O_RDWR | O_DIRECT);
}

void Object::CloseData() {
  if (data_fd_ >= 0) ::close(data_fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
  data_fd_ = direct_fd_ = -1;
}

void Object::Recharge() {
  uint64_t now = AllocatedOf(data_fd_) + AllocatedOf(meta_fd_);
  if (space_ != nullptr) space_->Charge(static_cast<int64_t>(now) - static_cast<int64_t>(allocated_));
  allocated_ = now;
}

void Object::Use() {
  uses_.fetch_add(1, std::memory_order_relaxed);
  opens_.fetch_add(1, std::memory_order_relaxed);
  last_access_ns_.store(RealtimeNs(), std::memory_order_relaxed);
}

void Object::Unuse() {
  if (uses_.fetch_sub(1, std::memory_order_relaxed) == 1) AppendAccessRecord();
}

void Object::AppendAccessRecord() {
  // Shared, like a write's records: a file closed while its cache writes still run would wait
  // for a moment with none of them in flight.
  Status opened;
  std::shared_lock lock = LockShared(&opened);
  if (!lock.owns_lock()) {
    NC_LOG_DEBUG("access record not kept: %s", opened.ToString().c_str());
    return;
  }
  std::lock_guard records(records_mu_);
  if (retired_) return;
  std::string record = EncodeAccess(Access());
  Status status = WriteAll(meta_fd_, record.data(), record.size(), -1, "write " + base_path_ + ".meta");
  if (!status.ok()) NC_LOG_DEBUG("access record not kept: %s", status.ToString().c_str());
}

AccessRecord Object::Access() const {
  return {std::max<uint64_t>(opens_.load(std::memory_order_relaxed), 1),
          last_access_ns_.load(std::memory_order_relaxed), pinned_.load(std::memory_order_relaxed)};
}

void Object::SetPinned(bool pinned) {
  if (pinned_.exchange(pinned) != pinned) AppendAccessRecord();  // Persist it now.
}

std::vector<std::pair<uint64_t, uint64_t>> Object::CachedRanges() {
  std::shared_lock lock(mu_);
  std::lock_guard records(records_mu_);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& [index, record] : granules_) {
    uint64_t start = index * header_.granule_size;
    if (!ranges.empty() && ranges.back().second == start) {
      ranges.back().second += record.len;
    } else {
      ranges.emplace_back(start, start + record.len);
    }
  }
  return ranges;
}

uint64_t Object::CullIfIdle() {
  if (!ready_.load(std::memory_order_acquire)) return 0;  // Still being opened.
  if (uses_.load(std::memory_order_relaxed) > 0 || pinned()) return 0;
  std::lock_guard lock(mu_);
  if (uses_.load(std::memory_order_relaxed) > 0 || retired_) return 0;
  uint64_t freed = allocated_;
  for (const char* suffix : {".data", ".meta"}) UnlinkNoFollow(base_path_ + suffix);
  parked_ = false;
  Retire();
  return freed;
}

void Object::Retire() {
  CloseData();
  if (meta_fd_ >= 0) ::close(meta_fd_);
  meta_fd_ = -1;
  SetFilesOpen(false);
  granules_.clear();
  bytes_present_ = 0;
  retired_ = true;
  if (space_ != nullptr) {
    space_->Charge(-static_cast<int64_t>(allocated_));
    space_->CountObject(-1);
  }
  allocated_ = 0;
}

Status Object::Revive() {
  data_fd_ = OpenNoFollow(base_path_ + ".data", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (data_fd_ < 0) return Status::FromErrno(errno, "open " + base_path_ + ".data");
  SizeDataFile();
  OpenDirect();
  Status status = RewriteMetadata();  // Opens meta_fd_.
  if (!status.ok()) return status;
  retired_ = false;
  SetFilesOpen(true);
  if (space_ != nullptr) space_->CountObject(1);
  Recharge();
  return Status::Ok();
}

uint64_t Object::GranuleLen(uint64_t index) const {
  uint64_t start = index * header_.granule_size;
  if (start >= header_.object_size) return 0;
  return std::min(header_.granule_size, header_.object_size - start);
}

Status Object::Reset() {
  ++resets_;
  granules_.clear();
  bytes_present_ = 0;
  if (::ftruncate(data_fd_, 0) != 0) return Status::FromErrno(errno, "truncate " + base_path_);
  SizeDataFile();
  return RewriteMetadata();
}

// A large object's data file is given its full size up front (a hole; no blocks yet). ext4
// runs a direct write that moves the end of the file alone and waits for it, so the cache
// writes of a stream, each just past the previous one, went to the disk one at a time. Only a
// speed-up: where the filesystem refuses the size (EFBIG on FAT, say), writes extend the file.
void Object::SizeDataFile() {
  if (header_.object_size < kDirectMin) return;
  if (::ftruncate(data_fd_, static_cast<off_t>(header_.object_size)) != 0) {
    NC_LOG_DEBUG("cannot size %s.data to %llu: %s", base_path_.c_str(),
                 static_cast<unsigned long long>(header_.object_size), std::strerror(errno));
  }
}

// In place, not through a renamed temporary: the header and every record carry a checksum, so
// a crash mid-rewrite leaves a file that fails them (the object is reset, or its journal cut)
// and never vouches for wrong data. A temporary would cost every new object an extra inode
// created and one deleted, and ext4 allocates new inodes slowly while many were just deleted
// (it skips them): caching thousands of small files ran at a fraction of the speed.
Status Object::RewriteMetadata() {
  const std::string path = base_path_ + ".meta";
  if (meta_fd_ < 0) {
    meta_fd_ = OpenNoFollow(path, O_RDWR | O_CREAT | O_APPEND, 0600);
    if (meta_fd_ < 0) return Status::FromErrno(errno, "open " + path);
  }
  std::string bytes = EncodeHeader(header_);
  for (auto& [index, record] : granules_) bytes += EncodeRecord(record);
  if (opens_.load(std::memory_order_relaxed) > 0) bytes += EncodeAccess(Access());
  if (::ftruncate(meta_fd_, 0) != 0) return Status::FromErrno(errno, "truncate " + path);
  return WriteAll(meta_fd_, bytes.data(), bytes.size(), -1, "write " + path);  // O_APPEND: at 0.
}

fscache::Occupancy Object::Query(uint64_t pos, uint64_t max_len) {
  std::shared_lock lock(mu_);
  std::lock_guard records(records_mu_);
  const uint64_t g = header_.granule_size;
  uint64_t index = pos / g;
  bool present = granules_.count(index) != 0;
  uint64_t len = 0;
  while (len < max_len && (granules_.count(index) != 0) == present) {
    len += g - (pos + len) % g;
    ++index;
  }
  return {present, std::min(len, max_len)};
}

Status Object::ReadV(uint64_t pos, const std::vector<std::span<std::byte>>& pieces) {
  last_access_ns_.store(RealtimeNs(), std::memory_order_relaxed);
  uint64_t total = 0;
  std::vector<struct iovec> iov;
  for (std::span<std::byte> piece : pieces) {
    total += piece.size();
    iov.push_back({piece.data(), piece.size()});
  }
  uint64_t resets_seen;
  uint64_t bad_index = 0;
  int err = 0;
  {
    Status opened;
    std::shared_lock lock = LockShared(&opened);
    if (!lock.owns_lock()) return opened;
    resets_seen = resets_;
    const uint64_t g = header_.granule_size;
    if (pos % g != 0) return Status::Error(Code::kInvalidArgument, "unaligned cache read");
    std::vector<std::pair<uint64_t, uint64_t>> expected;  // (length, hash) of each granule.
    std::unique_lock records(records_mu_);
    for (uint64_t covered = 0; covered < total;) {
      uint64_t index = (pos + covered) / g;
      auto it = granules_.find(index);
      uint64_t len = GranuleLen(index);
      if (it == granules_.end() || len == 0) return Status::Error(Code::kNoCache, "not cached");
      if (total - covered < len) {
        return Status::Error(Code::kInvalidArgument, "cache read must cover whole granules");
      }
      expected.emplace_back(len, it->second.data_hash);
      covered += len;
    }
    records.unlock();
    uint64_t got = 0;
    bool direct = direct_fd_ >= 0 && !direct_refused_.load(std::memory_order_relaxed) &&
                  total >= kDirectMin && pos % kDirectAlign == 0;
    for (const struct iovec& v : iov) {
      direct = direct && reinterpret_cast<uintptr_t>(v.iov_base) % kDirectAlign == 0 &&
               v.iov_len % kDirectAlign == 0;
    }
    for (size_t first = 0; got < total && err == 0;) {
      ssize_t n = ::preadv(direct ? direct_fd_ : data_fd_, iov.data() + first,
                           static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX)),
                           static_cast<off_t>(pos + got));
      if (n < 0 && errno == EINVAL && direct) {
        direct_refused_.store(true, std::memory_order_relaxed);  // E.g. a larger block size.
        direct = false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : EIO;  // A hole or a cut file: the granule is not all there.
        break;
      }
      got += static_cast<uint64_t>(n);
      first = Advance(iov, first, static_cast<uint64_t>(n));
    }
    // Each granule's hash, streamed across the pieces it spans.
    size_t piece = 0;
    uint64_t in_piece = 0;
    XXH3_state_t* state = XXH3_createState();
    for (size_t i = 0; i < expected.size() && err == 0; ++i) {
      XXH3_64bits_reset(state);
      for (uint64_t left = expected[i].first; left > 0;) {
        uint64_t n = std::min<uint64_t>(left, pieces[piece].size() - in_piece);
        XXH3_64bits_update(state, pieces[piece].data() + in_piece, n);
        left -= n;
        in_piece += n;
        if (in_piece == pieces[piece].size()) ++piece, in_piece = 0;
      }
      if (XXH3_64bits_digest(state) != expected[i].second) {
        bad_index = pos / g + i;
        err = -1;
      }
    }
    XXH3_freeState(state);
    if (err == 0) return Status::Ok();
  }
  std::unique_lock lock(mu_);
  // Not already discarded (and maybe refilled) by another reader, nor culled meanwhile.
  Status opened = parked_ ? Unpark() : Status::Ok();
  if (opened.ok() && resets_ == resets_seen && !retired_) {
    NC_LOG_WARN("cache object %s: granule %llu failed verification%s%s; discarding it",
                base_path_.c_str(), static_cast<unsigned long long>(bad_index),
                err > 0 ? ": " : "", err > 0 ? std::strerror(err) : "");
    Status reset = Reset();
    if (!reset.ok()) NC_LOG_WARN("discard failed: %s", reset.ToString().c_str());
    Recharge();
  }
  return Status::Error(Code::kCorruption, "cached data failed verification");
}

// A write holds the shared lock, so lookups, reads and other writes go on while its data goes
// to disk, and records_mu_ only to record it. A direct write of a 4 MiB subrequest takes
// milliseconds, and the next readahead of the same file asks Query() first: held exclusive
// across the write, half the wall time of a cold 1 GiB read at 0 ms went to planning the next
// subrequests. (Recording under the exclusive lock instead waited for every other writer's
// I/O: longer than the I/O itself.)
Status Object::WriteV(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                      fscache::WriteHint hint) {
  Status opened;
  std::shared_lock shared = LockShared(&opened);
  if (!shared.owns_lock()) return opened;
  const uint64_t g = header_.granule_size;
  if (pos % g != 0) return Status::Error(Code::kInvalidArgument, "unaligned cache write");
  // Whole granules only: a partial one would be recorded as present but never be whole. A
  // granule split across two pieces ends the write there.
  std::string records;
  std::vector<GranuleRecord> added;
  std::vector<std::span<const std::byte>> whole;  // The part of each piece that is written.
  uint64_t done = 0;
  for (std::span<const std::byte> piece : pieces) {
    uint64_t used = 0;
    while (used < piece.size()) {
      uint64_t index = (pos + done) / g;
      uint64_t len = GranuleLen(index);
      if (len == 0 || piece.size() - used < len) break;
      added.push_back({index, static_cast<uint32_t>(len), HashBytes(piece.data() + used, len)});
      records += EncodeRecord(added.back());
      used += len;
      done += len;
    }
    if (used > 0) whole.push_back(piece.first(used));
    if (used < piece.size()) break;
  }
  if (done == 0) return Status::Ok();
  if (space_ != nullptr) {
    Status admitted = space_->Admit(done + records.size());
    if (!admitted.ok()) return admitted;
  }
  // Only once admitted: a culled object revived for a refused write would be charged its
  // files again, and culled again, over and over while the cache is full.
  while (retired_) {
    shared.unlock();
    {
      std::lock_guard lock(mu_);
      if (retired_) {
        Status revived = Revive();
        if (!revived.ok()) return revived;
      }
    }
    if (space_ != nullptr) space_->TrimOpen();
    shared = LockShared(&opened);  // Parked again meanwhile: reopened.
    if (!shared.owns_lock()) return opened;
  }
  // Data first, then the records that vouch for it: see the top of this file.
  Status status;
  uint64_t at = pos;
  size_t next = 0;
  if (hint == fscache::WriteHint::kStreamed && direct_fd_ >= 0 &&
      !direct_refused_.load(std::memory_order_relaxed) && pos % kDirectAlign == 0) {
    status = WriteDirect(pos, whole, &next, &at);
  }
  for (; next < whole.size() && status.ok(); ++next) {
    status = WriteAll(data_fd_, whole[next].data(), whole[next].size(), static_cast<off_t>(at),
                      "write " + base_path_ + ".data");
    at += whole[next].size();
  }
  std::lock_guard lock(records_mu_);
  if (status.ok()) {
    status = WriteAll(meta_fd_, records.data(), records.size(), -1, "write " + base_path_ + ".meta");
  }
  Recharge();  // Also after a failure: a partial write may have allocated blocks.
  if (!status.ok()) return status;
  for (const GranuleRecord& record : added) {
    if (granules_.insert_or_assign(record.index, record).second) bytes_present_ += record.len;
  }
  return Status::Ok();
}

// Downloads of large objects are written O_DIRECT too. Buffered, each byte was copied once
// more into the cache file's page cache, to be written back later by the kernel's flusher and
// then evicted: 1-2.7 CPU s per cold GiB here, against about 1.1 direct. The writes of the
// cache pool's threads then wait for the disk, not the reader; Netfs bounds how much waits
// (Options::max_cache_backlog). Pieces are written direct up to the first unaligned one (the
// short granule at EOF), which the caller writes buffered.
Status Object::WriteDirect(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                           size_t* next, uint64_t* at) {
  std::vector<struct iovec> iov;
  for (std::span<const std::byte> piece : pieces) {
    if (reinterpret_cast<uintptr_t>(piece.data()) % kDirectAlign != 0 || piece.size() % kDirectAlign != 0) {
      break;
    }
    iov.push_back({const_cast<std::byte*>(piece.data()), piece.size()});
  }
  for (size_t first = 0; first < iov.size();) {
    ssize_t n = ::pwritev(direct_fd_, iov.data() + first,
                          static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX)),
                          static_cast<off_t>(*at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && *at == pos) {
      direct_refused_.store(true, std::memory_order_relaxed);
      return Status::Ok();  // Nothing written: all of it goes buffered.
    }
    if (n <= 0) return Status::FromErrno(n < 0 ? errno : EIO, "write " + base_path_ + ".data");
    *at += static_cast<uint64_t>(n);
    first = Advance(iov, first, static_cast<uint64_t>(n));
  }
  *next = iov.size();
  return Status::Ok();
}

Status Object::Invalidate(const std::string& aux, uint64_t object_size) {
  std::lock_guard lock(mu_);
  header_.aux = aux;
  header_.object_size = object_size;
  if (parked_) {
    Status opened = Unpark();
    if (!opened.ok()) return opened;
  }
  if (retired_) return Status::Ok();  // No data; the next write starts afresh.
  OpenDirect();  // The new version may be large enough for direct reads.
  Status status = Reset();
  Recharge();
  return status;
}

Status Object::Resize(uint64_t object_size) {
  std::lock_guard lock(mu_);
  // A granule survives only if it is whole below both sizes: the old last (short) granule, or
  // one the new EOF cuts through, would no longer match its record's length.
  uint64_t keep = std::min(header_.object_size, object_size) / header_.granule_size;
  if (parked_) {
    Status opened = Unpark();
    if (!opened.ok()) return opened;
  }
  if (retired_) {
    header_.object_size = object_size;
    return Status::Ok();
  }
  for (auto it = granules_.lower_bound(keep); it != granules_.end();) {
    bytes_present_ -= it->second.len;
    it = granules_.erase(it);
  }
  header_.object_size = object_size;
  OpenDirect();
  // Metadata first: if we die before the data truncate, the dropped granules are simply absent.
  Status status = RewriteMetadata();
  if (!status.ok()) return status;
  if (::ftruncate(data_fd_, static_cast<off_t>(keep * header_.granule_size)) != 0) {
    return Status::FromErrno(errno, "truncate " + base_path_ + ".data");
  }
  SizeDataFile();
  Recharge();
  return Status::Ok();
}

fscache::ObjectUsage Object::Usage() {
  std::shared_lock lock(mu_);
  std::lock_guard records(records_mu_);
  return {bytes_present_};
}

}  // namespace cachefiles
