// SPDX-License-Identifier: MIT
// inode_table.h — FUSE inode numbers for origin paths, with the kernel's lookup counts
// (fuse_lowlevel.h, forget). A path's number is derived from the path, so a plain READDIR,
// which raises no lookup count and so makes no node, still gives each entry the number that a
// later lookup returns (glibc's readdir skips entries whose d_ino is 0). Two live nodes never
// share a number: a path whose derived number is taken (a 63-bit hash collision) is counted
// from a range of its own instead.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <map>
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
  // Protected by mu. The version of the last open that read through the kernel's page cache
  // (not direct I/O): what the kernel's cached pages of the file hold. Decides keep_cache.
  std::string version_at_last_open;
  // Protected by mu. Open handles by the generation of the version they are pinned to
  // (netfs::Inode::Generation); see OpOpen.
  std::map<uint64_t, int> open_generations;
  // The size the kernel was last given (lookup, readdirplus, getattr): an open that finds the
  // file at another size tells the kernel to ask again.
  std::atomic<uint64_t> told_size{UINT64_MAX};
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
  // The number `path` has, or would get from its next Lookup; does not make a node.
  fuse_ino_t InoOf(const std::string& path);
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
  // For paths whose derived number a live node has: counted up from here, below every derived
  // number (those have the top bit set).
  fuse_ino_t next_ino_ = FUSE_ROOT_ID + 1;              // Protected by mu_.
  std::unordered_map<fuse_ino_t, Entry> by_ino_;         // Protected by mu_.
  std::unordered_map<std::string, fuse_ino_t> by_path_;  // Protected by mu_.
};

}  // namespace nc_fuse
