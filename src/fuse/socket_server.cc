// SPDX-License-Identifier: MIT
#include "fuse/socket_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "util/check.h"

namespace nc_fuse {

SocketServer::SocketServer(int listen_fd, std::string terminator, Respond respond)
    : listen_fd_(listen_fd), terminator_(std::move(terminator)), respond_(std::move(respond)) {
  NC_CHECK(::pipe2(wake_fds_, O_CLOEXEC) == 0);
  thread_ = std::thread([this] { Loop(); });
}

SocketServer::~SocketServer() {
  char byte = 0;
  (void)!::write(wake_fds_[1], &byte, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
}

void SocketServer::Loop() noexcept {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout = {10, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string request;
    char buf[4096];
    size_t end;
    while ((end = request.find(terminator_)) == std::string::npos && request.size() < 65536) {
      ssize_t n = ::read(client, buf, sizeof(buf));
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    if (end != std::string::npos) {
      std::string reply = respond_(request.substr(0, end));
      size_t done = 0;
      while (done < reply.size()) {
        ssize_t n = ::write(client, reply.data() + done, reply.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
    }
    ::close(client);
  }
}

}  // namespace nc_fuse
