// SPDX-License-Identifier: MIT
// session.h — the FUSE front end: a read-only file system over netfs, served by libfuse3's
// low-level API on a multithreaded loop. Counters are exposed as the extended attribute
// "user.netcache.stats" (JSON) on every inode, so `netcache stat` needs no extra channel.
#pragma once

#include <memory>
#include <string>

#include "folio/folio_pool.h"
#include "fscache/fscache.h"
#include "netfs/metadata_cache.h"
#include "netfs/netfs.h"
#include "origin/origin.h"
#include "util/status.h"

namespace nc_fuse {

inline constexpr char kStatsXattr[] = "user.netcache.stats";
inline constexpr char kCachedXattr[] = "user.netcache.cached";

struct SessionOptions {
  std::string mountpoint;
  std::string fsname;         // Shown in /proc/mounts.
  double attr_timeout = 1.0;  // Seconds the kernel may trust attributes and entries.
  bool allow_other = false;
  bool debug = false;
  int max_threads = 8;
  std::string metrics_listen;  // "HOST:PORT" for Prometheus; empty: none.
  // Closed files whose netfs inode (its folios, its cache object) is kept for their next open;
  // beyond this many the least recently closed let theirs go. The kernel keeps an inode for
  // every file it has seen, so without a bound this state grew by about 1.7 KB per file read.
  size_t idle_files = 4096;
  // Files and directories the kernel may know at once: past it, the kernel is asked to forget
  // the least recently used files (each costs us about 0.75 KB while it knows them, and the
  // kernel keeps every inode it has seen while it has memory to spare). 0: no bound.
  size_t max_inodes = 0;
};

// Everything the handlers use; borrowed, must outlive the session.
struct FsContext {
  origin::Origin* origin = nullptr;
  netfs::Netfs* netfs = nullptr;
  folio::FolioPool* pool = nullptr;
  fscache::Cache* cache = nullptr;  // May be null (no cache).
  std::string source;
  std::string cache_dir;
  netfs::MetadataCacheStats* metadata = nullptr;  // May be null.
};

class Session {
 public:
  // Mounts; on failure returns a clear error and leaves nothing mounted.
  static util::Result<std::unique_ptr<Session>> Mount(FsContext context, SessionOptions options);
  ~Session();  // Unmounts if still mounted.
  // Serves requests until unmounted or signalled (SIGINT, SIGTERM, SIGHUP).
  util::Status Loop();

  struct Impl;  // Defined in lowlevel.cc; the handlers' state.

 private:
  Session() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nc_fuse
