// SPDX-License-Identifier: MIT
// main.cc — the netcache command: mount, umount, stat.
#include <cstdio>
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
