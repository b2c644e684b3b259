// SPDX-License-Identifier: MIT
#include "util/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace util {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

void Log(LogLevel level, const char* format, ...) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  char line[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::tm tm_buf;
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm_buf));
  // One fprintf per line keeps concurrent log lines whole.
  std::fprintf(stderr, "%s netcache %s: %s\n", stamp, LevelName(level), line);
}

}  // namespace util
