// SPDX-License-Identifier: MIT
// commands.h — the netcache subcommands. Each Add*Command registers its options on the CLI11
// app and returns the function that runs it (an exit status).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace cli {

using CommandRunner = std::function<int()>;

CommandRunner AddMountCommand(CLI::App& app);
CommandRunner AddUmountCommand(CLI::App& app);
CommandRunner AddStatCommand(CLI::App& app);
CommandRunner AddInspectCommand(CLI::App& app);
CommandRunner AddInvalidateCommand(CLI::App& app);
CommandRunner AddPinCommand(CLI::App& app, bool pin);
CommandRunner AddCullCommand(CLI::App& app);
CommandRunner AddRevalidateCommand(CLI::App& app);
CommandRunner AddPrefetchCommand(CLI::App& app);
CommandRunner AddCacheCommand(CLI::App& app);

// When invoked as a mount helper (mount.fuse.netcache, or `netcache SOURCE MOUNTPOINT -o OPTS`
// from mount.fuse3), the equivalent `netcache mount ...` arguments.
std::optional<std::vector<std::string>> MountHelperArgs(int argc, char** argv);

// /proc/self/mountinfo fields escape spaces and such as octal (\040).
std::string UnescapeMountinfo(const std::string& field);
// The file system type mounted at `path` (absolute, resolved; the last mount there, as in
// /proc/self/mountinfo), or "" if nothing is mounted there.
std::string MountedType(const std::string& path);

// Config file support for `netcache mount` (config.cc).
std::string DefaultConfigPath();
util::Result<std::vector<std::string>> ConfigArgs(const std::string& path, const CLI::App& mount);

// "256M", "20G", "4096", "1.5G" -> bytes (binary units). Empty on bad input.
std::optional<uint64_t> ParseSize(const std::string& text);
// $XDG_CACHE_HOME/netcache or ~/.cache/netcache.
std::string DefaultCacheDir();
// Reads the daemon's JSON counters from a mountpoint; returns false with `error` set.
bool ReadStats(const std::string& mountpoint, std::string* json, std::string* error);

}  // namespace cli
