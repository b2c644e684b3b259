// SPDX-License-Identifier: MIT
// check.h — always-on invariant checks. A failed NC_CHECK is a bug in netcache, never bad input:
// it prints where and why, then aborts (the kernel's ASSERTCMP, libfuse's INTERNAL ERROR).
#pragma once

#include <cstdio>
#include <cstdlib>

#define NC_CHECK(cond)                                                                   \
  do {                                                                                   \
    if (!(cond)) [[unlikely]] {                                                          \
      std::fprintf(stderr, "netcache: INTERNAL ERROR %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
