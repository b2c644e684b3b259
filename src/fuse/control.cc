// SPDX-License-Identifier: MIT
#include "fuse/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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
    : path_(std::move(path)),
      server_(fd, "\n", [handler = std::move(handler)](const std::string& request) {
        return handler(request) + "\n";
      }) {}

ControlServer::~ControlServer() { ::unlink(path_.c_str()); }

}  // namespace nc_fuse
