// SPDX-License-Identifier: MIT
#include "fuse/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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

namespace {

std::string HttpReply(const std::string& request, const std::function<std::string()>& render) {
  bool metrics = request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET /metrics?", 0) == 0;
  std::string body = metrics ? render() : "not found; try /metrics\n";
  return std::string(metrics ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.0 404 Not Found\r\n") +
         "Content-Type: text/plain; version=0.0.4\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

MetricsServer::MetricsServer(int fd, std::function<std::string()> render)
    : server_(fd, "\r\n\r\n", [render = std::move(render)](const std::string& request) {
        return HttpReply(request, render);
      }) {}

}  // namespace nc_fuse
