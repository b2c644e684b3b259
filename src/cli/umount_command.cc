// SPDX-License-Identifier: MIT
// umount_command.cc — `netcache umount MOUNTPOINT`: unmounts and waits for the daemon to finish
// its copies to the cache and exit, so a following mount finds the cache free.
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "cli/commands.h"

namespace cli {
namespace {

// A zombie still answers kill(pid, 0); it has finished all the same.
bool ProcessRunning(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return false;
  char state = '?';
  int matched = std::fscanf(f, "%*d (%*[^)]) %c", &state);
  std::fclose(f);
  return matched == 1 && state != 'Z' && state != 'X';
}

long PidFromStats(const std::string& json) {
  size_t at = json.find("\"pid\":");
  return at == std::string::npos ? -1 : std::strtol(json.c_str() + at + 6, nullptr, 10);
}

int RunFusermount(const std::string& mountpoint, bool lazy) {
  pid_t child = fork();
  if (child == 0) {
    if (lazy) {
      execlp("fusermount3", "fusermount3", "-u", "-z", mountpoint.c_str(), nullptr);
    } else {
      execlp("fusermount3", "fusermount3", "-u", mountpoint.c_str(), nullptr);
    }
    _exit(127);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The mountpoint as mountinfo writes it: absolute, symlinks resolved (a dead FUSE mount cannot
// be resolved, ENOTCONN: then as given, made absolute).
std::string AbsoluteMountpoint(const std::string& given) {
  char resolved[PATH_MAX];
  if (::realpath(given.c_str(), resolved) != nullptr) return resolved;
  if (!given.empty() && given[0] == '/') return given;
  char cwd[PATH_MAX];
  return ::getcwd(cwd, sizeof(cwd)) == nullptr ? given : std::string(cwd) + "/" + given;
}

}  // namespace

CommandRunner AddUmountCommand(CLI::App& app) {
  struct Args {
    std::string mountpoint;
    bool lazy = false;
    double timeout = 60;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("umount", "Unmount a netcache mount and wait for its daemon");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "The mountpoint")->required();
  cmd->add_flag("-z,--lazy", args->lazy, "Detach even if busy (also clears a dead mount)");
  cmd->add_option("--timeout", args->timeout, "Seconds to wait for the daemon to exit")
      ->default_val(60);
  return [args]() -> int {
    // Only netcache's own mounts: this command must not be a way to unmount anything else.
    const std::string path = AbsoluteMountpoint(args->mountpoint);
    const std::string type = MountedType(path);
    if (type.empty()) {
      std::fprintf(stderr, "netcache umount: %s is not mounted\n", args->mountpoint.c_str());
      return 1;
    }
    if (type != "fuse.netcache") {
      std::fprintf(stderr, "netcache umount: %s is a %s mount, not a netcache one; not unmounting it\n",
                   args->mountpoint.c_str(), type.c_str());
      return 1;
    }
    std::string json, error;
    long pid = ReadStats(args->mountpoint, &json, &error) ? PidFromStats(json) : -1;
    int rc = RunFusermount(args->mountpoint, args->lazy);
    if (rc != 0) {
      // fusermount3 printed why; root can still try the system call directly.
      if (::umount2(args->mountpoint.c_str(), args->lazy ? MNT_DETACH : 0) != 0) {
        std::fprintf(stderr, "netcache umount: cannot unmount %s: %s\n", args->mountpoint.c_str(),
                     std::strerror(errno));
        return 1;
      }
    }
    if (pid > 0) {
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(args->timeout * 1000));
      while (ProcessRunning(pid)) {
        if (std::chrono::steady_clock::now() > deadline) {
          std::fprintf(stderr, "netcache umount: daemon %ld still running after %.0f s\n", pid,
                       args->timeout);
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return 0;
  };
}

}  // namespace cli
