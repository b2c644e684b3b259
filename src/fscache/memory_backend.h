// SPDX-License-Identifier: MIT
// memory_backend.h — an in-memory cache backend for unit tests (leveldb's memenv role). Can be
// told to fail writes or to corrupt what it returns, to test how callers absorb cache trouble.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "fscache/backend.h"

namespace fscache {

struct MemoryBackendFaults {
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> corrupt_reads{false};
  std::atomic<int> write_delay_us{0};  // A slow cache disk: each piece written takes this long.
  // A cache disk that stopped answering: writes wait until StallWrites(false).
  void StallWrites(bool stall) {
    std::lock_guard lock(stall_mu);
    writes_stalled = stall;
    stall_cv.notify_all();
  }
  void WaitWhileStalled() {
    std::unique_lock lock(stall_mu);
    stall_cv.wait(lock, [this] { return !writes_stalled; });
  }
  std::mutex stall_mu;
  std::condition_variable stall_cv;
  bool writes_stalled = false;  // Protected by stall_mu.
};

// `faults` is borrowed and may be null; it must outlive the backend.
std::unique_ptr<Backend> NewMemoryBackend(uint64_t granule_size, MemoryBackendFaults* faults);

}  // namespace fscache
