// SPDX-License-Identifier: MIT
// mount_helper.cc — lets mount(8) mount netcache from /etc/fstab:
//   http://host/data  /mnt/data  fuse.netcache  cache-size=20G,allow_other  0 0
// mount(8) runs mount.fuse3, which runs `netcache SOURCE MOUNTPOINT -o OPTIONS`; installed as
// /sbin/mount.fuse.netcache (or mount.netcache) the binary is called directly the same way.
// Options become `netcache mount` flags: key=value -> --key value, a bare word -> --word; the
// generic mount options that mean nothing to netcache (rw, defaults, nofail, x-systemd.*, ...)
// are ignored.
#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

#include "cli/commands.h"

namespace cli {
namespace {

const std::set<std::string> kIgnored = {
    "rw", "ro", "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail",
    "_netdev", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime", "relatime",
    "norelatime", "strictatime", "diratime", "nodiratime", "sync", "async", "lazytime", "silent", "loud"};

}  // namespace

std::optional<std::vector<std::string>> MountHelperArgs(int argc, char** argv) {
  std::string self = argv[0];
  self = self.substr(self.rfind('/') + 1);
  bool as_helper = self.rfind("mount.", 0) == 0;
  std::vector<std::string> rest(argv + 1, argv + argc);
  bool has_o = std::find(rest.begin(), rest.end(), "-o") != rest.end();
  static const std::set<std::string> kCommands = {"mount", "umount", "stat", "inspect", "prefetch",
                                                  "invalidate", "pin", "unpin", "cull", "cache",
                                                  "revalidate"};
  bool looks_like_helper = rest.size() >= 2 && !kCommands.count(rest[0]) && rest[0][0] != '-' && has_o;
  if (!as_helper && !looks_like_helper) return std::nullopt;
  std::vector<std::string> out = {"netcache", "mount"};
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    if (arg == "-o" && i + 1 < rest.size()) {
      std::stringstream options(rest[++i]);
      std::string option;
      while (std::getline(options, option, ',')) {
        if (option.empty() || kIgnored.count(option) || option.rfind("x-", 0) == 0) continue;
        size_t eq = option.find('=');
        std::string key = option.substr(0, eq);
        for (char& c : key) {
          if (c == '_') c = '-';
        }
        out.push_back("--" + key);
        if (eq != std::string::npos) out.push_back(option.substr(eq + 1));
      }
    } else if (arg == "-n" || arg == "-s" || arg == "-f" || arg == "-v") {
      continue;  // mount(8)'s: no mtab, sloppy, fake, verbose.
    } else if (arg == "-t" && i + 1 < rest.size()) {
      ++i;
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

}  // namespace cli
