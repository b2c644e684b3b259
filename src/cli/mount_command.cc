// SPDX-License-Identifier: MIT
// mount_command.cc — `netcache mount SOURCE MOUNTPOINT`: checks its arguments, assembles the
// layers (origin, cache, page cache, netfs, FUSE) and serves the mount, in the background by
// default. The command returns only once the mount is up, or with the reason it is not.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <iterator>
#include <sstream>

#include "cachefiles/cachefiles.h"
#include "cli/commands.h"
#include "folio/folio_pool.h"
#include "fscache/fscache.h"
#include "fuse/session.h"
#include "netfs/metadata_cache.h"
#include "netfs/netfs.h"
#include "origin/http_origin.h"
#include "origin/posix_origin.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace cli {
namespace {

struct MountArgs {
  std::string source;
  std::string mountpoint;
  std::string cache_dir;
  std::string memory_limit = "256M";
  std::string readahead = "64M";
  std::string prefetch_random_max = "4G";
  double attr_timeout = 1.0;
  bool foreground = false;
  bool no_cache = false;
  bool allow_other = false;
  bool debug = false;
  std::string log_file;
  int origin_threads = 8;
  int fuse_threads = 8;
  std::optional<size_t> max_inodes;  // Default: the memory limit / 16 KiB.
  int retries = 3;
  // HTTP(S) origins.
  int max_connections = 8;
  long connect_timeout = 10;
  long stall_timeout = 30;
  std::string ca_file;
  bool insecure = false;
  std::string header_file;
  bool offline = false;
  std::optional<double> stale_if_error;  // Seconds.
  std::string cache_size;
  cachefiles::CullPolicy cull;
  std::string cache_min_size;
  std::string cache_max_size;
  std::vector<std::string> cache_include;
  std::vector<std::string> cache_exclude;
  std::string metrics_listen;
  std::string config;  // Read by main.cc before parsing; listed here for --help.
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "netcache mount: %s\n", message.c_str());
  return 1;
}

}  // namespace

std::string UnescapeMountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::string MountedType(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point, word;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (UnescapeMountinfo(mount_point) != path) continue;
    while (fields >> word && word != "-") {  // Optional fields end at "-"; the type follows.
    }
    fields >> type;
  }
  return type;
}

namespace {

bool IsMountPoint(const std::string& path) { return !MountedType(path).empty(); }

// A year: long enough for any timeout, short enough for nanoseconds in 64 bits.
constexpr int64_t kMaxSeconds = 365LL * 24 * 3600;

// `path` with its symlinks resolved as far as it exists (a cache dir may not exist yet).
std::string ResolvedAsFarAsItExists(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return resolved;
  size_t slash = path.rfind('/');
  if (errno != ENOENT || slash == std::string::npos || slash == 0) return path;
  return ResolvedAsFarAsItExists(path.substr(0, slash)) + path.substr(slash);
}

// Whether `inner` is `outer` or below it (both resolved, absolute).
bool Within(const std::string& inner, const std::string& outer) {
  return inner == outer || outer == "/" || inner.rfind(outer + "/", 0) == 0;
}

// Paths that would make the daemon wait on its own mount (reads of the cache or the source
// through the mountpoint, which it serves), or count the mount as cache (the culler's size walk
// descending into it): refused before anything is mounted.
std::string CheckNesting(const MountArgs& args, bool http) {
  const std::string& mnt = args.mountpoint;  // Resolved by now; so is a local source.
  if (!args.no_cache) {
    const std::string cache = ResolvedAsFarAsItExists(args.cache_dir);
    if (Within(cache, mnt)) {
      return "the cache directory " + cache + " is inside the mountpoint " + mnt +
             ": the daemon would read its own mount; choose a cache directory outside it";
    }
    if (Within(mnt, cache)) {
      return "the mountpoint " + mnt + " is inside the cache directory " + cache +
             ": culling would count (and remove) what is mounted there; mount elsewhere";
    }
  }
  if (!http) {
    if (Within(mnt, args.source)) {
      return "the mountpoint " + mnt + " is inside the source " + args.source +
             ": the mount would serve itself; mount outside the source";
    }
    if (Within(args.source, mnt)) {
      return "the source " + args.source + " is inside the mountpoint " + mnt +
             ": the mount would hide it and serve itself; mount elsewhere";
    }
  }
  return "";
}

std::string CheckArguments(MountArgs& args) {
  const bool http = origin::IsHttpUrl(args.source);
  struct stat st;
  if (!http && args.source.find("://") != std::string::npos) {
    return "source " + args.source +
           ": only http://, https:// and local directories are supported";
  }
  if (!http) {
    if (::stat(args.source.c_str(), &st) != 0) {
      return "source " + args.source + ": " + std::strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) return "source " + args.source + " is not a directory";
  }
  if (::stat(args.mountpoint.c_str(), &st) != 0) {
    if (errno == ENOTCONN) {
      return "mountpoint " + args.mountpoint +
             " is a dead FUSE mount; clear it with: netcache umount --lazy " + args.mountpoint;
    }
    return "mountpoint " + args.mountpoint + ": " + std::strerror(errno);
  }
  if (!S_ISDIR(st.st_mode)) return "mountpoint " + args.mountpoint + " is not a directory";
  char resolved[PATH_MAX];
  if (::realpath(args.mountpoint.c_str(), resolved) == nullptr) {
    return "mountpoint " + args.mountpoint + ": " + std::strerror(errno);
  }
  args.mountpoint = resolved;
  if (IsMountPoint(args.mountpoint)) {
    return "mountpoint " + args.mountpoint + " is busy: something is already mounted there";
  }
  if (!http) {
    if (::realpath(args.source.c_str(), resolved) == nullptr) {
      return "source " + args.source + ": " + std::strerror(errno);
    }
    args.source = resolved;
  }
  if (args.retries < 0) return "--retries must not be negative";
  if (auto window = ParseSize(args.readahead); !window || *window < 128 * 1024) {
    return "--readahead " + args.readahead + " is not a size of at least 128K";
  }
  if (!ParseSize(args.prefetch_random_max)) {
    return "--prefetch-random-max " + args.prefetch_random_max + " is not a size";
  }
  if (!args.cache_size.empty()) {
    auto size = ParseSize(args.cache_size);
    if (!size || *size < 1024 * 1024) return "--cache-size " + args.cache_size + " is not a size of at least 1M";
  }
  for (const std::string* size : {&args.cache_min_size, &args.cache_max_size}) {
    if (!size->empty() && !ParseSize(*size)) return "cache admission size " + *size + " is not a size";
  }
  if (std::string bad = cachefiles::CheckPolicy(args.cull); !bad.empty()) {
    return "cache thresholds (--brun/--bcull/--bstop, --frun/--fcull/--fstop): " + bad;
  }
  if (args.offline && args.stale_if_error) return "--offline and --stale-if-error exclude each other";
  if (args.offline && args.no_cache) return "--offline needs the cache (drop --no-cache)";
  if (args.stale_if_error && *args.stale_if_error <= 0) return "--stale-if-error must be positive";
  if (args.max_connections < 1) return "--max-connections must be at least 1";
  if (args.connect_timeout < 1 || args.stall_timeout < 1) return "timeouts must be at least 1 s";
  if (args.cache_dir.empty()) args.cache_dir = DefaultCacheDir();
  if (args.cache_dir[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return std::string("getcwd: ") + std::strerror(errno);
    args.cache_dir = std::string(cwd) + "/" + args.cache_dir;
  }
  // NaN passes every comparison, and inf overflows the nanosecond timeouts made of it.
  if (!std::isfinite(args.attr_timeout) || args.attr_timeout < 0 || args.attr_timeout > kMaxSeconds) {
    return "--attr-timeout must be a number of seconds from 0 to " + std::to_string(kMaxSeconds);
  }
  if (args.stale_if_error &&
      (!std::isfinite(*args.stale_if_error) || *args.stale_if_error > kMaxSeconds)) {
    return "--stale-if-error must be a number of seconds up to " + std::to_string(kMaxSeconds);
  }
  if (!args.cache_min_size.empty() && !args.cache_max_size.empty() &&
      *ParseSize(args.cache_min_size) > *ParseSize(args.cache_max_size)) {
    return "--cache-min-size " + args.cache_min_size + " is larger than --cache-max-size " +
           args.cache_max_size + ": no file would be cached";
  }
  if (std::string nested = CheckNesting(args, http); !nested.empty()) return nested;
  if (args.origin_threads < 1 || args.fuse_threads < 1) return "thread counts must be at least 1";
  return "";
}

// Request headers (credentials) come from a file or the environment, never from the command
// line, so they do not show in ps; they are never logged.
util::Result<origin::HttpClientOptions> HttpOptionsOf(const MountArgs& args) {
  origin::HttpClientOptions options;
  options.max_connections = args.max_connections;
  options.connect_timeout_s = args.connect_timeout;
  options.stall_timeout_s = args.stall_timeout;
  options.ca_file = args.ca_file;
  options.insecure = args.insecure;
  std::string lines;
  if (const char* env = std::getenv("NETCACHE_HTTP_HEADERS")) lines = env;
  if (!args.header_file.empty()) {
    std::ifstream file(args.header_file);
    if (!file) {
      return util::Status::Error(util::Code::kNotFound,
                                 "--header-file " + args.header_file + ": cannot read it");
    }
    lines += "\n" + std::string(std::istreambuf_iterator<char>(file), {});
  }
  std::istringstream stream(lines);
  std::string line;
  while (std::getline(stream, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.find(':') == std::string::npos) {
      return util::Status::Error(util::Code::kInvalidArgument,
                                 "a header line has no ':' (expected \"Name: value\")");
    }
    options.headers.push_back(line);
  }
  return options;
}

// Shells and services start with a soft limit of 1024 descriptors and a much higher hard one;
// the cache's budget of open objects is an eighth of the soft limit (cachefiles::
// DefaultOpenObjects), so take what the hard limit allows. Best effort.
void RaiseDescriptorLimit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    NC_LOG_DEBUG("descriptor limit not raised: %s", std::strerror(errno));
  }
}

// What a file the kernel knows costs the daemon, rounded up (measured about 0.75 KB).
constexpr uint64_t kBytesPerKnownFile = 1024;

// The daemon's body. `ready_fd` receives one byte once mounted (or is closed on failure).
int Serve(const MountArgs& args, uint64_t memory_limit, int ready_fd) {
  if (args.debug) util::SetLogLevel(util::LogLevel::kDebug);
  RaiseDescriptorLimit();
  std::unique_ptr<fscache::Backend> backend;
  if (!args.no_cache) {
    cachefiles::CullPolicy policy = args.cull;
    if (!args.cache_size.empty()) policy.cache_size = *ParseSize(args.cache_size);
    auto opened = cachefiles::OpenCache(args.cache_dir, cachefiles::kDefaultGranuleSize, policy);
    if (!opened.ok()) return Fail(opened.status().message());
    backend = std::move(*opened);
  }
  util::ThreadPool origin_io("nc-origin", args.origin_threads);
  util::Result<std::unique_ptr<origin::Origin>> origin =
      util::Status::Error(util::Code::kInvalidArgument, "no origin");
  if (origin::IsHttpUrl(args.source)) {
    auto http_options = HttpOptionsOf(args);
    if (!http_options.ok()) return Fail(http_options.status().message());
    origin = origin::OpenHttpOrigin(args.source, std::move(*http_options), &origin_io,
                                    /*probe=*/!args.offline);
  } else {
    origin = origin::OpenPosixOrigin(args.source, &origin_io);
  }
  if (!origin.ok()) return Fail(origin.status().message());
  fscache::Cache cache(std::move(backend), 4);
  auto volume = cache.AcquireVolume((*origin)->VolumeKey());
  if (!volume.ok()) return Fail(volume.status().message());

  netfs::MetadataCacheOptions metadata_options;
  metadata_options.ttl = std::chrono::nanoseconds(static_cast<int64_t>(args.attr_timeout * 1e9));
  metadata_options.listing_readahead = 64;
  if (args.offline) metadata_options.policy = netfs::OriginPolicy::kOffline;
  if (args.stale_if_error) {
    metadata_options.policy = netfs::OriginPolicy::kStaleIfError;
    metadata_options.stale_bound =
        std::chrono::nanoseconds(static_cast<int64_t>(*args.stale_if_error * 1e9));
  }
  netfs::MetadataCachingOrigin cached_origin(origin->get(), (*origin)->VolumeKey(), *volume,
                                             metadata_options);

  // The limit is the daemon's, not the page cache's alone: each file the kernel knows costs
  // about 0.75 KB (inode table, names), up to --max-inodes of them, so their share is kept
  // out of the pool (at most half). Reading 100,000 small files with the whole limit as pool
  // peaked at 299 MiB RSS for a limit of 256 MiB.
  const size_t max_inodes = args.max_inodes.value_or(memory_limit / (16 * 1024));
  const uint64_t inode_share =
      std::min<uint64_t>(max_inodes * kBytesPerKnownFile, memory_limit / 2);
  folio::FolioPool pool(memory_limit - inode_share);
  netfs::Options netfs_options;
  netfs_options.retries = args.retries;
  netfs_options.max_readahead = *ParseSize(args.readahead);
  // Each origin request waits a round trip for its first byte, so the whole window should be in
  // flight at once: one request per connection. At 20 ms, 8 connections, 64 MiB: cold 779-959
  // MiB/s in 8 MiB requests against 622-636 in 4 MiB ones (at most 32 MiB in flight).
  const uint64_t window = std::min<uint64_t>(netfs_options.max_readahead, memory_limit / 4);
  const int parallel = origin::IsHttpUrl(args.source) ? args.max_connections : args.origin_threads;
  netfs_options.max_subrequest =
      std::clamp<uint64_t>(window / static_cast<uint64_t>(parallel), 1024 * 1024, 16 * 1024 * 1024);
  // A file fetched whole must fit the cache with room to spare, or the culler would take its
  // first part (and everything else) to make room for its last.
  uint64_t prefetch_max = *ParseSize(args.prefetch_random_max);
  if (!args.cache_size.empty()) {
    prefetch_max = std::min(prefetch_max, *ParseSize(args.cache_size) / 2);
  }
  netfs_options.random_prefetch_large_max = prefetch_max;
  netfs_options.random_prefetch_max = std::min(netfs_options.random_prefetch_max, prefetch_max);
  // Readahead takes up to a quarter of the memory too; the rest is what readers keep.
  netfs_options.max_cache_backlog = memory_limit / 4;
  if (!args.cache_min_size.empty()) netfs_options.admission.min_size = *ParseSize(args.cache_min_size);
  if (!args.cache_max_size.empty()) netfs_options.admission.max_size = *ParseSize(args.cache_max_size);
  netfs_options.admission.include = args.cache_include;
  netfs_options.admission.exclude = args.cache_exclude;
  netfs::Netfs netfs(&cached_origin, &pool, *volume, netfs_options);
  nc_fuse::FsContext context{&cached_origin, &netfs, &pool, args.no_cache ? nullptr : &cache,
                             args.source, args.no_cache ? "" : args.cache_dir,
                             &cached_origin.stats()};
  nc_fuse::SessionOptions options;
  options.mountpoint = args.mountpoint;
  std::string fsname = "netcache:" + args.source;
  for (char& ch : fsname) {
    if (ch == ',' || ch == ' ') ch = '_';  // Would split or end the -o option string.
  }
  options.fsname = fsname;
  options.attr_timeout = args.attr_timeout;
  options.allow_other = args.allow_other;
  options.debug = args.debug;
  options.max_threads = args.fuse_threads;
  options.metrics_listen = args.metrics_listen;
  // As many closed files keep their state as the cache may keep objects open: past that, an
  // object would only be kept to have its files closed.
  options.idle_files = cachefiles::DefaultOpenObjects();
  options.max_inodes = max_inodes;  // Their share of the memory limit is kept out of the pool.
  auto session = nc_fuse::Session::Mount(context, options);
  if (!session.ok()) return Fail(session.status().message());

  NC_LOG_INFO("mounted %s on %s, cache %s", args.source.c_str(), args.mountpoint.c_str(),
              args.no_cache ? "off" : args.cache_dir.c_str());
  if (ready_fd >= 0) {
    // Detach from the terminal; from here on, messages go to the log file (or nowhere).
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    int log = args.log_file.empty()
                  ? devnull
                  : ::open(args.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) log = devnull;
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    char ok = 0;
    if (::write(ready_fd, &ok, 1) != 1) return 1;
    ::close(ready_fd);
  }
  util::Status status = (*session)->Loop();
  netfs.WaitIdle();
  session->reset();
  if (!status.ok()) NC_LOG_ERROR("%s", status.ToString().c_str());
  NC_LOG_INFO("unmounted %s", args.mountpoint.c_str());
  return status.ok() ? 0 : 1;
}

}  // namespace

CommandRunner AddMountCommand(CLI::App& app) {
  auto args = std::make_shared<MountArgs>();
  CLI::App* cmd = app.add_subcommand("mount", "Mount SOURCE at MOUNTPOINT with a persistent cache");
  // Options may come twice (config file, then command line): the last one wins.
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--config", args->config,
                  "TOML file of option defaults [default: ~/.config/netcache/config.toml]");
  cmd->add_option("SOURCE", args->source,
                  "Directory to cache (e.g. an NFS or SMB mount), or an http(s):// URL")
      ->required();
  cmd->add_option("MOUNTPOINT", args->mountpoint, "Empty directory to mount on")->required();
  cmd->add_option("--cache-dir", args->cache_dir,
                  "Persistent cache directory [default: $XDG_CACHE_HOME/netcache or "
                  "~/.cache/netcache]");
  cmd->add_option("--memory-limit", args->memory_limit,
                  "Memory limit of the daemon's caches, e.g. 256M, 1G: the page cache, and "
                  "about 1 KiB for each file the kernel may know (--max-inodes)")
      ->default_val("256M");
  cmd->add_option("--readahead", args->readahead,
                  "Largest readahead window of a sequential reader (at most a quarter of "
                  "--memory-limit is used), split into one request per connection; more "
                  "covers more latency")
      ->default_val("64M");
  cmd->add_option("--prefetch-random-max", args->prefetch_random_max,
                  "Largest file fetched whole in the background once read at random: up to "
                  "128M at the second random read, larger once random reads have downloaded "
                  "1/128 of it (at most half of --cache-size; 0: never)")
      ->default_val("4G");
  cmd->add_option("--attr-timeout", args->attr_timeout,
                  "Seconds before origin changes are looked for again")
      ->default_val(1.0);
  cmd->add_flag("-f,--foreground", args->foreground, "Stay in the foreground, log to stderr");
  cmd->add_flag("--no-cache", args->no_cache, "No persistent cache (memory only)");
  cmd->add_flag("--allow-other", args->allow_other, "Let other users access the mount");
  cmd->add_option("--log-file", args->log_file, "Daemon log file (in the background)");
  cmd->add_flag("-d,--debug", args->debug, "Debug logging (and FUSE traces)");
  cmd->add_option("--origin-threads", args->origin_threads, "Parallel origin reads")
      ->default_val(8);
  cmd->add_option("--fuse-threads", args->fuse_threads, "FUSE worker threads")->default_val(8);
  cmd->add_option("--max-inodes", args->max_inodes,
                  "Files and directories the kernel may know at once; past it, it is asked to "
                  "forget the least recently used files (about 0.75 KB each) [default: "
                  "--memory-limit / 16 KiB; 0: no bound]");
  cmd->add_option("--retries", args->retries,
                  "Further attempts after a transient origin error (backoff doubles)")
      ->default_val(3);
  cmd->add_option("--max-connections", args->max_connections, "HTTP: connections per server")
      ->default_val(8);
  cmd->add_option("--connect-timeout", args->connect_timeout, "HTTP: seconds to connect")
      ->default_val(10);
  cmd->add_option("--timeout", args->stall_timeout,
                  "HTTP: seconds without progress before a transfer is abandoned")
      ->default_val(30);
  cmd->add_option("--cache-size", args->cache_size,
                  "Keep the cache under SIZE (e.g. 20G); the coldest files are culled first");
  auto percent = [&](const char* name, double* value, const char* what) {
    cmd->add_option(name, *value, what)->default_val(*value)->check(CLI::Range(0.0, 99.0));
  };
  percent("--brun", &args->cull.brun, "Culling stops when this % of the cache's disk is free");
  percent("--bcull", &args->cull.bcull, "Culling starts below this % of free disk space");
  percent("--bstop", &args->cull.bstop, "No new cache writes below this % of free disk space");
  percent("--frun", &args->cull.frun, "As --brun, for free files (inodes)");
  percent("--fcull", &args->cull.fcull, "As --bcull, for free files (inodes)");
  percent("--fstop", &args->cull.fstop, "As --bstop, for free files (inodes)");
  cmd->add_option("--cache-min-size", args->cache_min_size, "Do not cache files smaller than SIZE");
  cmd->add_option("--cache-max-size", args->cache_max_size, "Do not cache files larger than SIZE");
  cmd->add_option("--cache-include", args->cache_include,
                  "Cache only files whose path matches one of these globs (repeatable)");
  cmd->add_option("--cache-exclude", args->cache_exclude,
                  "Never cache files whose path matches one of these globs (repeatable)");
  cmd->add_option("--metrics-listen", args->metrics_listen,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464");
  cmd->add_flag("--offline", args->offline,
                "Never contact the origin: serve what the cache holds (listings included)");
  cmd->add_option("--stale-if-error", args->stale_if_error,
                  "When the origin fails, serve cached files and listings up to SECONDS old")
      ->expected(0, 1)
      ->default_str("86400");
  cmd->add_option("--ca-file", args->ca_file, "HTTPS: CA certificates (PEM) to verify servers");
  cmd->add_flag("--insecure", args->insecure, "HTTPS: do not verify the server's certificate");
  cmd->add_option("--header-file", args->header_file,
                  "HTTP: file of \"Name: value\" request headers (e.g. Authorization); also "
                  "$NETCACHE_HTTP_HEADERS");
  return [args]() -> int {
    std::string error = CheckArguments(*args);
    if (!error.empty()) return Fail(error);
    auto memory_limit = ParseSize(args->memory_limit);
    if (!memory_limit || *memory_limit < 1024 * 1024) {
      return Fail("--memory-limit " + args->memory_limit + " is not a size of at least 1M");
    }
    if (args->foreground) return Serve(*args, *memory_limit, -1);
    // Fork before any thread exists; the parent reports whether the mount came up.
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Fail(std::string("pipe: ") + std::strerror(errno));
    pid_t child = ::fork();
    if (child < 0) return Fail(std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
      ::close(pipe_fds[0]);
      ::_exit(Serve(*args, *memory_limit, pipe_fds[1]));
    }
    ::close(pipe_fds[1]);
    char byte;
    ssize_t n;
    do {
      n = ::read(pipe_fds[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : 1;  // The daemon printed its reason on our stderr.
  };
}

}  // namespace cli
