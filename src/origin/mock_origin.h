// SPDX-License-Identifier: MIT
// mock_origin.h — an in-memory origin for unit tests, with fault injection: short reads,
// transient and hard errors, and content changes (mountpoint-s3's mock/failure clients).
// Reads complete on a thread pool of the caller's, or inline when none is given.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "origin/origin.h"
#include "util/thread_pool.h"

namespace origin {

class MockOrigin final : public Origin {
 public:
  // `pool` is borrowed and may be null (then reads complete before Read() returns).
  explicit MockOrigin(util::ThreadPool* pool) : pool_(pool) {}

  // Creates or replaces a file; each call makes a new version.
  void PutFile(const std::string& path, std::string content);
  void RemoveFile(const std::string& path);

  // Faults, applied to the next reads.
  std::atomic<int> fail_next_reads{0};          // Fail with a retryable error.
  std::atomic<int> hard_fail_next_reads{0};     // Fail with a permanent I/O error.
  std::atomic<size_t> max_bytes_per_read{0};    // Non-zero: short reads of at most this much.
  std::atomic<bool> unreachable{false};         // Every call fails as if the network were down.

  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> bytes_read{0};

  std::string VolumeKey() const override { return "mock:"; }
  util::Result<Attr> GetAttr(const std::string& path) override;
  util::Result<std::vector<DirEntry>> ReadDir(const std::string& path) override;
  util::Result<std::string> ReadLink(const std::string& path) override;
  util::Result<FsStats> StatFs() override { return FsStats{}; }
  void Read(const std::string& path, const std::string& version, uint64_t pos,
            std::vector<IoVec> iov, ReadCompletion done) override;

 private:
  struct File {
    std::string content;
    uint64_t version = 0;
  };
  util::Status ReadSync(const std::string& path, const std::string& version, uint64_t pos,
                        const std::vector<IoVec>& iov, size_t* transferred);

  util::ThreadPool* const pool_;
  std::mutex mu_;
  std::map<std::string, File> files_;  // Protected by mu_.
  uint64_t next_version_ = 1;          // Protected by mu_.
};

}  // namespace origin
