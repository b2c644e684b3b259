// SPDX-License-Identifier: MIT
// config.cc — defaults for `netcache mount` from a TOML file ($XDG_CONFIG_HOME/netcache/
// config.toml or ~/.config/netcache/config.toml, or --config FILE). Keys are the long option
// names (cache-dir, cache_size, ...); command-line options override the file. An unknown key or
// a value of the wrong type is an error naming the file and line.
//
//   cache-dir = "/var/cache/netcache"
//   cache-size = "20G"
//   attr-timeout = 2.5
//   allow-other = true
//   cache-exclude = ["*.tmp", "*.iso"]
#include <toml++/toml.h>

#include <cstdlib>
#include <sstream>

#include "cli/commands.h"

namespace cli {

std::string DefaultConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/netcache/config.toml";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && home[0] != '\0' ? home : "/root") + "/.config/netcache/config.toml";
}

util::Result<std::vector<std::string>> ConfigArgs(const std::string& path, const CLI::App& mount) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream message;
    message << path << ":" << e.source().begin.line << ": " << e.description();
    return util::Status::Error(util::Code::kInvalidArgument, message.str());
  }
  std::vector<std::string> args;
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    for (char& c : name) {
      if (c == '_') c = '-';
    }
    auto where = [&] { return path + ":" + std::to_string(node.source().begin.line) + ": "; };
    const CLI::Option* option = nullptr;
    try {
      option = mount.get_option_no_throw("--" + name);
    } catch (...) {
      option = nullptr;
    }
    if (option == nullptr || !option->nonpositional() || name == "config") {
      return util::Status::Error(util::Code::kInvalidArgument, where() + "unknown key '" + name + "'");
    }
    auto scalar = [&](const toml::node& value, std::string* out) {
      if (auto s = value.as_string()) {
        *out = s->get();
      } else if (auto i = value.as_integer()) {
        *out = std::to_string(i->get());
      } else if (auto f = value.as_floating_point()) {
        std::ostringstream text;
        text << f->get();
        *out = text.str();
      } else {
        return false;
      }
      return true;
    };
    std::string value;
    if (auto b = node.as_boolean()) {
      if (option->get_expected_max() != 0) {
        return util::Status::Error(util::Code::kInvalidArgument,
                                   where() + "'" + name + "' takes a value, not true/false");
      }
      if (b->get()) args.push_back("--" + name);
    } else if (auto array = node.as_array()) {
      for (auto&& item : *array) {
        if (!scalar(item, &value)) {
          return util::Status::Error(util::Code::kInvalidArgument, where() + "'" + name + "' wants a list of strings");
        }
        args.push_back("--" + name);
        args.push_back(value);
      }
    } else if (scalar(node, &value)) {
      if (option->get_expected_max() == 0) {
        return util::Status::Error(util::Code::kInvalidArgument, where() + "'" + name + "' is a flag: use true or false");
      }
      args.push_back("--" + name);
      args.push_back(value);
    } else {
      return util::Status::Error(util::Code::kInvalidArgument, where() + "unsupported value for '" + name + "'");
    }
  }
  return args;
}

}  // namespace cli
