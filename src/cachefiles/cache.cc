// SPDX-License-Identifier: MIT
// cache.cc — the cache directory, its volumes and the naming of objects. Kernel:
// fs/cachefiles/cache.c, volume.c, namei.c, key.c. Names come from a hash of the key, never from
// the remote path, so no remote name can traverse or collide with our own files; the full key
// is stored in the metadata and checked on open.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <dirent.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "cachefiles/cachefiles.h"
#include "cachefiles/metadata.h"
#include "cachefiles/internal.h"
#include "cachefiles/object.h"
#include "util/log.h"

namespace cachefiles {
namespace {

using util::Code;
using util::Status;

std::string HexHash(const std::string& key) {
  XXH128_hash_t hash = XXH3_128bits(key.data(), key.size());
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return hex;
}

Status MakeDirs(const std::string& path) {
  std::string partial;
  size_t at = 0;
  while (at != std::string::npos) {
    at = path.find('/', at + 1);
    partial = path.substr(0, at);
    if (partial.empty()) continue;
    if (MkdirNoFollow(partial, 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "cannot create cache directory " + partial);
    }
  }
  struct stat st;
  if (StatNoFollow(path, &st) != 0) return Status::FromErrno(errno, "cache directory " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(Code::kNotADirectory, "cache directory " + path + " is not a directory");
  }
  return Status::Ok();
}

class Volume final : public fscache::BackendVolume {
 public:
  Volume(std::string dir, int lock_fd, uint64_t granule, Space* space)
      : dir_(std::move(dir)), lock_fd_(lock_fd), granule_(granule), space_(space) {}
  ~Volume() override { ::close(lock_fd_); }

  // Records live in meta/<2 hex>/<32 hex>: magic, key, time, value, checksum; see
  // docs/cache_format.md. Rewritten in place (see Object::RewriteMetadata): a record torn by a
  // crash or read mid-write fails its checksum and counts as absent.
  Status PutMetadata(const std::string& key, const fscache::MetadataRecord& record) override {
    std::string hash = HexHash("meta:" + key);
    std::string dir = dir_ + "/meta/" + hash.substr(0, 2);
    std::string path = dir + "/" + hash;
    struct stat old_st;
    bool exists = StatNoFollow(path, &old_st) == 0;
    int64_t old_allocated = exists ? old_st.st_blocks * 512 : 0;
    if (!exists) {
      Status admitted = space_->AdmitCreate();
      if (!admitted.ok()) return admitted;
    }
    std::string bytes = EncodeMetadataRecord(key, record.stored_at_ns, record.value);
    int fd = OpenNoFollow(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 && errno == ENOENT) {  // The first record of its fan-out directory.
      Status made = MakeDir(dir_ + "/meta");
      if (made.ok()) made = MakeDir(dir);
      if (!made.ok()) return made;
      fd = OpenNoFollow(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    if (fd < 0) return Status::FromErrno(errno, "create " + path);
    Status written = WriteAll(fd, bytes.data(), bytes.size(), 0, "write " + path);
    ::close(fd);
    if (!written.ok()) {
      UnlinkNoFollow(path);  // A torn record would only be ignored; an absent one is clearer.
      space_->Charge(-old_allocated);
      return written;
    }
    struct stat new_st;
    if (StatNoFollow(path, &new_st) == 0) space_->Charge(new_st.st_blocks * 512 - old_allocated);
    return Status::Ok();
  }

  std::optional<fscache::MetadataRecord> GetMetadata(const std::string& key) override {
    std::string hash = HexHash("meta:" + key);
    std::string path = dir_ + "/meta/" + hash.substr(0, 2) + "/" + hash;
    FILE* f = FopenNoFollow(path, "rb");
    if (f == nullptr) return std::nullopt;
    std::string bytes;
    char chunk[65536];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0) bytes.append(chunk, n);
    std::fclose(f);
    fscache::MetadataRecord record;
    if (!DecodeMetadataRecord(bytes, key, &record.stored_at_ns, &record.value)) return std::nullopt;
    return record;
  }

  util::Result<std::unique_ptr<fscache::BackendObject>> OpenObject(const std::string& key,
                                                                  const std::string& aux,
                                                                  uint64_t object_size) override {
    std::string hash = HexHash(key);
    std::string fanout = dir_ + "/" + hash.substr(0, 2);
    struct stat existing;
    if (StatNoFollow(fanout + "/" + hash + ".data", &existing) != 0) {
      Status admitted = space_->AdmitCreate();  // New files: not below bstop/fstop.
      if (!admitted.ok()) return admitted;
      Status made = MakeDir(fanout);
      if (!made.ok()) return made;
    }
    auto object = Object::Open(fanout + "/" + hash, {key, aux, granule_, object_size}, space_);
    if (!object.ok()) return object.status();
    return std::unique_ptr<fscache::BackendObject>(std::move(*object));
  }

 private:
  // Creates `path` if missing, charging its blocks to the cache's space.
  Status MakeDir(const std::string& path) {
    if (MkdirNoFollow(path, 0700) != 0) {
      if (errno == EEXIST) return Status::Ok();
      return Status::FromErrno(errno, "create " + path);
    }
    struct stat st;
    if (StatNoFollow(path, &st) == 0) space_->Charge(st.st_blocks * 512);
    return Status::Ok();
  }

  const std::string dir_;
  const int lock_fd_;  // flock()ed: one daemon per volume.
  const uint64_t granule_;
  Space* const space_;  // The cache's; outlives the volume.
};

class Cache final : public fscache::Backend {
 public:
  Cache(std::string dir, uint64_t granule, CullPolicy policy)
      : dir_(std::move(dir)), granule_(granule), space_(dir_, policy) {
    space_.Start();
  }

  // A volume per origin, owned by one daemon through its lock. A second daemon for the same
  // origin (two mounts of one source sharing a cache dir) takes the next free slot, so the two
  // never write the same files; a later mount takes the first free slot again.
  util::Result<std::unique_ptr<fscache::BackendVolume>> AcquireVolume(
      const std::string& key) override {
    constexpr int kSlots = 8;
    for (int slot = 0; slot < kSlots; ++slot) {
      std::string id = slot == 0 ? key : key + "#" + std::to_string(slot);
      std::string dir = dir_ + "/v-" + HexHash(id).substr(0, 20);
      std::string lock_path = dir + "/lock";
      std::string key_path = dir + "/volume.key";
      // The cache was measured when it was opened; only what this creates is new. (Measuring it
      // all again here walked every file of every volume at each mount.)
      auto volume_files_bytes = [&] {
        return AllocatedBytes(dir) + AllocatedBytes(lock_path) + AllocatedBytes(key_path);
      };
      const uint64_t bytes_before = volume_files_bytes();
      Status status = MakeDirs(dir);
      if (!status.ok()) return status;
      int fd = OpenNoFollow(lock_path, O_RDWR | O_CREAT, 0600);
      if (fd < 0) return Status::FromErrno(errno, "cannot use cache directory " + dir_);
      // Another daemon's culler holds an unused volume's lock for a moment while it culls it:
      // wait that out before taking the next slot (a daemon holds it for as long as it runs).
      bool locked = false;
      for (int attempt = 0; attempt < 5 && !(locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0); ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!locked) {
        ::close(fd);
        continue;
      }
      if (slot > 0) {
        NC_LOG_INFO("the cache of %s in %s is in use by another netcache; using slot %d", key.c_str(),
                    dir_.c_str(), slot);
      }
      // For people looking at the cache: which origin this volume belongs to.
      if (FILE* f = FopenNoFollow(key_path, "w")) {
        std::fprintf(f, "%s\n", key.c_str());
        std::fclose(f);
      }
      space_.AddVolumeDir(dir);
      space_.Charge(static_cast<int64_t>(volume_files_bytes()) - static_cast<int64_t>(bytes_before));
      return std::unique_ptr<fscache::BackendVolume>(new Volume(dir, fd, granule_, &space_));
    }
    return Status::Error(Code::kBusy, "the cache for this source in " + dir_ + " is in use by " +
                                          std::to_string(kSlots) + " other netcache processes");
  }

  std::string Describe() const override { return dir_; }
  fscache::BackendStats Stats() override { return space_.Stats(); }
  util::Result<uint64_t> Cull(uint64_t target_bytes) override { return space_.CullTo(target_bytes); }

 private:
  const std::string dir_;
  const uint64_t granule_;
  Space space_;
};

}  // namespace

util::Result<std::unique_ptr<fscache::Backend>> OpenCache(const std::string& dir,
                                                           uint64_t granule_size,
                                                           CullPolicy policy) {
  if (granule_size < 4096 || (granule_size & (granule_size - 1)) != 0) {
    return Status::Error(Code::kInvalidArgument, "granule size must be a power of two >= 4096");
  }
  if (std::string bad = CheckPolicy(policy); !bad.empty()) {
    return Status::Error(Code::kInvalidArgument, "cache thresholds: " + bad);
  }
  auto resolved = CheckedCacheDir(dir, /*create=*/true);
  if (!resolved.ok()) return resolved.status();
  if (::access(resolved->c_str(), W_OK | X_OK) != 0) {
    return Status::FromErrno(errno, "cache directory " + dir + " is not writable");
  }
  return std::unique_ptr<fscache::Backend>(new Cache(*resolved, granule_size, policy));
}

util::Result<uint64_t> CullCacheDir(const std::string& given_dir, uint64_t target_bytes) {
  auto checked = CheckedCacheDir(given_dir, /*create=*/false);
  if (!checked.ok()) return checked.status();
  const std::string& dir = *checked;
  CullPolicy policy;
  policy.cache_size = target_bytes;
  Space space(dir, policy);
  std::vector<int> locks;
  DIR* entries = OpenDirNoFollow(dir);
  if (entries == nullptr) return Status::FromErrno(errno, "cache directory " + dir);
  uint64_t busy = 0;
  while (struct dirent* entry = ::readdir(entries)) {
    std::string name = entry->d_name;
    if (name.rfind("v-", 0) != 0) continue;
    int fd = OpenNoFollow(dir + "/" + name + "/lock", O_RDWR);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      ++busy;  // A daemon owns it and culls it itself.
      continue;
    }
    locks.push_back(fd);
    space.AddVolumeDir(dir + "/" + name);
  }
  ::closedir(entries);
  space.Rescan();
  uint64_t freed = space.CullTo(target_bytes);
  for (int fd : locks) ::close(fd);
  if (busy > 0) {
    NC_LOG_INFO("%llu volume(s) of %s are in use by a daemon and were left to it",
                static_cast<unsigned long long>(busy), dir.c_str());
  }
  return freed;
}

namespace {

std::string ReadSmallFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return "";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

std::vector<std::string> VolumeDirs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* entries = OpenDirNoFollow(dir)) {
    while (struct dirent* entry = ::readdir(entries)) {
      if (std::string(entry->d_name).rfind("v-", 0) == 0) out.push_back(dir + "/" + entry->d_name);
    }
    ::closedir(entries);
  }
  return out;
}

}  // namespace

util::Result<std::vector<CacheEntry>> ListCacheDir(const std::string& given_dir) {
  // Only read: anyone's cache may be listed, through its real path.
  char resolved[PATH_MAX];
  if (::realpath(given_dir.c_str(), resolved) == nullptr) {
    return Status::FromErrno(errno, "cache directory " + given_dir);
  }
  const std::string dir = resolved;
  std::vector<CacheEntry> out;
  for (const std::string& volume : VolumeDirs(dir)) {
    std::string volume_key = ReadSmallFile(volume + "/volume.key");
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(volume, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().extension() != ".meta") continue;
      std::string meta = it->path().string();
      auto bytes = ReadWholeFile(meta);
      if (!bytes.ok()) continue;
      DecodedMetadata decoded = DecodeMetadata(*bytes);
      if (!decoded.header_ok) continue;
      CacheEntry entry;
      entry.volume = volume_key;
      entry.key = decoded.header.key;
      entry.size = decoded.header.object_size;
      for (auto& [index, record] : decoded.granules) entry.cached_bytes += record.len;
      std::string base = meta.substr(0, meta.size() - 5);
      entry.allocated = AllocatedBytes(base + ".data") + AllocatedBytes(meta);
      entry.access = ReadAccessRecord(base);
      out.push_back(std::move(entry));
    }
  }
  return out;
}

Status ClearCacheDir(const std::string& given_dir) {
  auto checked = CheckedCacheDir(given_dir, /*create=*/false);
  if (!checked.ok()) return checked.status();
  const std::string& dir = *checked;
  std::string busy;
  std::string failed;  // What could not be removed: "cleared" must not be said then.
  uint64_t failures = 0;
  for (const std::string& volume : VolumeDirs(dir)) {
    int fd = OpenNoFollow(volume + "/lock", O_RDWR);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      busy += (busy.empty() ? "" : ", ") + ReadSmallFile(volume + "/volume.key");
      ::close(fd);
      continue;
    }
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator(volume, ec)) {
      if (entry.path().filename() == "lock") continue;
      std::error_code removal;
      std::filesystem::remove_all(entry.path(), removal);
      if (removal) {
        ++failures;
        if (failed.empty()) failed = entry.path().string() + ": " + removal.message();
      }
    }
    if (ec) {
      ++failures;
      if (failed.empty()) failed = volume + ": " + ec.message();
    }
    if (fd >= 0) ::close(fd);
  }
  if (!busy.empty()) {
    return Status::Error(Code::kBusy, "in use by a running netcache (unmount first): " + busy);
  }
  if (failures > 0) {
    return Status::Error(Code::kPermissionDenied,
                         "could not remove " + std::to_string(failures) + " entr" +
                             (failures == 1 ? "y" : "ies") + " of the cache (first: " + failed + ")");
  }
  return Status::Ok();
}

uint64_t CacheDirBytes(const std::string& dir) { return TreeAllocatedBytes(dir); }

}  // namespace cachefiles
