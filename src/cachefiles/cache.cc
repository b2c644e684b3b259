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

#include <cstdio>

#include "cachefiles/cachefiles.h"
#include "cachefiles/metadata.h"
#include "cachefiles/object.h"

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
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "cannot create cache directory " + partial);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "cache directory " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(Code::kNotADirectory, "cache directory " + path + " is not a directory");
  }
  return Status::Ok();
}

class Volume final : public fscache::BackendVolume {
 public:
  Volume(std::string dir, int lock_fd, uint64_t granule)
      : dir_(std::move(dir)), lock_fd_(lock_fd), granule_(granule) {}
  ~Volume() override { ::close(lock_fd_); }

  // Records live in meta/<2 hex>/<32 hex>: magic, key, time, value, checksum; see
  // docs/cache_format.md. Written to a temporary file and renamed over the old one.
  Status PutMetadata(const std::string& key, const fscache::MetadataRecord& record) override {
    std::string hash = HexHash("meta:" + key);
    std::string dir = dir_ + "/meta/" + hash.substr(0, 2);
    Status status = MakeDirs(dir);
    if (!status.ok()) return status;
    std::string path = dir + "/" + hash;
    std::string tmp = path + ".tmp";
    std::string bytes = EncodeMetadataRecord(key, record.stored_at_ns, record.value);
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return Status::FromErrno(errno, "create " + tmp);
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      std::remove(tmp.c_str());
      return Status::FromErrno(err, "write " + path);
    }
    return Status::Ok();
  }

  std::optional<fscache::MetadataRecord> GetMetadata(const std::string& key) override {
    std::string hash = HexHash("meta:" + key);
    std::string path = dir_ + "/meta/" + hash.substr(0, 2) + "/" + hash;
    FILE* f = std::fopen(path.c_str(), "rb");
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
    if (::mkdir(fanout.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "create " + fanout);
    }
    auto object = Object::Open(fanout + "/" + hash, {key, aux, granule_, object_size});
    if (!object.ok()) return object.status();
    return std::unique_ptr<fscache::BackendObject>(std::move(*object));
  }

 private:
  const std::string dir_;
  const int lock_fd_;  // flock()ed: one daemon per volume.
  const uint64_t granule_;
};

class Cache final : public fscache::Backend {
 public:
  Cache(std::string dir, uint64_t granule) : dir_(std::move(dir)), granule_(granule) {}

  util::Result<std::unique_ptr<fscache::BackendVolume>> AcquireVolume(
      const std::string& key) override {
    std::string dir = dir_ + "/v-" + HexHash(key).substr(0, 20);
    Status status = MakeDirs(dir);
    if (!status.ok()) return status;
    std::string lock_path = dir + "/lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "cannot use cache directory " + dir_);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::Error(Code::kBusy, "the cache for this source in " + dir_ +
                                            " is in use by another netcache process");
    }
    // For people looking at the cache: which origin this volume belongs to.
    std::string key_path = dir + "/volume.key";
    if (FILE* f = std::fopen(key_path.c_str(), "w")) {
      std::fprintf(f, "%s\n", key.c_str());
      std::fclose(f);
    }
    return std::unique_ptr<fscache::BackendVolume>(new Volume(dir, fd, granule_));
  }

  std::string Describe() const override { return dir_; }

 private:
  const std::string dir_;
  const uint64_t granule_;
};

}  // namespace

util::Result<std::unique_ptr<fscache::Backend>> OpenCache(const std::string& dir,
                                                           uint64_t granule_size) {
  if (granule_size < 4096 || (granule_size & (granule_size - 1)) != 0) {
    return Status::Error(Code::kInvalidArgument, "granule size must be a power of two >= 4096");
  }
  Status status = MakeDirs(dir);
  if (!status.ok()) return status;
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::FromErrno(errno, "cache directory " + dir + " is not writable");
  }
  return std::unique_ptr<fscache::Backend>(new Cache(dir, granule_size));
}

}  // namespace cachefiles
