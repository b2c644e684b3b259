// SPDX-License-Identifier: MIT
// clock.h — the monotonic clock in nanoseconds, for intervals and least-recently-used order.
#pragma once

#include <chrono>
#include <cstdint>

namespace util {

inline int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace util
