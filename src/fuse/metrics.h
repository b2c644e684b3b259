// SPDX-License-Identifier: MIT
// metrics.h — serves the daemon's counters in the Prometheus text format on GET /metrics, from
// a small single-threaded HTTP/1.0 listener (--metrics-listen HOST:PORT).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fuse/socket_server.h"
#include "util/status.h"

namespace nc_fuse {

class MetricsServer {
 public:
  // `listen` is "HOST:PORT" with a numeric IPv4 host; `render` produces the page.
  static util::Result<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                           std::function<std::string()> render);
 private:
  MetricsServer(int fd, std::function<std::string()> render);

  SocketServer server_;
};

}  // namespace nc_fuse
