// SPDX-License-Identifier: MIT
// read_retry.cc — retries a failed download with exponential backoff, from where it stopped.
// Kernel: fs/netfs/read_retry.c.
#include <chrono>
#include <thread>

#include "netfs/internal.h"

namespace netfs {

bool Io::MaybeRetry(const std::shared_ptr<Subrequest>& sub, const util::Status& status) {
  Netfs* netfs = NetfsOf(*sub);
  if (!status.retryable() || sub->attempts >= netfs->options_.retries) return false;
  int delay_ms = netfs->options_.retry_backoff_ms << sub->attempts;
  ++sub->attempts;
  netfs->stats_.origin_retries.fetch_add(1, std::memory_order_relaxed);
  // WART: sleeps on the completing thread; fine for a local origin, a timer queue is better
  // once origins are remote (HTTP issue).
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  IssueSubrequest(sub);
  return true;
}

}  // namespace netfs
