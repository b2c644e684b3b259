// SPDX-License-Identifier: MIT
// wait_table.h — the hashed wait queues for folio flags: no queue per folio, a fixed table of
// buckets keyed by the folio's address. Collisions only cost spurious wake-ups, so every
// waiter re-tests its condition in a loop. Kernel: folio_wait_table in mm/filemap.c.
#pragma once

#include <condition_variable>
#include <mutex>

namespace folio {

struct WaitBucket {
  std::mutex mu;
  std::condition_variable cv;
};

WaitBucket& WaitBucketFor(const void* address);

// Sleeps until done() holds. done() is evaluated under the bucket's mutex; a waker that makes
// it true and then calls WakeAll() on the same address cannot be missed.
template <typename Done>
void WaitOn(const void* address, Done done) {
  WaitBucket& bucket = WaitBucketFor(address);
  std::unique_lock lock(bucket.mu);
  bucket.cv.wait(lock, done);
}

void WakeAll(const void* address);

}  // namespace folio
