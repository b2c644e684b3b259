// SPDX-License-Identifier: MIT
#include "fuse/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>

#include "util/log.h"

namespace nc_fuse {

using util::Code;
using util::Status;

std::string DefaultControlSocketPath() {
  std::string dir = "/run/netcache";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    dir = runtime != nullptr && runtime[0] == '/' ? runtime : "/tmp";
  }
  return dir + "/netcache-" + std::to_string(::getpid()) + ".sock";
}

util::Result<std::unique_ptr<ControlServer>> ControlServer::Start(std::string socket_path,
                                                                  Handler handler) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return Status::Error(Code::kInvalidArgument, "control socket path too long: " + socket_path);
  }
  std::strcpy(addr.sun_path, socket_path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "control socket");
  ::unlink(socket_path.c_str());
  mode_t old_mask = ::umask(0077);  // Only the daemon's owner may send commands.
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old_mask);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "control socket " + socket_path);
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(socket_path), fd, std::move(handler)));
}

ControlServer::ControlServer(std::string path, int fd, Handler handler)
    : path_(std::move(path)), listen_fd_(fd), handler_(std::move(handler)) {
  NC_CHECK(::pipe2(wake_fds_, O_CLOEXEC) == 0);
  thread_ = std::thread([this] { Loop(); });
}

ControlServer::~ControlServer() {
  char byte = 0;
  (void)!::write(wake_fds_[1], &byte, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
  ::unlink(path_.c_str());
}

void ControlServer::Loop() noexcept {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    // One request per connection; commands are rare and short, so they are served in turn.
    timeval timeout = {10, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string request;
    char buf[4096];
    while (request.find('\n') == std::string::npos && request.size() < 65536) {
      ssize_t n = ::read(client, buf, sizeof(buf));
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    if (size_t end = request.find('\n'); end != std::string::npos) {
      std::string reply = handler_(request.substr(0, end)) + "\n";
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
