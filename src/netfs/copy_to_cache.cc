// SPDX-License-Identifier: MIT
// copy_to_cache.cc — writes freshly downloaded folios to the cache. Each folio carries kFscache
// and the reference that flag implies (taken in read_collect.cc); the write's completion clears
// the flag, wakes waiters, and only then drops the reference (folio.h rule 3).
// Kernel: fs/netfs/read_pgpriv2.c, folio_end_private_2().
#include "netfs/internal.h"
#include "util/log.h"

namespace netfs {

using util::Code;
using util::Status;

void Io::CopyToCache(const std::shared_ptr<Subrequest>& sub) {
  // The folios are unlocked now but kept alive by the kFscache references.
  auto spans = SpansOf(*sub, 0);
  uint64_t len = sub->len;
  auto folios = sub->folios;
  Netfs* netfs = NetfsOf(*sub);
  auto rreq = sub->rreq;  // Keeps the operation (and so the cookie) pinned until completion.
  rreq->op.Write(sub->start, std::move(spans), [rreq, folios, len, netfs](Status status) {
    if (status.ok()) {
      netfs->stats_.cache_writes.fetch_add(1, std::memory_order_relaxed);
      netfs->stats_.cache_write_bytes.fetch_add(len, std::memory_order_relaxed);
    } else if (status.code() != Code::kStale && status.code() != Code::kNoCache) {
      netfs->stats_.cache_write_errors.fetch_add(1, std::memory_order_relaxed);
    }
    for (folio::Folio* folio : folios) folio->EndFscache();
  });
}

}  // namespace netfs
