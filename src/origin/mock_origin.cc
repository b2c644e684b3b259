// SPDX-License-Identifier: MIT
#include "origin/mock_origin.h"

#include <algorithm>
#include <cstring>

namespace origin {

using util::Code;
using util::Status;

void MockOrigin::PutFile(const std::string& path, std::string content) {
  std::lock_guard lock(mu_);
  files_[path] = {std::move(content), next_version_++};
}

void MockOrigin::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  files_.erase(path);
}

namespace {
Status Unreachable() { return Status::Error(Code::kUnavailable, "mock origin unreachable", true); }
}  // namespace

util::Result<Attr> MockOrigin::GetAttr(const std::string& path) {
  if (unreachable) return Unreachable();
  std::lock_guard lock(mu_);
  Attr attr;
  if (path.empty()) {
    attr.type = FileType::kDirectory;
    attr.mode = 0755;
    attr.version = "dir";
    return attr;
  }
  auto it = files_.find(path);
  if (it == files_.end()) return Status::Error(Code::kNotFound, "no such mock file " + path);
  attr.type = FileType::kRegular;
  attr.mode = 0644;
  attr.size = it->second.content.size();
  attr.version = "v" + std::to_string(it->second.version);
  return attr;
}

util::Result<std::vector<DirEntry>> MockOrigin::ReadDir(const std::string& path) {
  if (unreachable) return Unreachable();
  if (!path.empty()) return Status::Error(Code::kNotFound, "mock has only a root directory");
  std::lock_guard lock(mu_);
  std::vector<DirEntry> entries;
  for (auto& [name, file] : files_) entries.push_back({name, FileType::kRegular});
  return entries;
}

util::Result<std::string> MockOrigin::ReadLink(const std::string& path) {
  return Status::Error(Code::kInvalidArgument, path + " is not a symlink");
}

Status MockOrigin::ReadSync(const std::string& path, const std::string& version, uint64_t pos,
                            const std::vector<IoVec>& iov, size_t* transferred) {
  reads.fetch_add(1);
  if (unreachable) return Unreachable();
  if (int n = fail_next_reads.load(); n > 0 && fail_next_reads.compare_exchange_strong(n, n - 1)) {
    return Status::Error(Code::kUnavailable, "injected transient failure", /*retryable=*/true);
  }
  if (int n = hard_fail_next_reads.load();
      n > 0 && hard_fail_next_reads.compare_exchange_strong(n, n - 1)) {
    return Status::Error(Code::kIOError, "injected failure");
  }
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::Error(Code::kNotFound, "no such mock file " + path);
  if ("v" + std::to_string(it->second.version) != version) {
    return Status::Error(Code::kStale, path + " changed");
  }
  const std::string& content = it->second.content;
  size_t limit = max_bytes_per_read.load();
  for (const IoVec& v : iov) {
    if (pos >= content.size()) break;
    size_t n = std::min<size_t>(v.len, content.size() - pos);
    if (limit != 0) n = std::min(n, limit - std::min(limit, *transferred));
    if (n == 0) break;
    std::memcpy(v.base, content.data() + pos, n);
    pos += n;
    *transferred += n;
    if (n < v.len) break;
  }
  bytes_read.fetch_add(*transferred);
  return Status::Ok();
}

void MockOrigin::Read(const std::string& path, const std::string& version, uint64_t pos,
                      std::vector<IoVec> iov, ReadCompletion done) {
  auto run = [this, path, version, pos, iov = std::move(iov), done = std::move(done)] {
    size_t transferred = 0;
    Status status = ReadSync(path, version, pos, iov, &transferred);
    done(std::move(status), transferred);
  };
  if (pool_ != nullptr) {
    pool_->Submit(std::move(run));
  } else {
    run();
  }
}

}  // namespace origin
