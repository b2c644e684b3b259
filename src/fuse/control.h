// SPDX-License-Identifier: MIT
// control.h — the daemon's command channel for what a read-only mount cannot carry as file
// operations (invalidate, pin, cull): a unix socket, mode 0600, one request line in, one JSON
// reply line out. Its path is published in the "user.netcache.stats" attribute.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fuse/socket_server.h"
#include "util/status.h"

namespace nc_fuse {

class ControlServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  static util::Result<std::unique_ptr<ControlServer>> Start(std::string socket_path, Handler handler);
  ~ControlServer();  // Stops serving and removes the socket.
  const std::string& path() const { return path_; }

 private:
  ControlServer(std::string path, int fd, Handler handler);

  const std::string path_;
  SocketServer server_;
};

// Where a daemon's socket goes: /run/netcache (root), else $XDG_RUNTIME_DIR, else /tmp.
std::string DefaultControlSocketPath();

}  // namespace nc_fuse
