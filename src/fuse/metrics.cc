// SPDX-License-Identifier: MIT
#include "fuse/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/check.h"

namespace nc_fuse {

using util::Code;
using util::Status;

util::Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                  std::function<std::string()> render) {
  size_t colon = listen.rfind(':');
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  char* end = nullptr;
  long port = colon == std::string::npos ? -1 : std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || port <= 0 || port > 65535 || *end != '\0' ||
      ::inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Status::Error(Code::kInvalidArgument, "--metrics-listen " + listen + ": expected IPv4:PORT");
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return Status::FromErrno(err, "--metrics-listen " + listen);
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(fd, std::move(render)));
}

MetricsServer::MetricsServer(int fd, std::function<std::string()> render)
    : listen_fd_(fd), render_(std::move(render)) {
  NC_CHECK(::pipe2(wake_fds_, O_CLOEXEC) == 0);
  thread_ = std::thread([this] { Loop(); });
}

MetricsServer::~MetricsServer() {
  char byte = 0;
  (void)!::write(wake_fds_[1], &byte, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
}

void MetricsServer::Loop() noexcept {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout = {5, 0};  // A client that sends nothing cannot hold the listener.
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
      ssize_t n = ::read(client, buf, sizeof(buf));
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    bool metrics = request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0;
    std::string body = metrics ? render_() : "not found; try /metrics\n";
    std::string reply = std::string(metrics ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.0 404 Not Found\r\n") +
                        "Content-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    size_t done = 0;
    while (done < reply.size()) {
      ssize_t n = ::write(client, reply.data() + done, reply.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(client);
  }
}

}  // namespace nc_fuse
