// SPDX-License-Identifier: MIT
// cache_command.cc — `netcache cache ls|du|clear --cache-dir DIR`: the cache directory itself,
// without a mount.
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cachefiles/cachefiles.h"
#include "cli/commands.h"

namespace cli {

CommandRunner AddCacheCommand(CLI::App& app) {
  struct Args {
    std::string action;
    std::string cache_dir;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("cache", "List, measure or clear a cache directory (no mount needed)");
  cmd->add_option("ACTION", args->action, "ls, du or clear")
      ->required()
      ->check(CLI::IsMember({"ls", "du", "clear"}));
  cmd->add_option("--cache-dir", args->cache_dir, "The cache directory [default: as mount]");
  cmd->add_flag("--json", args->json, "JSON output");
  return [args]() -> int {
    std::string dir = args->cache_dir.empty() ? DefaultCacheDir() : args->cache_dir;
    if (args->action == "clear") {
      util::Status status = cachefiles::ClearCacheDir(dir);
      if (!status.ok()) {
        std::fprintf(stderr, "netcache cache clear: %s\n", status.message().c_str());
        return 1;
      }
      std::printf("cleared %s\n", dir.c_str());
      return 0;
    }
    auto entries = cachefiles::ListCacheDir(dir);
    if (!entries.ok()) {
      std::fprintf(stderr, "netcache cache %s: %s\n", args->action.c_str(), entries.status().message().c_str());
      return 1;
    }
    if (args->action == "ls") {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : *entries) {
        if (args->json) {
          out.push_back({{"volume", e.volume}, {"key", e.key}, {"size", e.size},
                         {"cached_bytes", e.cached_bytes}, {"allocated", e.allocated},
                         {"opens", e.access.opens}, {"last_access_ns", e.access.last_access_ns},
                         {"pinned", e.access.pinned}});
          continue;
        }
        std::time_t t = static_cast<std::time_t>(e.access.last_access_ns / 1000000000);
        char when[32];
        std::tm tm_buf;
        std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm_buf));
        std::printf("%12llu/%-12llu %s%s  %s  %s\n", static_cast<unsigned long long>(e.cached_bytes),
                    static_cast<unsigned long long>(e.size), when, e.access.pinned ? " pinned" : "",
                    e.volume.c_str(), e.key.c_str());
      }
      if (args->json) std::printf("%s\n", out.dump().c_str());
      return 0;
    }
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_volume;  // files, cached bytes
    for (const auto& e : *entries) {
      by_volume[e.volume].first += 1;
      by_volume[e.volume].second += e.cached_bytes;
    }
    uint64_t total = cachefiles::CacheDirBytes(dir);
    if (args->json) {
      nlohmann::json out = {{"cache_dir", dir}, {"bytes", total}, {"files", entries->size()}};
      for (auto& [volume, v] : by_volume) out["volumes"][volume] = {{"files", v.first}, {"cached_bytes", v.second}};
      std::printf("%s\n", out.dump().c_str());
      return 0;
    }
    for (auto& [volume, v] : by_volume) {
      std::printf("%8llu files %14llu bytes cached  %s\n", static_cast<unsigned long long>(v.first),
                  static_cast<unsigned long long>(v.second), volume.c_str());
    }
    std::printf("%llu bytes on disk in %s\n", static_cast<unsigned long long>(total), dir.c_str());
    return 0;
  };
}

}  // namespace cli
