// SPDX-License-Identifier: MIT
// metrics.h — serves the daemon's counters in the Prometheus text format on GET /metrics, from
// a small single-threaded HTTP/1.0 listener (--metrics-listen HOST:PORT).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "util/status.h"

namespace nc_fuse {

class MetricsServer {
 public:
  // `listen` is "HOST:PORT" with a numeric IPv4 host; `render` produces the page.
  static util::Result<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                           std::function<std::string()> render);
  ~MetricsServer();

 private:
  MetricsServer(int fd, std::function<std::string()> render);
  void Loop() noexcept;

  const int listen_fd_;
  int wake_fds_[2] = {-1, -1};
  const std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace nc_fuse
