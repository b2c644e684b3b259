// SPDX-License-Identifier: MIT
// stat_command.cc — `netcache stat MOUNTPOINT [--json]`: the daemon's counters, read from the
// "user.netcache.stats" extended attribute of the mount's root.
#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <chrono>
#include <memory>
#include <thread>
#include <unistd.h>

#include "cli/commands.h"

namespace cli {

bool ReadStats(const std::string& mountpoint, std::string* json, std::string* error) {
  std::string buf(64 * 1024, '\0');
  ssize_t n = ::getxattr(mountpoint.c_str(), "user.netcache.stats", buf.data(), buf.size());
  if (n < 0) {
    *error = errno == ENODATA || errno == ENOTSUP
                 ? mountpoint + " is not a netcache mount"
                 : mountpoint + ": " + std::strerror(errno);
    return false;
  }
  buf.resize(static_cast<size_t>(n));
  *json = std::move(buf);
  return true;
}

namespace {

// Our JSON is flat {"key":value,...} with no nested objects, so a line-per-pair rendering is
// a simple scan rather than a parser.
void PrintHuman(const std::string& json) {
  std::string body = json.substr(1, json.size() - 2);
  size_t at = 0;
  while (at < body.size()) {
    size_t colon = body.find(':', at);
    if (colon == std::string::npos) break;
    std::string key = body.substr(at + 1, colon - at - 2);
    size_t end = colon + 1;
    if (end < body.size() && body[end] == '"') {
      end = body.find('"', end + 1);
      while (end != std::string::npos && body[end - 1] == '\\') end = body.find('"', end + 1);
      end = end == std::string::npos ? body.size() : end + 1;
    } else {
      end = body.find(',', end);
      if (end == std::string::npos) end = body.size();
    }
    std::string value = body.substr(colon + 1, end - colon - 1);
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    std::printf("%-22s %s\n", key.c_str(), value.c_str());
    at = end + 1;
  }
}

}  // namespace

CommandRunner AddStatCommand(CLI::App& app) {
  struct Args {
    std::string mountpoint;
    bool json = false;
    bool watch = false;
    int count = 0;
    double interval = 1.0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("stat", "Print a mount's counters");
  cmd->add_option("MOUNTPOINT", args->mountpoint, "A netcache mountpoint")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object (one per line with --watch)");
  cmd->add_flag("-w,--watch", args->watch, "Print again every --interval seconds until interrupted");
  cmd->add_option("--interval", args->interval, "Seconds between --watch updates")->default_val(1.0);
  cmd->add_option("--count", args->count, "With --watch: stop after this many updates (0: never)");
  return [args]() -> int {
    const bool tty = ::isatty(STDOUT_FILENO) && !args->json;
    for (int shown = 0;; ++shown) {
      std::string json, error;
      if (!ReadStats(args->mountpoint, &json, &error)) {
        std::fprintf(stderr, "netcache stat: %s\n", error.c_str());
        return 1;
      }
      if (args->watch && tty) std::printf("\033[H\033[2J");  // Redraw in place.
      if (args->json) {
        std::printf("%s\n", json.c_str());
      } else {
        PrintHuman(json);
        if (args->watch && !tty) std::printf("\n");
      }
      std::fflush(stdout);
      if (!args->watch || (args->count > 0 && shown + 1 >= args->count)) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(args->interval * 1000)));
    }
  };
}

}  // namespace cli
