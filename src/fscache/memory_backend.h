// SPDX-License-Identifier: MIT
// memory_backend.h — an in-memory cache backend for unit tests (leveldb's memenv role). Can be
// told to fail writes or to corrupt what it returns, to test how callers absorb cache trouble.
#pragma once

#include <atomic>
#include <memory>

#include "fscache/backend.h"

namespace fscache {

struct MemoryBackendFaults {
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> corrupt_reads{false};
};

// `faults` is borrowed and may be null; it must outlive the backend.
std::unique_ptr<Backend> NewMemoryBackend(uint64_t granule_size, MemoryBackendFaults* faults);

}  // namespace fscache
