// SPDX-License-Identifier: MIT
// inode_table.h — FUSE inode numbers for origin paths, with the kernel's lookup counts
// (fuse_lowlevel.h, forget). Numbers are never reused within a mount, so a stale number from
// the kernel finds nothing rather than another file.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "netfs/netfs.h"
#include "origin/origin.h"

namespace nc_fuse {

struct Node {
  Node(fuse_ino_t ino, std::string path) : ino(ino), path(std::move(path)) {}
  const fuse_ino_t ino;
  const std::string path;  // Relative to the origin root; "" for the root.
  std::mutex mu;
  std::shared_ptr<netfs::Inode> file;  // Protected by mu. Created at first open or getattr.
  std::string version_at_last_open;    // Protected by mu. Decides keep_cache.
  std::atomic<int64_t> looked_up_ns{0};  // Steady clock: the kernel's last lookup or open.
  std::atomic<bool> regular{false};      // Last described to the kernel as a regular file.
  uint64_t last_release = 0;           // Protected by mu. Its latest entry in the idle list.
};

class InodeTable {
 public:
  InodeTable();
  // The node for `path`, created if needed, with its lookup count raised by one.
  std::shared_ptr<Node> Lookup(const std::string& path);
  std::shared_ptr<Node> Get(fuse_ino_t ino);
  // The node of `path` if the kernel knows it; does not raise its lookup count.
  std::shared_ptr<Node> Find(const std::string& path);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  size_t Size();
  // Up to `count` nodes of regular files, least recently looked up or opened first.
  std::vector<std::shared_ptr<Node>> ColdestFiles(size_t count);

 private:
  struct Entry {
    std::shared_ptr<Node> node;
    uint64_t nlookup = 0;
  };
  std::mutex mu_;
  fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;              // Protected by mu_.
  std::unordered_map<fuse_ino_t, Entry> by_ino_;         // Protected by mu_.
  std::unordered_map<std::string, fuse_ino_t> by_path_;  // Protected by mu_.
};

}  // namespace nc_fuse
