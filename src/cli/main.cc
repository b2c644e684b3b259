// SPDX-License-Identifier: MIT
// main.cc — the netcache command: mount, umount, stat.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"netcache: a persistent local cache in front of remote file storage, mounted with FUSE"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netcache 0.1.0");
  std::map<std::string, cli::CommandRunner> commands = {
      {"mount", cli::AddMountCommand(app)},
      {"umount", cli::AddUmountCommand(app)},
      {"stat", cli::AddStatCommand(app)},
      {"inspect", cli::AddInspectCommand(app)},
      {"prefetch", cli::AddPrefetchCommand(app)},
      {"invalidate", cli::AddInvalidateCommand(app)},
      {"pin", cli::AddPinCommand(app, true)},
      {"unpin", cli::AddPinCommand(app, false)},
      {"cull", cli::AddCullCommand(app)},
      {"revalidate", cli::AddRevalidateCommand(app)},
      {"cache", cli::AddCacheCommand(app)},
  };
  std::vector<std::string> helper_args;
  std::vector<char*> helper_argv;
  if (auto translated = cli::MountHelperArgs(argc, argv)) {
    helper_args = std::move(*translated);
    for (std::string& arg : helper_args) helper_argv.push_back(arg.data());
    argc = static_cast<int>(helper_argv.size());
    argv = helper_argv.data();
  }
  // `netcache mount` reads its defaults from the config file: they go in front of the command
  // line's own options, and since each option keeps its last value, the command line wins.
  if (argc >= 2 && std::string(argv[1]) == "mount") {
    std::string config = cli::DefaultConfigPath();
    bool explicit_config = false;
    std::vector<std::string> rest;
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--config" && i + 1 < argc) {
        config = argv[++i];
        explicit_config = true;
      } else if (arg.rfind("--config=", 0) == 0) {
        config = arg.substr(9);
        explicit_config = true;
      } else {
        rest.push_back(arg);
      }
    }
    bool use = explicit_config || std::ifstream(config).good();
    if (use && !std::ifstream(config).good()) {
      std::fprintf(stderr, "netcache mount: --config %s: cannot read it\n", config.c_str());
      return 1;
    }
    std::vector<std::string> merged = {argv[0], "mount"};
    if (use) {
      auto from_file = cli::ConfigArgs(config, *app.get_subcommand("mount"));
      if (!from_file.ok()) {
        std::fprintf(stderr, "netcache mount: %s\n", from_file.status().message().c_str());
        return 1;
      }
      merged.insert(merged.end(), from_file->begin(), from_file->end());
    }
    merged.insert(merged.end(), rest.begin(), rest.end());
    helper_args = std::move(merged);
    helper_argv.clear();
    for (std::string& arg : helper_args) helper_argv.push_back(arg.data());
    argc = static_cast<int>(helper_argv.size());
    argv = helper_argv.data();
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [name, run] : commands) {
    if (app.got_subcommand(name)) return run();
  }
  return 2;
}
