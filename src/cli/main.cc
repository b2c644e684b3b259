// SPDX-License-Identifier: MIT
// main.cc — the netcache command: mount, umount, stat.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"netcache: a persistent local cache in front of remote file storage, mounted with FUSE"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netcache 0.1.0");
  cli::CommandRunner mount = cli::AddMountCommand(app);
  cli::CommandRunner umount = cli::AddUmountCommand(app);
  cli::CommandRunner stat = cli::AddStatCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("mount")) return mount();
  if (app.got_subcommand("umount")) return umount();
  if (app.got_subcommand("stat")) return stat();
  return 2;
}
