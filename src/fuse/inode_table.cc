// SPDX-License-Identifier: MIT
#include "fuse/inode_table.h"

#include <algorithm>
#include <functional>

#include "util/clock.h"

namespace nc_fuse {

using util::SteadyNs;

namespace {

fuse_ino_t DerivedIno(const std::string& path) {
  return static_cast<fuse_ino_t>(std::hash<std::string>{}(path)) | (fuse_ino_t{1} << 63);
}

}  // namespace

InodeTable::InodeTable() {
  // The root is never forgotten: the kernel holds it for the life of the mount.
  by_ino_[FUSE_ROOT_ID] = {std::make_shared<Node>(FUSE_ROOT_ID, ""), 1};
  by_path_[""] = FUSE_ROOT_ID;
}

std::shared_ptr<Node> InodeTable::Lookup(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    Entry& entry = by_ino_.at(it->second);
    ++entry.nlookup;
    entry.node->looked_up_ns.store(SteadyNs(), std::memory_order_relaxed);
    return entry.node;
  }
  fuse_ino_t ino = DerivedIno(path);
  if (by_ino_.count(ino) != 0) ino = next_ino_++;
  auto node = std::make_shared<Node>(ino, path);
  node->looked_up_ns.store(SteadyNs(), std::memory_order_relaxed);
  by_ino_[ino] = {node, 1};
  by_path_[path] = ino;
  return node;
}

std::shared_ptr<Node> InodeTable::Get(fuse_ino_t ino) {
  std::lock_guard lock(mu_);
  auto it = by_ino_.find(ino);
  return it == by_ino_.end() ? nullptr : it->second.node;
}

std::shared_ptr<Node> InodeTable::Find(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : by_ino_.at(it->second).node;
}

fuse_ino_t InodeTable::InoOf(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  return it == by_path_.end() ? DerivedIno(path) : it->second;
}

void InodeTable::Forget(fuse_ino_t ino, uint64_t nlookup) {
  if (ino == FUSE_ROOT_ID) return;
  std::shared_ptr<Node> doomed;  // Destroyed outside mu_: it may wait for cache copies.
  {
    std::lock_guard lock(mu_);
    auto it = by_ino_.find(ino);
    if (it == by_ino_.end()) return;
    Entry& entry = it->second;
    entry.nlookup -= std::min(entry.nlookup, nlookup);
    if (entry.nlookup > 0) return;
    doomed = std::move(entry.node);
    by_path_.erase(doomed->path);
    by_ino_.erase(it);
  }
}

size_t InodeTable::Size() {
  std::lock_guard lock(mu_);
  return by_ino_.size();
}

std::vector<std::shared_ptr<Node>> InodeTable::ColdestFiles(size_t count) {
  std::vector<std::pair<int64_t, std::shared_ptr<Node>>> files;
  {
    std::lock_guard lock(mu_);
    for (auto& [ino, entry] : by_ino_) {
      if (entry.node->regular.load(std::memory_order_relaxed)) {
        files.emplace_back(entry.node->looked_up_ns.load(std::memory_order_relaxed), entry.node);
      }
    }
  }
  count = std::min(count, files.size());
  std::partial_sort(files.begin(), files.begin() + static_cast<ptrdiff_t>(count), files.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::shared_ptr<Node>> coldest;
  for (size_t i = 0; i < count; ++i) coldest.push_back(std::move(files[i].second));
  return coldest;
}

}  // namespace nc_fuse
