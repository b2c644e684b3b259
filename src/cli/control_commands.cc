// SPDX-License-Identifier: MIT
// control_commands.cc — commands that act on a running mount: inspect, invalidate, pin, unpin,
// cull (through the daemon's control socket) and prefetch (by reading through the mount).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.h"

namespace cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct MountedPath {
  std::string mount_root;
  std::string relative;  // "" for the root.
};

// Finds the netcache mount holding `path` (the longest netcache mount point above it).
bool FindMount(const std::string& path, MountedPath* out, std::string* error) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string target = resolved;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, best;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream tail(line.substr(sep + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "fuse.netcache") continue;
    std::string mp = UnescapeMountinfo(mount_point);
    bool above = target == mp || (target.rfind(mp + "/", 0) == 0) || mp == "/";
    if (above && mp.size() > best.size()) best = mp;
  }
  if (best.empty()) {
    *error = path + " is not inside a netcache mount";
    return false;
  }
  out->mount_root = best;
  out->relative = target.size() > best.size() ? target.substr(best.size() + 1) : "";
  return true;
}

bool Control(const std::string& mount_root, const std::string& request, json* reply,
             std::string* error) {
  std::string stats_text;
  if (!ReadStats(mount_root, &stats_text, error)) return false;
  json stats = json::parse(stats_text, nullptr, false);
  if (stats.is_discarded() || !stats.contains("control_socket")) {
    *error = "the daemon of " + mount_root + " has no control socket";
    return false;
  }
  std::string socket_path = stats["control_socket"];
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = "cannot reach the daemon of " + mount_root + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  std::string line = request + "\n";
  bool sent = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  std::string answer;
  char buf[65536];
  ssize_t n;
  while (sent && (n = ::read(fd, buf, sizeof(buf))) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  *reply = json::parse(answer, nullptr, false);
  if (reply->is_discarded() || !reply->contains("ok")) {
    *error = "no answer from the daemon of " + mount_root;
    return false;
  }
  if (!(*reply)["ok"].get<bool>()) {
    *error = (*reply)["error"].get<std::string>();
    return false;
  }
  return true;
}

// Regular files at or below each path.
std::vector<std::string> ExpandFiles(const std::vector<std::string>& paths, std::string* error) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path().string());
      }
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      *error = path + ": not a file or directory" + (ec ? " (" + ec.message() + ")" : "");
      return {};
    }
  }
  return files;
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char out[32];
  std::snprintf(out, sizeof(out), unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return out;
}

// Runs `request` ("invalidate", "pin", ...) on each file; returns the exit status.
int ForEachFile(const char* name, const std::string& request, const std::vector<std::string>& paths) {
  std::string error;
  std::vector<std::string> files = ExpandFiles(paths, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "netcache %s: %s\n", name, error.c_str());
    return 1;
  }
  int failures = 0;
  for (const std::string& file : files) {
    MountedPath where;
    json reply;
    if (!FindMount(file, &where, &error) ||
        !Control(where.mount_root, request + "\t" + where.relative, &reply, &error)) {
      std::fprintf(stderr, "netcache %s: %s: %s\n", name, file.c_str(), error.c_str());
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

// Reads files through the mount, several at once, which fills the cache. Returns the exit
// status. Whatever was read before an interruption stays in the cache.
int Prefetch(const std::vector<std::string>& files, int jobs, bool quiet_progress) {
  uint64_t total = 0;
  for (const std::string& f : files) total += fs::file_size(f);
  std::atomic<uint64_t> done{0};
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::mutex print_mu;
  const bool tty = ::isatty(STDERR_FILENO) && !quiet_progress;
  auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    std::vector<char> buf(1 << 20);
    for (size_t i; (i = next.fetch_add(1)) < files.size();) {
      int fd = ::open(files[i].c_str(), O_RDONLY | O_CLOEXEC);
      ssize_t n = 0;
      uint64_t bytes = 0;
      while (fd >= 0 && (n = ::read(fd, buf.data(), buf.size())) > 0) {
        bytes += static_cast<uint64_t>(n);
        done += static_cast<uint64_t>(n);
      }
      int err = fd < 0 || n < 0 ? errno : 0;
      if (fd >= 0) ::close(fd);
      std::lock_guard lock(print_mu);
      if (err != 0) {
        ++failures;
        std::fprintf(stderr, "%snetcache prefetch: %s: %s\n", tty ? "\r\033[K" : "", files[i].c_str(),
                     std::strerror(err));
      } else if (!tty) {
        std::printf("fetched %s (%llu bytes)\n", files[i].c_str(), static_cast<unsigned long long>(bytes));
        std::fflush(stdout);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  if (tty) {
    while (next.load() < files.size() + static_cast<size_t>(jobs) && done.load() < total) {
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double rate = seconds > 0 ? done.load() / seconds : 0;
      double eta = rate > 0 ? (total - done.load()) / rate : 0;
      {
        std::lock_guard lock(print_mu);
        std::fprintf(stderr, "\r\033[K%s / %s  %s/s  ETA %.0f s", HumanBytes(done.load()).c_str(),
                     HumanBytes(total).c_str(), HumanBytes(rate).c_str(), eta);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (next.load() >= files.size() && done.load() >= total) break;
    }
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (tty) std::fprintf(stderr, "\r\033[K");
  std::printf("prefetched %zu files, %s in %.1f s\n", files.size() - failures, HumanBytes(done.load()).c_str(),
              seconds);
  return failures == 0 ? 0 : 1;
}

}  // namespace

CommandRunner AddInspectCommand(CLI::App& app) {
  struct Args {
    std::string path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show how much of a file is cached, and where");
  cmd->add_option("PATH", args->path, "A file in a netcache mount")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  return [args]() -> int {
    MountedPath where;
    json reply;
    std::string error;
    if (!FindMount(args->path, &where, &error) ||
        !Control(where.mount_root, "inspect\t" + where.relative, &reply, &error)) {
      std::fprintf(stderr, "netcache inspect: %s\n", error.c_str());
      return 1;
    }
    reply.erase("ok");
    if (args->json) {
      std::printf("%s\n", reply.dump().c_str());
      return 0;
    }
    uint64_t size = reply["size"], cached = reply["cached_bytes"];
    std::printf("path        %s\nversion     %s\nsize        %s\ncached      %s (%.0f%%)%s\n",
                reply["path"].get<std::string>().c_str(), reply["version"].get<std::string>().c_str(),
                HumanBytes(size).c_str(), HumanBytes(cached).c_str(), size ? 100.0 * cached / size : 100.0,
                reply["pinned"].get<bool>() ? ", pinned" : "");
    std::string bar(60, '.');
    for (const auto& range : reply["ranges"]) {
      uint64_t a = range[0], b = range[1];
      if (size == 0) break;
      for (size_t i = a * bar.size() / size; i < bar.size() && i * size < b * bar.size(); ++i) bar[i] = '#';
    }
    std::printf("map         [%s]\n", bar.c_str());
    for (const auto& range : reply["ranges"]) {
      std::printf("            %llu-%llu\n", static_cast<unsigned long long>(range[0].get<uint64_t>()),
                  static_cast<unsigned long long>(range[1].get<uint64_t>()));
    }
    return 0;
  };
}

CommandRunner AddInvalidateCommand(CLI::App& app) {
  auto paths = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("invalidate", "Drop cached data of files or trees (refetched on next read)");
  cmd->add_option("PATH", *paths, "Files or directories in a netcache mount")->required();
  return [paths] { return ForEachFile("invalidate", "invalidate", *paths); };
}

CommandRunner AddPinCommand(CLI::App& app, bool pin) {
  struct Args {
    std::vector<std::string> paths;
    int jobs = 4;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(pin ? "pin" : "unpin",
                                     pin ? "Keep files in the cache (never culled) and fetch them whole"
                                         : "Let pinned files be culled again");
  cmd->add_option("PATH", args->paths, "Files or directories in a netcache mount")->required();
  if (pin) cmd->add_option("-j,--jobs", args->jobs, "Files fetched at once")->default_val(4);
  return [args, pin]() -> int {
    int rc = ForEachFile(pin ? "pin" : "unpin", pin ? "pin" : "unpin", args->paths);
    if (rc != 0 || !pin) return rc;
    std::string error;
    return Prefetch(ExpandFiles(args->paths, &error), args->jobs, false);
  };
}

CommandRunner AddCullCommand(CLI::App& app) {
  struct Args {
    std::string mountpoint;
    std::string to;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("cull", "Shrink a mount's cache now, coldest files first");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "A netcache mountpoint")->required();
  cmd->add_option("--to", args->to, "Target size, e.g. 1G (0 empties what is not in use)")->required();
  return [args]() -> int {
    auto target = ParseSize(args->to);
    if (!target) {
      std::fprintf(stderr, "netcache cull: --to %s is not a size\n", args->to.c_str());
      return 1;
    }
    json reply;
    std::string error;
    if (!Control(args->mountpoint, "cull\t" + std::to_string(*target), &reply, &error)) {
      std::fprintf(stderr, "netcache cull: %s\n", error.c_str());
      return 1;
    }
    std::printf("freed %s\n", HumanBytes(reply["freed_bytes"].get<double>()).c_str());
    return 0;
  };
}

CommandRunner AddRevalidateCommand(CLI::App& app) {
  struct Args {
    std::string mountpoint;
    double older_than = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("revalidate",
                                     "Re-check open files' versions with the origin (cached data of unchanged files is kept)");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "A netcache mountpoint")->required();
  cmd->add_option("--older-than", args->older_than, "Only files last checked more than SECONDS ago")
      ->default_val(0);
  cmd->add_flag("--json", args->json, "Print one JSON object");
  return [args]() -> int {
    json reply;
    std::string error;
    if (!Control(args->mountpoint, "revalidate\t" + std::to_string(args->older_than), &reply, &error)) {
      std::fprintf(stderr, "netcache revalidate: %s\n", error.c_str());
      return 1;
    }
    reply.erase("ok");
    if (args->json) {
      std::printf("%s\n", reply.dump().c_str());
    } else {
      std::printf("checked %llu files: %llu changed, %llu failed\n",
                  static_cast<unsigned long long>(reply["checked"].get<uint64_t>()),
                  static_cast<unsigned long long>(reply["changed"].get<uint64_t>()),
                  static_cast<unsigned long long>(reply["failed"].get<uint64_t>()));
    }
    return reply["failed"].get<uint64_t>() == 0 ? 0 : 1;
  };
}

CommandRunner AddPrefetchCommand(CLI::App& app) {
  struct Args {
    std::vector<std::string> paths;
    int jobs = 4;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("prefetch", "Fetch files or trees into the cache, in parallel");
  cmd->add_option("PATH", args->paths, "Files or directories in a netcache mount")->required();
  cmd->add_option("-j,--jobs", args->jobs, "Files fetched at once")->default_val(4)->check(CLI::Range(1, 64));
  return [args]() -> int {
    std::string error;
    std::vector<std::string> files = ExpandFiles(args->paths, &error);
    if (!error.empty()) {
      std::fprintf(stderr, "netcache prefetch: %s\n", error.c_str());
      return 1;
    }
    return Prefetch(files, args->jobs, false);
  };
}

}  // namespace cli
