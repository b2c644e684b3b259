// SPDX-License-Identifier: MIT
#include "fscache/memory_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace fscache {
namespace {

using util::Code;
using util::Status;

struct StoredObject {
  std::string aux;
  uint64_t size = 0;
  std::map<uint64_t, std::vector<std::byte>> granules;  // By granule index.
};

class MemoryObject final : public BackendObject {
 public:
  MemoryObject(StoredObject* stored, std::mutex* mu, uint64_t granule, MemoryBackendFaults* faults)
      : stored_(stored), mu_(mu), granule_(granule), faults_(faults) {}

  uint64_t granule_size() const override { return granule_; }

  Occupancy Query(uint64_t pos, uint64_t max_len) override {
    std::lock_guard lock(*mu_);
    uint64_t index = pos / granule_;
    bool present = stored_->granules.count(index) != 0;
    uint64_t len = 0;
    while (len < max_len && (stored_->granules.count(index) != 0) == present) {
      len += granule_ - (pos + len) % granule_;
      ++index;
    }
    return {present, std::min(len, max_len)};
  }

  Status ReadV(uint64_t pos, const std::vector<std::span<std::byte>>& pieces) override {
    std::lock_guard lock(*mu_);
    for (std::span<std::byte> buf : pieces) {
      uint64_t done = 0;
      while (done < buf.size()) {
        uint64_t at = pos + done;
        auto it = stored_->granules.find(at / granule_);
        if (it == stored_->granules.end()) return Status::Error(Code::kNoCache, "not present");
        uint64_t offset = at % granule_;
        if (offset >= it->second.size()) return Status::Error(Code::kNoCache, "short granule");
        uint64_t n = std::min<uint64_t>(buf.size() - done, it->second.size() - offset);
        std::memcpy(buf.data() + done, it->second.data() + offset, n);
        done += n;
      }
      pos += buf.size();
    }
    if (faults_ && faults_->corrupt_reads.load()) {
      return Status::Error(Code::kCorruption, "injected corruption");
    }
    return Status::Ok();
  }

  Status WriteV(uint64_t pos, const std::vector<std::span<const std::byte>>& pieces,
                WriteHint /*hint*/) override {
    if (faults_) faults_->WaitWhileStalled();
    for (std::span<const std::byte> piece : pieces) {
      Status status = WriteOne(pos, piece);
      if (!status.ok()) return status;
      pos += piece.size();
    }
    return Status::Ok();
  }

  Status WriteOne(uint64_t pos, std::span<const std::byte> data) {
    if (faults_ && faults_->fail_writes.load()) {
      return Status::Error(Code::kNoSpace, "injected write failure");
    }
    if (pos % granule_ != 0) return Status::Error(Code::kInvalidArgument, "unaligned write");
    if (faults_) std::this_thread::sleep_for(std::chrono::microseconds(faults_->write_delay_us.load()));
    std::lock_guard lock(*mu_);
    for (uint64_t done = 0; done < data.size(); done += granule_) {
      uint64_t n = std::min<uint64_t>(granule_, data.size() - done);
      if (n < granule_ && pos + done + n != stored_->size) {
        return Status::Error(Code::kInvalidArgument, "partial granule before EOF");
      }
      stored_->granules[(pos + done) / granule_].assign(data.begin() + done,
                                                        data.begin() + done + n);
    }
    return Status::Ok();
  }

  Status Invalidate(const std::string& aux, uint64_t object_size) override {
    std::lock_guard lock(*mu_);
    stored_->aux = aux;
    stored_->size = object_size;
    stored_->granules.clear();
    return Status::Ok();
  }

  std::vector<std::pair<uint64_t, uint64_t>> CachedRanges() override {
    std::lock_guard lock(*mu_);
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (auto& [index, bytes] : stored_->granules) {
      uint64_t start = index * granule_;
      if (!ranges.empty() && ranges.back().second == start) {
        ranges.back().second += bytes.size();
      } else {
        ranges.emplace_back(start, start + bytes.size());
      }
    }
    return ranges;
  }

  Status Resize(uint64_t object_size) override {
    std::lock_guard lock(*mu_);
    uint64_t keep = std::min(stored_->size, object_size) / granule_;  // Whole granules below.
    stored_->granules.erase(stored_->granules.lower_bound(keep), stored_->granules.end());
    stored_->size = object_size;
    return Status::Ok();
  }

  ObjectUsage Usage() override {
    std::lock_guard lock(*mu_);
    ObjectUsage usage;
    for (auto& [index, bytes] : stored_->granules) usage.bytes_present += bytes.size();
    return usage;
  }

 private:
  StoredObject* stored_;
  std::mutex* mu_;
  const uint64_t granule_;
  MemoryBackendFaults* faults_;
};

class MemoryVolume final : public BackendVolume {
 public:
  MemoryVolume(uint64_t granule, MemoryBackendFaults* faults) : granule_(granule), faults_(faults) {}
  Status PutMetadata(const std::string& key, const MetadataRecord& record) override {
    std::lock_guard lock(mu_);
    metadata_[key] = record;
    return Status::Ok();
  }
  std::optional<MetadataRecord> GetMetadata(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = metadata_.find(key);
    if (it == metadata_.end()) return std::nullopt;
    return it->second;
  }
  util::Result<std::unique_ptr<BackendObject>> OpenObject(const std::string& key,
                                                         const std::string& aux,
                                                         uint64_t object_size) override {
    std::lock_guard lock(mu_);
    StoredObject& stored = objects_[key];
    if (stored.aux != aux || stored.size != object_size) {
      stored.aux = aux;
      stored.size = object_size;
      stored.granules.clear();
    }
    return std::unique_ptr<BackendObject>(new MemoryObject(&stored, &mu_, granule_, faults_));
  }

 private:
  const uint64_t granule_;
  MemoryBackendFaults* faults_;
  std::mutex mu_;
  std::map<std::string, StoredObject> objects_;
  std::map<std::string, MetadataRecord> metadata_;
};

class MemoryBackend final : public Backend {
 public:
  MemoryBackend(uint64_t granule, MemoryBackendFaults* faults) : granule_(granule), faults_(faults) {}
  util::Result<std::unique_ptr<BackendVolume>> AcquireVolume(const std::string&) override {
    return std::unique_ptr<BackendVolume>(new MemoryVolume(granule_, faults_));
  }
  std::string Describe() const override { return "memory"; }

 private:
  const uint64_t granule_;
  MemoryBackendFaults* faults_;
};

}  // namespace

std::unique_ptr<Backend> NewMemoryBackend(uint64_t granule_size, MemoryBackendFaults* faults) {
  return std::make_unique<MemoryBackend>(granule_size, faults);
}

}  // namespace fscache
