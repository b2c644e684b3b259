// SPDX-License-Identifier: MIT
#include "origin/http_origin.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "origin/http_listing.h"
#include "util/log.h"

namespace origin {
namespace {

using util::Code;
using util::Result;
using util::Status;

// Version tokens: "etag:<strong ETag>|<size>" or "lm:<Last-Modified>|<size>" or "size:|<size>".
struct Validator {
  std::string if_range;  // Value for If-Range; empty when the server gave no usable validator.
  uint64_t size = 0;
};

std::string VersionOf(const HttpResponse& head, uint64_t size) {
  auto etag = head.headers.find("etag");
  if (etag != head.headers.end() && !etag->second.empty() && etag->second.rfind("W/", 0) != 0) {
    return "etag:" + etag->second + "|" + std::to_string(size);
  }
  auto modified = head.headers.find("last-modified");
  if (modified != head.headers.end()) return "lm:" + modified->second + "|" + std::to_string(size);
  return "size:|" + std::to_string(size);
}

Validator ParseVersion(const std::string& version) {
  Validator v;
  size_t bar = version.rfind('|');
  size_t colon = version.find(':');
  if (bar == std::string::npos || colon == std::string::npos || colon > bar) return v;
  v.if_range = version.substr(colon + 1, bar - colon - 1);
  v.size = std::strtoull(version.c_str() + bar + 1, nullptr, 10);
  return v;
}

// The part of a response that says which version it is, comparable with a version token.
std::string ResponseValidator(const HttpResponse& response, const std::string& version) {
  if (version.rfind("etag:", 0) == 0) {
    auto etag = response.headers.find("etag");
    return etag == response.headers.end() ? "" : etag->second;
  }
  if (version.rfind("lm:", 0) == 0) {
    auto modified = response.headers.find("last-modified");
    return modified == response.headers.end() ? "" : modified->second;
  }
  return "";
}

// The state of one ranged GET, shared by the body sink and the completion.
struct RangeRead {
  uint64_t pos = 0;
  uint64_t want = 0;
  std::vector<IoVec> iov;
  Validator validator;
  std::string version;
  bool started = false;
  uint64_t received = 0;   // Bytes placed into iov.
  bool complete = false;   // Everything wanted arrived; an abort after it is not an error.
  Status failure;          // Set by the sink; ends the transfer.
  bool no_ranges = false;

  void Place(const char* data, size_t len) {
    uint64_t at = received;
    for (const IoVec& v : iov) {
      if (len == 0) break;
      if (at >= v.len) {
        at -= v.len;
        continue;
      }
      size_t n = std::min<uint64_t>(len, v.len - at);
      std::memcpy(v.base + at, data, n);
      data += n;
      len -= n;
      received += n;
      at = 0;
    }
  }
};

bool ParseContentRange(const std::string& value, uint64_t* first, uint64_t* last, uint64_t* total) {
  unsigned long long a, b, t;
  if (std::sscanf(value.c_str(), "bytes %llu-%llu/%llu", &a, &b, &t) != 3) return false;
  *first = a;
  *last = b;
  *total = t;
  return true;
}

class HttpOrigin final : public Origin {
 public:
  HttpOrigin(std::string base, HttpClientOptions options, util::ThreadPool* pool)
      : base_(std::move(base)), pool_(pool), client_(std::move(options), pool) {}

  std::string VolumeKey() const override { return "http:" + base_; }

  Status Probe() {
    HttpRequest request{base_, /*head=*/true, {}, nullptr};
    HttpResponse response = client_.Perform(request);
    Status status = StatusOf(response, base_);
    // 403 on the root only means listings are off; files may still be there.
    if (!status.ok() && response.status != 403) return status;
    return Status::Ok();
  }

  Result<Attr> GetAttr(const std::string& path) override {
    if (path.empty()) return DirAttr();
    FileType known = KnownType(path);
    if (known == FileType::kDirectory) return DirAttr();
    HttpResponse head = client_.Perform({UrlOf(path, false), true, {}, nullptr});
    Status status = StatusOf(head, UrlOf(path, false));
    // Servers redirect a directory's name to its slash URL, which may then refuse a listing.
    bool redirected_to_dir = !IsFileReply(head) && (status.ok() || head.status == 403);
    if (redirected_to_dir) return DirAttr();
    if (status.ok()) return FileAttr(head);
    // Listings off: a directory answers at its slash URL.
    if (status.code() == Code::kNotFound && known != FileType::kRegular && IsDirectoryAt(path)) {
      return DirAttr();
    }
    return status;
  }

  // A HEAD of `path`'s slash URL: a directory answers there (403 when it has no index).
  bool IsDirectoryAt(const std::string& path) {
    HttpResponse dir = client_.Perform({UrlOf(path, true), true, {}, nullptr});
    return (dir.curl_code == CURLE_OK && dir.status >= 200 && dir.status < 300) || dir.status == 403;
  }

  // A ranged GET of the first kOpenPrefix bytes instead of a HEAD: its headers carry the same
  // attributes (the size in Content-Range), and the bytes answer the read that follows an open,
  // so a small file costs one round trip, not two. Anything unexpected: a plain GetAttr.
  Result<Attr> GetAttrForRead(const std::string& path) override {
    if (path.empty() || KnownType(path) == FileType::kDirectory ||
        ignores_ranges_.load(std::memory_order_relaxed)) {
      return GetAttr(path);
    }
    std::string url = UrlOf(path, false);
    HttpRequest request{url, false, {"Range: bytes=0-" + std::to_string(kOpenPrefix - 1)}, nullptr};
    std::string body;
    request.on_body = [&body](const char* data, size_t len, const HttpResponse& response) {
      if (response.status != 200 && response.status != 206) return true;  // An error page.
      if (body.size() + len > kOpenPrefix) return false;  // Range ignored, and the file is big.
      body.append(data, len);
      return true;
    };
    HttpResponse response = client_.Perform(std::move(request));
    Status status = StatusOf(response, url);
    if (status.code() == Code::kNotFound) return status;
    if (!status.ok() || !IsFileReply(response)) return GetAttr(path);
    uint64_t size = 0;
    if (response.status == 206) {
      auto range = response.headers.find("content-range");
      uint64_t first = 0, last = 0;
      if (range == response.headers.end() || !ParseContentRange(range->second, &first, &last, &size) ||
          first != 0 || last + 1 != body.size()) {
        return GetAttr(path);
      }
    } else {
      auto length = response.headers.find("content-length");
      if (length == response.headers.end() || std::strtoull(length->second.c_str(), nullptr, 10) != body.size()) {
        return GetAttr(path);
      }
      size = body.size();  // The whole file, from a server that ignored the range.
    }
    Attr attr = FileAttrOfSize(response, size);
    std::lock_guard lock(mu_);
    if (opened_.size() >= kMaxOpened) {  // The oldest goes: files opened ahead are used in order.
      auto oldest = opened_.begin();
      for (auto it = opened_.begin(); it != opened_.end(); ++it) {
        if (it->second.serial < oldest->second.serial) oldest = it;
      }
      opened_.erase(oldest);
    }
    opened_[path] = {attr.version, std::move(body), ++opened_serial_};
    return attr;
  }

  // A conditional HEAD: 304 means `known` is still the current version, with no new attributes
  // to parse (and no Content-Length to trust, as 304s carry none).
  Result<Attr> GetAttrSince(const std::string& path, const Attr& known) override {
    Validator validator = ParseVersion(known.version);
    bool etag = known.version.rfind("etag:", 0) == 0;
    bool dated = known.version.rfind("lm:", 0) == 0;
    // A directory seen before is asked about at its slash URL: its plain name is redirected
    // there, which cost a second round trip each time its attributes expired.
    if (!path.empty() && known.type == FileType::kDirectory && IsDirectoryAt(path)) return DirAttr();
    if (path.empty() || known.type != FileType::kRegular || (!etag && !dated)) return GetAttr(path);
    std::string url = UrlOf(path, false);
    HttpRequest request{url, /*head=*/true, {}, nullptr};
    request.headers.push_back((etag ? "If-None-Match: " : "If-Modified-Since: ") + validator.if_range);
    HttpResponse head = client_.Perform(std::move(request));
    if (head.curl_code == CURLE_OK && head.status == 304) {
      Attr same = known;
      same.version_seen_at_s = ServerTime(head);
      return same;
    }
    Status status = StatusOf(head, url);
    if (status.ok() && IsFileReply(head)) return FileAttr(head);
    return GetAttr(path);  // Not a plain file any more (or an error): ask without conditions.
  }

  Result<std::vector<DirEntry>> ReadDir(const std::string& path) override {
    std::string url = UrlOf(path, true);
    HttpResponse response = client_.Perform({url, false, {}, nullptr});
    Status status = StatusOf(response, url);
    if (!status.ok()) return status;
    auto type = response.headers.find("content-type");
    auto listing = ParseListing(response.body, type == response.headers.end() ? "" : type->second, url);
    if (!listing.ok()) return listing.status();
    std::vector<DirEntry> entries;
    std::map<std::string, FileType> types;
    for (const ListingEntry& entry : *listing) {
      DirEntry out{entry.name, entry.type, std::nullopt, entry.mtime_granularity_s};
      if (entry.type == FileType::kDirectory) {
        out.attr = DirAttr();
      } else if (entry.type == FileType::kRegular && entry.has_size && entry.has_mtime) {
        Attr attr;
        attr.type = FileType::kRegular;
        attr.mode = 0444;
        attr.size = entry.size;
        attr.mtime_ns = entry.mtime_s * 1000000000LL;
        attr.ctime_ns = StableCtime(attr.mtime_ns);
        out.attr = attr;  // No version: a listing carries no validator.
      }
      entries.push_back(std::move(out));
      types[entry.name] = entry.type;
    }
    std::lock_guard lock(mu_);
    listings_[path] = std::move(types);
    return entries;
  }

  Result<std::string> ReadLink(const std::string& path) override {
    return Status::Error(Code::kInvalidArgument, path + ": HTTP origins have no symlinks");
  }

  Result<FsStats> StatFs() override {
    FsStats stats;
    stats.blocks = stats.blocks_free = 0;
    return stats;
  }

  void Read(const std::string& path, const std::string& version, uint64_t pos,
            std::vector<IoVec> iov, ReadCompletion done) override {
    auto read = std::make_shared<RangeRead>();
    read->pos = pos;
    read->iov = std::move(iov);
    for (const IoVec& v : read->iov) read->want += v.len;
    read->validator = ParseVersion(version);
    read->version = version;
    if (read->want == 0 || pos >= read->validator.size) {
      done(Status::Ok(), 0);
      return;
    }
    if (ReadOpened(path, version, pos, read->iov, read->want, done)) return;
    if (ignores_ranges_.load(std::memory_order_relaxed)) {
      ReadWhole(UrlOf(path, false), version, read->validator.size, pos, std::move(read->iov), done);
      return;
    }
    uint64_t last = std::min(pos + read->want, read->validator.size) - 1;
    HttpRequest request;
    request.url = UrlOf(path, false);
    request.headers.push_back("Range: bytes=" + std::to_string(pos) + "-" + std::to_string(last));
    if (!read->validator.if_range.empty()) {
      request.headers.push_back("If-Range: " + read->validator.if_range);
    }
    std::string url = request.url;
    request.on_body = [this, read](const char* data, size_t len, const HttpResponse& response) {
      return Sink(*read, data, len, response);
    };
    client_.Submit(std::move(request), [this, read, url, done = std::move(done)](HttpResponse response) {
      Finish(*read, url, response, done);
    });
  }

 private:
  static Attr DirAttr() {
    Attr attr;
    attr.type = FileType::kDirectory;
    attr.mode = 0555;
    attr.nlink = 2;
    attr.version = "dir";
    return attr;
  }

  static Result<Attr> FileAttr(const HttpResponse& head) {
    auto length = head.headers.find("content-length");
    if (length == head.headers.end()) {
      return Status::Error(Code::kIOError, "no Content-Length for " + head.effective_url);
    }
    return FileAttrOfSize(head, std::strtoull(length->second.c_str(), nullptr, 10));
  }

  // A regular file's attributes from a response's headers, its size known otherwise.
  static Attr FileAttrOfSize(const HttpResponse& response, uint64_t size) {
    Attr attr;
    attr.type = FileType::kRegular;
    attr.mode = 0444;
    attr.size = size;
    auto modified = response.headers.find("last-modified");
    if (modified != response.headers.end()) {
      time_t t = curl_getdate(modified->second.c_str(), nullptr);
      if (t > 0) attr.mtime_ns = static_cast<int64_t>(t) * 1000000000LL;
    }
    attr.ctime_ns = StableCtime(attr.mtime_ns);
    attr.version = VersionOf(response, size);
    attr.version_seen_at_s = ServerTime(response);
    return attr;
  }

  // HTTP has no ctime. A file's mtime is known to the minute from an HTML listing and to the
  // second from HEAD, so stat would see it change when a lookup's answer is followed by an
  // open's; tools that watch ctime for changes during a read (tar: "file changed as we read
  // it") must not. The mtime rounded down to the minute is the same from both.
  static int64_t StableCtime(int64_t mtime_ns) {
    constexpr int64_t kMinuteNs = 60LL * 1000000000LL;
    return mtime_ns - ((mtime_ns % kMinuteNs) + kMinuteNs) % kMinuteNs;
  }

  // Servers redirect a directory's name to its slash URL: a reply from there is no file's.
  static bool IsFileReply(const HttpResponse& response) {
    return response.effective_url.empty() || response.effective_url.back() != '/';
  }

  // The server's clock from its Date header (0 when absent or unparseable).
  static int64_t ServerTime(const HttpResponse& response) {
    auto date = response.headers.find("date");
    if (date == response.headers.end()) return 0;
    time_t t = curl_getdate(date->second.c_str(), nullptr);
    return t > 0 ? static_cast<int64_t>(t) : 0;
  }

  FileType KnownType(const std::string& path) {
    auto [dir, name] = SplitPath(path);
    std::lock_guard lock(mu_);
    auto listing = listings_.find(dir);
    if (listing == listings_.end()) return FileType::kOther;
    auto entry = listing->second.find(name);
    return entry == listing->second.end() ? FileType::kOther : entry->second;
  }

  std::string UrlOf(const std::string& path, bool directory) const {
    std::string url = base_;
    size_t start = 0;
    while (start < path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      url += PercentEncodeComponent(path.substr(start, end - start));
      if (end < path.size()) url += '/';
      start = end + 1;
    }
    if (directory && !path.empty()) url += '/';
    return url;
  }

  bool Sink(RangeRead& read, const char* data, size_t len, const HttpResponse& response) {
    if (!read.started) {
      read.started = true;
      if (response.status == 206) {
        auto range = response.headers.find("content-range");
        uint64_t first = 0, last = 0, total = 0;
        if (range == response.headers.end() || !ParseContentRange(range->second, &first, &last, &total) ||
            first != read.pos) {
          read.failure = Status::Error(Code::kUnavailable, "wrong Content-Range in reply", true);
          return false;
        }
        if (total != read.validator.size) {
          read.failure = Status::Error(Code::kStale, "size changed on the server");
          return false;
        }
        // If-Range is a request, not a promise (varnish 7.1 ignores it): the answer's own
        // validator must be the pinned one. Absent counts as changed.
        if (!read.validator.if_range.empty() &&
            ResponseValidator(response, read.version) != read.validator.if_range) {
          read.failure = Status::Error(Code::kStale, "a ranged reply of another version");
          return false;
        }
      } else if (response.status == 200) {
        std::string validator = ResponseValidator(response, read.version);
        if (!read.validator.if_range.empty() && validator != read.validator.if_range) {
          // If-Range did not match: the whole new version came back instead of our range.
          read.failure = Status::Error(Code::kStale, "changed on the server");
          return false;
        }
        // The server ignores Range: stop here; Finish() reads through a whole-file download.
        read.no_ranges = true;
        ignores_ranges_.store(true, std::memory_order_relaxed);
        if (!warned_no_ranges_.exchange(true)) {
          NC_LOG_WARN("%s ignores Range requests; fetching each file whole, once", base_.c_str());
        }
        return false;
      } else {
        return true;  // An error page: discarded, judged by the status in Finish().
      }
    }
    if (response.status != 200 && response.status != 206) return true;
    read.Place(data, len);
    if (read.received >= read.want) read.complete = true;
    return true;
  }

  void Finish(RangeRead& read, const std::string& url, const HttpResponse& response,
              const ReadCompletion& done) {
    if (read.no_ranges) {
      ReadWhole(url, read.version, read.validator.size, read.pos, std::move(read.iov), done);
      return;
    }
    if (!read.failure.ok()) {
      Status failure = read.failure;
      done(Status::Error(failure.code(), url + ": " + failure.message(), failure.retryable()), 0);
      return;
    }
    if (read.complete) {
      done(Status::Ok(), static_cast<size_t>(read.received));
      return;
    }
    if (response.status == 416) {
      done(Status::Error(Code::kStale, url + ": range not satisfiable (file shrank)"), 0);
      return;
    }
    Status status = StatusOf(response, url);
    if (!status.ok()) {
      done(status, 0);
      return;
    }
    uint64_t expected = std::min(read.want, read.validator.size - read.pos);
    if (read.received < expected) {
      // The body ended early without an error from curl: report it as retryable.
      done(Status::Error(Code::kUnavailable, url + ": reply body cut short", true), 0);
      return;
    }
    done(Status::Ok(), static_cast<size_t>(read.received));
  }

  // One whole-file download from a server without Range support: the body goes to an unlinked
  // temporary file, and reads are answered from it as soon as their bytes are there.
  struct Spill {
    std::string url;
    std::string version;
    uint64_t size = 0;
    int fd = -1;
    uint64_t available = 0;  // Protected by mu_ (the origin's).
    bool finished = false;   // Protected by mu_.
    Status error;            // Protected by mu_.
    struct Waiter {
      uint64_t pos;
      std::vector<IoVec> iov;
      ReadCompletion done;
    };
    std::vector<Waiter> waiters;  // Protected by mu_.
    ~Spill() {
      if (fd >= 0) ::close(fd);
    }
  };

  void ReadWhole(const std::string& url, const std::string& version, uint64_t size, uint64_t pos,
                 std::vector<IoVec> iov, ReadCompletion done) {
    std::shared_ptr<Spill> spill;
    bool start = false;
    {
      std::lock_guard lock(mu_);
      auto it = spills_.find(url);
      if (it != spills_.end() && it->second->version == version &&
          (!it->second->finished || it->second->error.ok())) {
        spill = it->second;
      } else {
        spill = std::make_shared<Spill>();
        spill->url = url;
        spill->version = version;
        spill->size = size;
        spill->fd = ::open(SpillDir().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (spill->fd < 0) {
          done(Status::FromErrno(errno, "temporary file for " + url), 0);
          return;
        }
        // Few at a time: each holds a whole file on local disk until replaced.
        if (spills_.size() >= 4) spills_.erase(spills_.begin());
        spills_[url] = spill;
        start = true;
      }
      spill->waiters.push_back({pos, std::move(iov), std::move(done)});
    }
    if (start) StartWholeDownload(spill);
    ServeSpill(spill);
  }

  static std::string SpillDir() {
    const char* tmp = std::getenv("TMPDIR");
    return tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp";
  }

  void StartWholeDownload(const std::shared_ptr<Spill>& spill) {
    HttpRequest request;
    request.url = spill->url;
    auto validator = ParseVersion(spill->version);
    request.on_body = [this, spill, started = false, validator](const char* data, size_t len,
                                                                const HttpResponse& response) mutable {
      if (response.status != 200) return true;  // An error page; judged when finished.
      if (!started) {
        started = true;
        std::string seen = ResponseValidator(response, spill->version);
        if (!validator.if_range.empty() && seen != validator.if_range) {
          std::lock_guard lock(mu_);
          spill->error = Status::Error(Code::kStale, spill->url + ": changed on the server");
          return false;
        }
      }
      uint64_t at;
      {
        std::lock_guard lock(mu_);
        at = spill->available;
      }
      if (::pwrite(spill->fd, data, len, static_cast<off_t>(at)) != static_cast<ssize_t>(len)) {
        std::lock_guard lock(mu_);
        spill->error = Status::FromErrno(errno, "temporary file for " + spill->url);
        return false;
      }
      {
        std::lock_guard lock(mu_);
        spill->available += len;
      }
      ServeSpill(spill);
      return true;
    };
    client_.Submit(std::move(request), [this, spill](HttpResponse response) {
      {
        std::lock_guard lock(mu_);
        spill->finished = true;
        if (spill->error.ok()) {
          Status status = StatusOf(response, spill->url);
          if (!status.ok()) {
            spill->error = status;
          } else if (spill->available < spill->size) {
            spill->error = Status::Error(Code::kUnavailable, spill->url + ": reply body cut short", true);
          }
        }
        if (!spill->error.ok()) {
          auto it = spills_.find(spill->url);
          if (it != spills_.end() && it->second == spill) spills_.erase(it);  // Next read retries.
        }
      }
      ServeSpill(spill);
    });
  }

  // Completes the waiters whose bytes have arrived (or all of them, once the download ended).
  void ServeSpill(const std::shared_ptr<Spill>& spill) {
    std::vector<Spill::Waiter> ready;
    Status error;
    bool finished;
    uint64_t available;
    {
      std::lock_guard lock(mu_);
      finished = spill->finished;
      error = spill->error;
      available = spill->available;
      auto& waiters = spill->waiters;
      for (auto it = waiters.begin(); it != waiters.end();) {
        uint64_t want = 0;
        for (const IoVec& v : it->iov) want += v.len;
        uint64_t end = std::min(it->pos + want, spill->size);
        if (available >= end || finished || !error.ok()) {
          ready.push_back(std::move(*it));
          it = waiters.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Spill::Waiter& waiter : ready) {
      if (!error.ok()) {
        pool_->Submit([done = std::move(waiter.done), error] { done(error, 0); });
        continue;
      }
      size_t transferred = 0;
      uint64_t at = waiter.pos;
      for (const IoVec& v : waiter.iov) {
        if (at >= available) break;
        size_t n = static_cast<size_t>(std::min<uint64_t>(v.len, available - at));
        ssize_t got = ::pread(spill->fd, v.base, n, static_cast<off_t>(at));
        if (got <= 0) break;
        transferred += static_cast<size_t>(got);
        at += static_cast<uint64_t>(got);
        if (static_cast<size_t>(got) < v.len) break;
      }
      // Not on the caller's thread: this may be the HTTP loop, which must not wait on readers.
      pool_->Submit([done = std::move(waiter.done), transferred] { done(Status::Ok(), transferred); });
    }
  }

  // Answers a read from the bytes GetAttrForRead() kept, when they are of `version` and cover
  // its start; the rest, if any, is read from the server. The bytes are dropped once read to
  // their end. Returns false when they do not apply.
  bool ReadOpened(const std::string& path, const std::string& version, uint64_t pos,
                  const std::vector<IoVec>& iov, uint64_t want, const ReadCompletion& done) {
    std::vector<IoVec> rest;
    uint64_t served = 0;
    {
      std::lock_guard lock(mu_);  // Held for one copy of at most kOpenPrefix bytes.
      auto it = opened_.find(path);
      if (it == opened_.end() || it->second.version != version || pos >= it->second.bytes.size()) {
        return false;
      }
      const std::string& bytes = it->second.bytes;
      const uint64_t end = std::min<uint64_t>(pos + want, bytes.size());
      for (const IoVec& v : iov) {
        const uint64_t n = std::min<uint64_t>(v.len, end - (pos + served));
        std::memcpy(v.base, bytes.data() + pos + served, n);
        served += n;
        if (n < v.len) rest.push_back({v.base + n, v.len - n});
      }
      if (end == bytes.size()) opened_.erase(it);
    }
    if (rest.empty() || pos + served >= ParseVersion(version).size) {
      done(Status::Ok(), static_cast<size_t>(served));
      return true;
    }
    Read(path, version, pos + served, std::move(rest),
         [done, served](Status status, size_t n) { done(status, status.ok() ? served + n : 0); });
    return true;
  }

  static constexpr size_t kOpenPrefix = 1024 * 1024;
  static constexpr size_t kMaxOpened = 16;

  const std::string base_;
  util::ThreadPool* const pool_;  // Borrowed: completions run here.
  HttpClient client_;
  std::mutex mu_;
  // Types of the entries of directories listed so far, by directory path. Protected by mu_.
  std::map<std::string, std::map<std::string, FileType>> listings_;
  std::atomic<bool> warned_no_ranges_{false};
  std::atomic<bool> ignores_ranges_{false};  // Learned from the first full reply to a range.
  std::map<std::string, std::shared_ptr<Spill>> spills_;  // Protected by mu_. By URL.
  struct Opened {
    std::string version;
    std::string bytes;  // The file's first bytes.
    uint64_t serial = 0;  // Order of arrival.
  };
  std::map<std::string, Opened> opened_;  // Protected by mu_. By path.
  uint64_t opened_serial_ = 0;            // Protected by mu_.
};

}  // namespace

bool IsHttpUrl(const std::string& source) {
  return source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0;
}

Result<std::unique_ptr<Origin>> OpenHttpOrigin(const std::string& url, HttpClientOptions options,
                                               util::ThreadPool* completion_pool, bool probe) {
  if (!IsHttpUrl(url)) {
    return Status::Error(Code::kInvalidArgument, "not an http:// or https:// URL: " + url);
  }
  size_t host = url.find("://") + 3;
  if (host >= url.size() || url[host] == '/') {
    return Status::Error(Code::kInvalidArgument, "no host in URL " + url);
  }
  if (url.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::Error(Code::kInvalidArgument, "URL contains white space: " + url);
  }
  std::string base = url;
  size_t query = base.find_first_of("?#");
  if (query != std::string::npos) base.resize(query);
  if (base.find('/', host) == std::string::npos || base.back() != '/') base += '/';
  auto origin = std::make_unique<HttpOrigin>(base, std::move(options), completion_pool);
  if (probe) {
    Status status = origin->Probe();
    if (!status.ok()) {
      return Status::Error(status.code(), "cannot use " + base + ": " + status.message());
    }
  }
  return std::unique_ptr<Origin>(std::move(origin));
}

}  // namespace origin
