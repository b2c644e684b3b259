// SPDX-License-Identifier: MIT
// socket_server.h — the loop shared by the control socket and the metrics endpoint: one thread
// accepts connections on a listening socket, reads one request (up to a terminator, at most
// 64 KiB, 10 s), writes the reply and closes. Requests are rare and small, so serving them in
// turn is enough; a silent client cannot hold the loop past the timeout.
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace nc_fuse {

class SocketServer {
 public:
  using Respond = std::function<std::string(const std::string& request)>;
  // Takes ownership of `listen_fd` (already bound and listening).
  SocketServer(int listen_fd, std::string terminator, Respond respond);
  ~SocketServer();  // Stops the loop and closes the socket.
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

 private:
  void Loop() noexcept;

  const int listen_fd_;
  const std::string terminator_;
  const Respond respond_;
  int wake_fds_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace nc_fuse
