// SPDX-License-Identifier: MIT
// fscache.cc — volumes, cookies and operations. Kernel: fs/netfs/fscache_volume.c,
// fscache_cookie.c, fscache_io.c; the read planning is cachefiles_prepare_read() in
// fs/cachefiles/io.c, lifted here because it only needs the backend's occupancy query.
#include "fscache/fscache.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "util/clock.h"
#include "util/log.h"

namespace fscache {

using util::Code;
using util::Status;

Cache::Cache(std::unique_ptr<Backend> backend, int io_threads)
    : backend_(std::move(backend)), io_pool_("nc-cache-io", io_threads) {}

Cache::~Cache() { io_pool_.Drain(); }

util::Result<std::shared_ptr<Volume>> Cache::AcquireVolume(const std::string& key) {
  if (!backend_) return std::make_shared<Volume>(this, nullptr);
  auto volume = backend_->AcquireVolume(key);
  if (!volume.ok()) return volume.status();
  return std::make_shared<Volume>(this, std::move(*volume));
}

std::shared_ptr<Cookie> Volume::AcquireCookie(const std::string& key, const std::string& aux,
                                              uint64_t object_size) {
  std::unique_ptr<BackendObject> object;
  if (backend_) {
    auto opened = backend_->OpenObject(key, aux, object_size);
    if (opened.ok()) {
      object = std::move(*opened);
    } else if (opened.status().code() == Code::kNoSpace) {
      // Counted by the backend; one line per file would flood the log when the disk is full.
      NC_LOG_DEBUG("not caching %s: %s", key.c_str(), opened.status().ToString().c_str());
    } else if (cache_->stats().open_errors.fetch_add(1, std::memory_order_relaxed) == 0) {
      // Once: a read-only or failing disk fails every file the same way.
      NC_LOG_WARN("not caching %s: %s (reads go to the origin; further files not cached for a "
                  "cache error are counted in cache_open_errors)",
                  key.c_str(), opened.status().ToString().c_str());
    } else {
      NC_LOG_DEBUG("not caching %s: %s", key.c_str(), opened.status().ToString().c_str());
    }
  }
  return std::make_shared<Cookie>(cache_, key, std::move(object));
}

void Volume::PutMetadata(const std::string& key, const MetadataRecord& record) {
  if (!backend_) return;
  Status status = backend_->PutMetadata(key, record);
  if (!status.ok()) NC_LOG_DEBUG("metadata for %s not kept: %s", key.c_str(), status.ToString().c_str());
}

std::optional<MetadataRecord> Volume::GetMetadata(const std::string& key) {
  if (!backend_) return std::nullopt;
  return backend_->GetMetadata(key);
}

Cookie::Cookie(Cache* cache, std::string key, std::unique_ptr<BackendObject> object)
    : cache_(cache), key_(std::move(key)), object_(std::move(object)) {}

namespace {
constexpr std::chrono::seconds kCachingPause(30);
}  // namespace

bool Cookie::Disabled() const {
  int64_t until = disabled_until_ns_.load(std::memory_order_relaxed);
  return until != 0 && util::SteadyNs() < until;
}

bool Cookie::caching() const {
  std::shared_lock lock(io_mu_);
  return object_ != nullptr && !Disabled();
}

void Cookie::Use() {
  std::shared_lock lock(io_mu_);
  if (object_) object_->Use();
}

void Cookie::Unuse() {
  std::shared_lock lock(io_mu_);
  if (object_) object_->Unuse();
}

Operation Cookie::BeginOperation() {
  return Operation(shared_from_this(), inval_counter_.load(std::memory_order_acquire));
}

void Cookie::Invalidate(const std::string& aux, uint64_t object_size) {
  std::unique_lock lock(io_mu_);
  inval_counter_.fetch_add(1, std::memory_order_acq_rel);
  cache_->stats_.invalidations.fetch_add(1, std::memory_order_relaxed);
  if (object_ == nullptr) return;
  Status status = object_->Invalidate(aux, object_size);
  if (!status.ok()) {
    // The object may still hold old data: stop using it rather than risk serving it.
    NC_LOG_WARN("cache invalidation of %s failed, no longer caching it: %s", key_.c_str(),
                status.ToString().c_str());
    object_.reset();
  }
}

void Cookie::Resize(uint64_t object_size) {
  std::unique_lock lock(io_mu_);
  if (object_ == nullptr) return;
  Status status = object_->Resize(object_size);
  if (!status.ok()) {
    NC_LOG_WARN("cache resize of %s failed, no longer caching it: %s", key_.c_str(),
                status.ToString().c_str());
    object_.reset();
  }
}

std::vector<std::pair<uint64_t, uint64_t>> Cookie::CachedRanges() {
  std::shared_lock lock(io_mu_);
  if (!object_) return {};
  return object_->CachedRanges();
}

void Cookie::SetPinned(bool pinned) {
  std::shared_lock lock(io_mu_);
  if (object_) object_->SetPinned(pinned);
}

bool Cookie::pinned() const {
  std::shared_lock lock(io_mu_);
  return object_ && object_->pinned();
}

uint64_t Cookie::BytesCached() {
  std::shared_lock lock(io_mu_);
  return object_ ? object_->Usage().bytes_present : 0;
}

void Cookie::DisableCaching(const Status& why) {
  int64_t now = util::SteadyNs();
  int64_t previous = disabled_until_ns_.exchange(now + std::chrono::nanoseconds(kCachingPause).count());
  if (previous >= now) return;  // Already paused.
  int64_t logged = cache_->write_failure_logged_ns_.load(std::memory_order_relaxed);
  if (now - logged >= 60'000'000'000LL &&
      cache_->write_failure_logged_ns_.compare_exchange_strong(logged, now)) {
    uint64_t others = cache_->write_failures_unlogged_.exchange(0);
    NC_LOG_WARN("cache write for %s failed, not caching it for %lld s: %s (%llu other files since "
                "the last such line; all counted in cache_write_errors)",
                key_.c_str(), static_cast<long long>(kCachingPause.count()), why.ToString().c_str(),
                static_cast<unsigned long long>(others));
  } else {
    cache_->write_failures_unlogged_.fetch_add(1, std::memory_order_relaxed);
    NC_LOG_DEBUG("cache write for %s failed: %s", key_.c_str(), why.ToString().c_str());
  }
}

Status Cookie::CheckCurrent(uint64_t inval_counter) {
  if (inval_counter == inval_counter_.load(std::memory_order_acquire)) return Status::Ok();
  cache_->stats_.stale_ops.fetch_add(1, std::memory_order_relaxed);
  return Status::Error(Code::kStale, "cookie invalidated during the operation");
}

Status Cookie::DoRead(uint64_t inval_counter, uint64_t pos, const std::vector<Span>& spans) {
  std::shared_lock lock(io_mu_);
  if (Status current = CheckCurrent(inval_counter); !current.ok()) return current;
  if (object_ == nullptr) return Status::Error(Code::kNoCache, "no cache object");
  std::vector<std::span<std::byte>> pieces;
  uint64_t bytes = 0;
  for (const Span& span : spans) {
    pieces.emplace_back(span.base, span.len);
    bytes += span.len;
  }
  // One backend read for the whole subrequest: one system call, and a disk request as large.
  Status status = object_->ReadV(pos, pieces);
  if (!status.ok()) {
    cache_->stats_.read_errors.fetch_add(1, std::memory_order_relaxed);
    if (status.code() == Code::kCorruption) {
      cache_->stats_.corruptions.fetch_add(1, std::memory_order_relaxed);
    }
    return status;
  }
  cache_->stats_.reads.fetch_add(1, std::memory_order_relaxed);
  cache_->stats_.read_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return Status::Ok();
}

Status Cookie::DoWrite(uint64_t inval_counter, uint64_t pos, const std::vector<Span>& spans,
                       WriteHint hint) {
  std::shared_lock lock(io_mu_);
  if (Status current = CheckCurrent(inval_counter); !current.ok()) return current;
  if (object_ == nullptr || Disabled()) return Status::Error(Code::kNoCache, "not caching");
  std::vector<std::span<const std::byte>> pieces;
  uint64_t bytes = 0;
  for (const Span& span : spans) {
    pieces.emplace_back(span.base, span.len);
    bytes += span.len;
  }
  // One backend write for the whole subrequest: one metadata append, not one per folio.
  Status status = object_->WriteV(pos, pieces, hint);
  if (!status.ok()) {
    cache_->stats_.write_errors.fetch_add(1, std::memory_order_relaxed);
    DisableCaching(status);
    return status;
  }
  cache_->stats_.writes.fetch_add(1, std::memory_order_relaxed);
  cache_->stats_.write_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return Status::Ok();
}

Operation::~Operation() = default;
Operation::Operation(Operation&& other) noexcept = default;
Operation& Operation::operator=(Operation&& other) noexcept = default;

ReadPlan Operation::PrepareRead(uint64_t start, uint64_t len, uint64_t i_size) const {
  if (start >= i_size) return {Source::kFillWithZeroes, len, false};
  len = std::min(len, i_size - start);
  if (!cookie_) return {Source::kDownloadFromServer, len, false};
  std::shared_lock lock(cookie_->io_mu_);
  bool usable = cookie_->object_ != nullptr &&
                inval_counter_ == cookie_->inval_counter_.load(std::memory_order_acquire);
  if (!usable) return {Source::kDownloadFromServer, len, false};
  Occupancy occupancy = cookie_->object_->Query(start, len);
  uint64_t run = std::min(occupancy.len, len);
  if (run == 0) run = len;
  if (occupancy.present) return {Source::kReadFromCache, run, false};
  return {Source::kDownloadFromServer, run, !cookie_->Disabled()};
}

void Operation::Submit(bool write, uint64_t pos, std::vector<Span> spans, IoCompletion done,
                       WriteHint hint) const {
  if (!cookie_) {
    done(Status::Error(Code::kNoCache, "no cookie"));
    return;
  }
  cookie_->cache_->io_pool_.Submit([cookie = cookie_, counter = inval_counter_, write, pos,
                                    spans = std::move(spans), done = std::move(done), hint] {
    done(write ? cookie->DoWrite(counter, pos, spans, hint) : cookie->DoRead(counter, pos, spans));
  });
}

void Operation::Read(uint64_t pos, std::vector<Span> spans, IoCompletion done) const {
  Submit(/*write=*/false, pos, std::move(spans), std::move(done), WriteHint::kStreamed);
}

util::Status Operation::ReadNow(uint64_t pos, const std::vector<Span>& spans) const {
  if (!cookie_) return Status::Error(Code::kNoCache, "no cookie");
  return cookie_->DoRead(inval_counter_, pos, spans);
}

void Operation::Write(uint64_t pos, std::vector<Span> spans, IoCompletion done,
                      WriteHint hint) const {
  Submit(/*write=*/true, pos, std::move(spans), std::move(done), hint);
}

}  // namespace fscache
