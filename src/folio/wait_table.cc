// SPDX-License-Identifier: MIT
#include "folio/wait_table.h"

#include <array>
#include <cstdint>
#include <functional>

namespace folio {
namespace {
constexpr size_t kBuckets = 256;  // As the kernel's PAGE_WAIT_TABLE_BITS = 8.
std::array<WaitBucket, kBuckets> g_table;
}  // namespace

WaitBucket& WaitBucketFor(const void* address) {
  auto key = reinterpret_cast<uintptr_t>(address);
  return g_table[std::hash<uintptr_t>{}(key >> 6) % kBuckets];
}

void WakeAll(const void* address) {
  WaitBucket& bucket = WaitBucketFor(address);
  // Taking the mutex orders this wake-up after any waiter's test of the condition.
  { std::lock_guard lock(bucket.mu); }
  bucket.cv.notify_all();
}

}  // namespace folio
