// SPDX-License-Identifier: MIT
// errno.h — Status to errno: the only place in netcache that produces an errno.
#pragma once

#include "util/status.h"

namespace nc_fuse {

int ErrnoOf(const util::Status& status);

}  // namespace nc_fuse
