// SPDX-License-Identifier: MIT
// log.h — printf-style logging to stderr (or syslog-like file once daemonized). Messages never
// contain credentials; callers pass paths and codes only.
#pragma once

namespace util {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace util

#define NC_LOG_DEBUG(...) ::util::Log(::util::LogLevel::kDebug, __VA_ARGS__)
#define NC_LOG_INFO(...) ::util::Log(::util::LogLevel::kInfo, __VA_ARGS__)
#define NC_LOG_WARN(...) ::util::Log(::util::LogLevel::kWarn, __VA_ARGS__)
#define NC_LOG_ERROR(...) ::util::Log(::util::LogLevel::kError, __VA_ARGS__)
