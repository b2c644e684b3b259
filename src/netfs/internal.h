// SPDX-License-Identifier: MIT
// internal.h — netfs's request objects, shared by the files of this folder only.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "netfs/netfs.h"

namespace netfs {

// Counts a request as in flight for Netfs::WaitIdle() from construction to destruction.
class IoToken {
 public:
  explicit IoToken(Netfs* netfs);
  ~IoToken();
  IoToken(const IoToken&) = delete;
  IoToken& operator=(const IoToken&) = delete;

 private:
  Netfs* const netfs_;
};

// One read() or readahead batch. Kernel: struct netfs_io_request. Subrequests and copies to the
// cache share it; it dies with the last of them.
struct ReadRequest {
  explicit ReadRequest(std::shared_ptr<Inode> owner);
  // First member, so destroyed last: the request stops counting as in flight only after it has
  // let go of its inode and operation.
  IoToken token;
  std::shared_ptr<Inode> inode;
  fscache::Operation op;  // Pins the cookie; empty when not caching.
  std::string version;    // The origin version every subrequest is pinned to.
  uint64_t generation = 0;
  uint64_t i_size = 0;
  // For a random reader (or the whole-file fetch its reads started), whose neighbours will be
  // read through the cache soon.
  fscache::WriteHint cache_write_hint = fscache::WriteHint::kStreamed;
  std::mutex mu;
  util::Status error;  // Protected by mu. The first failure of a subrequest.
};

// One contiguous span of folios from one source. Kernel: struct netfs_io_subrequest.
struct Subrequest {
  std::shared_ptr<ReadRequest> rreq;
  fscache::Source source = fscache::Source::kDownloadFromServer;
  bool copy_to_cache = false;
  uint64_t start = 0;  // File position of the first folio.
  uint64_t len = 0;    // Bytes to fill: the folios, clamped to i_size.
  // Locked by this request and held by the lock alone (folio.h rule 6) until unlocked.
  std::vector<folio::Folio*> folios;
  uint64_t transferred = 0;  // Bytes already in place (short reads are continued).
  std::chrono::steady_clock::time_point issued;  // Of the latest origin request.
  int attempts = 0;
};

// The functions of this folder, friends of Inode and Netfs.
struct Io {
  static void IssueSubrequest(std::shared_ptr<Subrequest> sub);                   // buffered_read.cc
  static void Collect(std::shared_ptr<Subrequest> sub, util::Status status, size_t n);  // read_collect.cc
  static bool MaybeRetry(const std::shared_ptr<Subrequest>& sub, const util::Status& status);  // read_retry.cc
  // Waits while the cache backlog is full; when it stays full, the downloads of `subs` are
  // not copied to the cache (counted and logged). Before they are issued.
  static void ThrottleDownloads(Netfs* netfs, std::vector<std::shared_ptr<Subrequest>>& subs);  // copy_to_cache.cc
  static void CopyToCache(const std::shared_ptr<Subrequest>& sub);               // copy_to_cache.cc
  static Netfs* NetfsOf(const Inode& inode) { return inode.netfs_; }
  static Netfs* NetfsOf(const Subrequest& sub) { return sub.rreq->inode->netfs_; }
  static Inode* InodeOf(const Subrequest& sub) { return sub.rreq->inode.get(); }
  static std::vector<fscache::Span> SpansOf(const Subrequest& sub, uint64_t skip);
};

}  // namespace netfs
