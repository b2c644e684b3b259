// SPDX-License-Identifier: MIT
// lowlevel.cc — the FUSE operations. Each handler replies exactly once; the valid replies are
// those of fuse_lowlevel.h for the op. Read-only: writes never reach us (mounted "ro").
// libfuse example: passthrough_hp.cc.
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "fuse/control.h"
#include "fuse/errno.h"
#include "fuse/metrics.h"
#include "fuse/inode_table.h"
#include "fuse/session.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/thread_pool.h"

namespace nc_fuse {

using util::Status;

struct Session::Impl {
  FsContext ctx;
  SessionOptions options;
  InodeTable inodes;
  fuse_session* se = nullptr;
  bool mounted = false;
  std::unique_ptr<ControlServer> control;
  std::unique_ptr<MetricsServer> metrics;
  // readdirplus asks the origin for many entries' attributes at once (one round trip each on
  // HTTP), so they run in parallel here.
  util::ThreadPool attr_pool{"nc-attrs", 8};
  // Closed files, least recently closed first, each with the serial of its release (a file
  // closed again has a newer entry; the older one is then skipped). See options.idle_files.
  std::mutex idle_mu;
  std::deque<std::pair<std::weak_ptr<Node>, uint64_t>> idle_files;  // Protected by idle_mu.
  std::atomic<uint64_t> release_serial{0};
  // Asks the kernel to forget files beyond options.max_inodes (see ForgetColdFiles). Its own
  // thread: a notification sent from a request's path may deadlock (fuse_lowlevel.h).
  std::mutex forgetter_mu;
  std::condition_variable forgetter_cv;
  bool forgetter_stopping = false;  // Protected by forgetter_mu.
  std::thread forgetter;
};

namespace {

// REQUIRES: node->mu held (the handle is counted in node->open_generations).
struct FileHandle {
  FileHandle(std::shared_ptr<Node> owner, std::shared_ptr<netfs::Inode> file, uint64_t pinned)
      : node(std::move(owner)), inode(std::move(file)), generation(pinned) {
    inode->BeginUse();
    ++node->open_generations[generation];
    readahead.pinned_generation = generation;
  }
  ~FileHandle() {
    inode->EndUse();
    std::lock_guard lock(node->mu);
    if (--node->open_generations[generation] == 0) node->open_generations.erase(generation);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  const std::shared_ptr<Node> node;
  const std::shared_ptr<netfs::Inode> inode;
  const uint64_t generation;  // Of the version this handle reads.
  netfs::ReadaheadState readahead;
};

struct DirHandle {
  std::vector<origin::DirEntry> entries;
};

// The longest name the kernel's tools expect of a file system (NAME_MAX).
constexpr size_t kNameMax = 255;

Session::Impl* ImplOf(fuse_req_t req) { return static_cast<Session::Impl*>(fuse_req_userdata(req)); }

mode_t ModeOf(const origin::Attr& attr) {
  mode_t type = S_IFREG;
  switch (attr.type) {
    case origin::FileType::kDirectory: type = S_IFDIR; break;
    case origin::FileType::kSymlink: type = S_IFLNK; break;
    case origin::FileType::kRegular: type = S_IFREG; break;
    case origin::FileType::kOther: type = S_IFREG; break;
  }
  // Read-only mount: write bits are dropped so tools do not offer to write.
  return type | (attr.mode & 0555);
}

struct stat StatOf(fuse_ino_t ino, const origin::Attr& attr) {
  struct stat st = {};
  st.st_ino = ino;
  st.st_mode = ModeOf(attr);
  st.st_nlink = attr.nlink;
  st.st_size = static_cast<off_t>(attr.size);
  st.st_blksize = 128 * 1024;
  st.st_blocks = static_cast<blkcnt_t>((attr.size + 511) / 512);
  st.st_mtim.tv_sec = attr.mtime_ns / 1000000000;
  st.st_mtim.tv_nsec = attr.mtime_ns % 1000000000;
  st.st_ctim.tv_sec = attr.ctime_ns / 1000000000;
  st.st_ctim.tv_nsec = attr.ctime_ns % 1000000000;
  st.st_atim = st.st_mtim;
  st.st_uid = 0;
  st.st_gid = 0;
  return st;
}

// Attributes from the origin (or a listing); a regular file's cached data is revalidated
// against them when they carry a version. `in_use`: the file has been opened (see
// Origin::GetStatAttrInUse).
util::Result<origin::Attr> FreshAttr(Session::Impl* impl, Node& node, bool in_use = false) {
  auto attr = in_use ? impl->ctx.origin->GetStatAttrInUse(node.path)
                     : impl->ctx.origin->GetStatAttr(node.path);
  if (!attr.ok()) return attr;
  std::lock_guard lock(node.mu);
  if (node.file) {
    if (attr->type == origin::FileType::kRegular) {
      if (!attr->version.empty()) node.file->Revalidate(*attr);
    } else {
      node.file.reset();  // Replaced by something that is not a file.
    }
  }
  return attr;
}

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", ch);
      out += escaped;
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

std::string FormatStatsJson(Session::Impl* impl) {
  netfs::Stats& n = impl->ctx.netfs->stats();
  folio::FolioPoolStats p = impl->ctx.pool->Stats();
  std::string json = "{";
  auto add = [&json](const char* name, uint64_t value) {
    if (json.size() > 1) json += ",";
    json += "\"" + std::string(name) + "\":" + std::to_string(value);
  };
  add("pid", static_cast<uint64_t>(getpid()));
  add("bytes_from_cache", n.bytes_from_cache.load());
  add("bytes_from_origin", n.bytes_from_origin.load());
  add("bytes_zero_filled", n.bytes_zero_filled.load());
  add("cache_reads", n.cache_reads.load());
  add("cache_read_fallbacks", n.cache_read_fallbacks.load());
  add("cache_writes", n.cache_writes.load());
  add("cache_write_bytes", n.cache_write_bytes.load());
  add("cache_write_errors", n.cache_write_errors.load());
  add("cache_backlog_waits", n.cache_backlog_waits.load());
  add("cache_writes_skipped", n.cache_writes_skipped.load());
  add("cache_write_skipped_bytes", n.cache_write_skipped_bytes.load());
  add("invalidations", n.invalidations.load());
  add("read_restarts", n.read_restarts.load());
  add("background_fetches", n.background_fetches.load());
  add("origin_reads", n.origin_reads.load());
  add("origin_errors", n.origin_errors.load());
  add("origin_retries", n.origin_retries.load());
  add("folios_resident", p.resident);
  add("folios_reclaimed", p.reclaimed);
  add("folio_limit", p.limit);
  if (impl->ctx.cache != nullptr) {
    fscache::CacheStats& c = impl->ctx.cache->stats();
    add("cache_corruptions", c.corruptions.load());
    add("cache_open_errors", c.open_errors.load());
    add("cache_stale_ops", c.stale_ops.load());
    fscache::BackendStats b = impl->ctx.cache->backend_stats();
    add("cache_bytes", b.bytes_used);
    add("cache_files", b.objects);
    add("cache_size_limit", b.size_limit);
    add("culled_files", b.culled_objects);
    add("culled_bytes", b.culled_bytes);
    add("cache_writes_refused", b.writes_refused);
  }
  if (impl->ctx.metadata != nullptr) {
    add("metadata_cache_hits", impl->ctx.metadata->hits.load());
    add("served_stale", impl->ctx.metadata->served_stale.load());
    add("offline_misses", impl->ctx.metadata->offline_misses.load());
    add("listings_read_ahead", impl->ctx.metadata->listings_read_ahead.load());
    add("opened_ahead", impl->ctx.metadata->opened_ahead.load());
    add("attrs_renewed_ahead", impl->ctx.metadata->attrs_renewed_ahead.load());
  }
  add("inodes", impl->inodes.Size());
  add("file_inodes", impl->ctx.netfs->LiveInodes());
  json += ",\"source\":" + JsonQuote(impl->ctx.source);
  json += ",\"cache_dir\":" + JsonQuote(impl->ctx.cache_dir);
  if (impl->control) json += ",\"control_socket\":" + JsonQuote(impl->control->path());
  json += "}";
  return json;
}

// Records what the kernel is about to be told of a file's size (see Node::told_size).
void Told(Node& node, const origin::Attr& attr) {
  node.told_size.store(attr.size, std::memory_order_relaxed);
}

void ReplyEntry(fuse_req_t req, Session::Impl* impl, const std::shared_ptr<Node>& node,
                const origin::Attr& attr) {
  fuse_entry_param entry = {};
  entry.ino = node->ino;
  entry.attr = StatOf(node->ino, attr);
  entry.attr_timeout = impl->options.attr_timeout;
  entry.entry_timeout = impl->options.attr_timeout;
  node->regular.store(attr.type == origin::FileType::kRegular, std::memory_order_relaxed);
  Told(*node, attr);
  fuse_reply_entry(req, &entry);
}

// Valid replies: fuse_reply_entry, fuse_reply_err.
void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  Session::Impl* impl = ImplOf(req);
  auto dir = impl->inodes.Get(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  // No origin is asked about a name no local file system could hold (HTTP would say 404).
  if (std::strlen(name) > kNameMax) return (void)fuse_reply_err(req, ENAMETOOLONG);
  std::string path = origin::JoinPath(dir->path, name);
  auto attr = impl->ctx.origin->GetStatAttr(path);
  if (!attr.ok()) return (void)fuse_reply_err(req, ErrnoOf(attr.status()));
  auto node = impl->inodes.Lookup(path);
  {
    std::lock_guard lock(node->mu);
    if (node->file && attr->type == origin::FileType::kRegular && !attr->version.empty()) {
      node->file->Revalidate(*attr);
    }
  }
  ReplyEntry(req, impl, node, *attr);
}

// Valid replies: fuse_reply_none.
void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) noexcept {
  ImplOf(req)->inodes.Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) noexcept {
  for (size_t i = 0; i < count; ++i) ImplOf(req)->inodes.Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

// Valid replies: fuse_reply_attr, fuse_reply_err.
void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) noexcept {
  Session::Impl* impl = ImplOf(req);
  auto node = impl->inodes.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ESTALE);
  bool opened;
  {
    std::lock_guard lock(node->mu);
    opened = node->file != nullptr;
  }
  auto attr = FreshAttr(impl, *node, opened);
  if (!attr.ok()) return (void)fuse_reply_err(req, ErrnoOf(attr.status()));
  struct stat st = StatOf(ino, *attr);
  Told(*node, *attr);
  // An opened file's reader asks at every expiry (auto_inval_data): at half the timeout it asks
  // while the origin's answer is still fresh and is being renewed behind it.
  fuse_reply_attr(req, &st, opened ? impl->options.attr_timeout / 2 : impl->options.attr_timeout);
}

// Valid replies: fuse_reply_readlink, fuse_reply_err.
void OpReadlink(fuse_req_t req, fuse_ino_t ino) noexcept {
  Session::Impl* impl = ImplOf(req);
  auto node = impl->inodes.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ESTALE);
  auto target = impl->ctx.origin->ReadLink(node->path);
  if (!target.ok()) return (void)fuse_reply_err(req, ErrnoOf(target.status()));
  fuse_reply_readlink(req, target->c_str());
}

// Valid replies: fuse_reply_open, fuse_reply_err.
void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Session::Impl* impl = ImplOf(req);
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EROFS);
  auto node = impl->inodes.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ESTALE);
  // Close-to-open coherency: every open asks the origin for the current version.
  auto attr = impl->ctx.origin->GetAttrForRead(node->path);
  if (!attr.ok()) return (void)fuse_reply_err(req, ErrnoOf(attr.status()));
  if (attr->type == origin::FileType::kDirectory) return (void)fuse_reply_err(req, EISDIR);
  if (attr->type != origin::FileType::kRegular) return (void)fuse_reply_err(req, EACCES);
  std::unique_ptr<FileHandle> handle;
  node->looked_up_ns.store(util::SteadyNs(), std::memory_order_relaxed);
  bool size_changed;
  {
    std::lock_guard lock(node->mu);
    if (!node->file) {
      node->file = impl->ctx.netfs->GetInode(node->path, *attr);
    } else {
      node->file->Revalidate(*attr);
    }
    // The version pinned and the page cache decision come from one reading of the inode (a
    // revalidation racing with this open may have moved it past `attr`).
    const netfs::Inode::Pin pin = node->file->CurrentVersion();
    // The kernel's page cache is shared by every handle of the file. While a handle of an older
    // version is open it reads those pages, so a newer handle must not put its pages there: it
    // reads with direct I/O (the older handle meanwhile reads its own version's pages, or gets
    // EIO from us for the rest). Otherwise the pages are kept only if they hold this version.
    const bool older_open = !node->open_generations.empty() &&
                            node->open_generations.begin()->first < pin.generation;
    fi->direct_io = older_open;
    fi->keep_cache = !older_open && node->version_at_last_open == pin.attr.version;
    if (!older_open) node->version_at_last_open = pin.attr.version;
    handle = std::make_unique<FileHandle>(node, node->file, pin.generation);
    size_changed = node->told_size.load(std::memory_order_relaxed) != pin.attr.size;
  }
  if (size_changed) {
    // The kernel reads up to the size it was told (a listing's, say): a file that grew since
    // would read as the new version cut at the old size. Attributes only (offset -1): no pages
    // are touched, so this cannot wait on the kernel's page locks.
    fuse_lowlevel_notify_inval_inode(impl->se, ino, -1, 0);
  }
  fi->fh = reinterpret_cast<uint64_t>(handle.release());
  if (fuse_reply_open(req, fi) == -ENOENT) {
    delete reinterpret_cast<FileHandle*>(fi->fh);  // Interrupted: no release will come.
  }
}

// Valid replies: fuse_reply_buf, fuse_reply_err.
void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept {
  auto* handle = reinterpret_cast<FileHandle*>(fi->fh);
  auto span = handle->inode->ReadFolios(static_cast<uint64_t>(off), size, &handle->readahead);
  if (!span.ok()) return (void)fuse_reply_err(req, ErrnoOf(span.status()));
  // Reply straight from the folios: the references in `span` keep them until writev is done.
  std::vector<struct iovec> iov;
  iov.reserve(span->folios.size());
  uint64_t offset = span->offset;
  uint64_t left = span->len;
  for (const folio::FolioRef& folio : span->folios) {
    uint64_t n = std::min<uint64_t>(folio::kFolioSize - offset, left);
    iov.push_back({folio->data() + offset, n});
    left -= n;
    offset = 0;
  }
  fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

// A file was closed: it joins the idle list, and the least recently closed files beyond
// options.idle_files let go of their netfs inode, if nothing else holds it (no handle, read or
// prefetch: the node's reference is the last; handles are made under node->mu, held here).
// Anyone who takes it from netfs meanwhile keeps it alive, and the next open finds it there.
void LetIdleFilesGo(Session::Impl* impl, fuse_ino_t ino) {
  auto node = impl->inodes.Get(ino);
  if (!node) return;
  const uint64_t serial = ++impl->release_serial;
  {
    std::lock_guard lock(node->mu);
    node->last_release = serial;
  }
  std::vector<std::shared_ptr<netfs::Inode>> dropped;  // Destroyed after the locks.
  std::unique_lock idle(impl->idle_mu);
  impl->idle_files.emplace_back(node, serial);
  while (impl->idle_files.size() > impl->options.idle_files) {
    auto [weak, released] = std::move(impl->idle_files.front());
    impl->idle_files.pop_front();
    idle.unlock();
    if (auto victim = weak.lock()) {
      std::lock_guard lock(victim->mu);
      if (victim->last_release == released && victim->file && victim->file.use_count() == 1) {
        dropped.push_back(std::move(victim->file));
      }
    }
    idle.lock();
  }
}

// The kernel keeps an inode (and we a node) for every file it has seen while it has memory to
// spare; past options.max_inodes it is asked to forget the least recently used files, through
// an invalidation of their directory entry: an unused entry goes, its inode with it, and the
// kernel's FORGET frees our node. In use (open, or a working directory) the entry only stops
// being found by name, and the next lookup makes a new one. Once a second, from its own thread.
void ForgetColdFiles(Session::Impl* impl) {
  for (;;) {
    {
      std::unique_lock lock(impl->forgetter_mu);
      impl->forgetter_cv.wait_for(lock, std::chrono::seconds(1),
                                  [impl] { return impl->forgetter_stopping; });
      if (impl->forgetter_stopping) return;
    }
    const size_t known = impl->inodes.Size(), limit = impl->options.max_inodes;
    if (known <= limit) continue;
    // Down to 7/8 of the bound, in batches, so a tree read once is not a notification per file.
    // Never a file used in the last second: where directories alone pass the bound, every file
    // would otherwise be forgotten again each second.
    const int64_t recent = util::SteadyNs() - 1'000'000'000;
    for (const auto& node : impl->inodes.ColdestFiles(known - limit * 7 / 8)) {
      if (node->looked_up_ns.load(std::memory_order_relaxed) > recent) break;  // Coldest first.
      auto [dir, name] = origin::SplitPath(node->path);
      auto parent = impl->inodes.Find(dir);
      if (!parent) continue;  // Forgotten with its directory already.
      fuse_lowlevel_notify_inval_entry(impl->se, parent->ino, name.c_str(), name.size());
    }
  }
}

// Valid replies: fuse_reply_err.
void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Session::Impl* impl = ImplOf(req);  // Not after the reply: it frees req.
  delete reinterpret_cast<FileHandle*>(fi->fh);
  fuse_reply_err(req, 0);
  LetIdleFilesGo(impl, ino);
}

// Valid replies: fuse_reply_open, fuse_reply_err.
void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Session::Impl* impl = ImplOf(req);
  auto node = impl->inodes.Get(ino);
  if (!node) return (void)fuse_reply_err(req, ESTALE);
  auto entries = impl->ctx.origin->ReadDir(node->path);
  if (!entries.ok()) return (void)fuse_reply_err(req, ErrnoOf(entries.status()));
  auto handle = std::make_unique<DirHandle>();
  // "." and ".." first, as a local file system lists them (ls -a, and tools that count on them).
  handle->entries.reserve(entries->size() + 2);
  for (const char* dot : {".", ".."}) {
    handle->entries.push_back({.name = dot, .type = origin::FileType::kDirectory});
  }
  size_t too_long = 0;
  for (origin::DirEntry& entry : *entries) {
    if (entry.name.size() > kNameMax) {
      ++too_long;  // Cannot be looked up, and one such name must not fail the whole listing.
      continue;
    }
    handle->entries.push_back(std::move(entry));
  }
  if (too_long > 0) {
    NC_LOG_WARN("%s: %zu names longer than %zu bytes left out of the listing", node->path.c_str(),
                too_long, kNameMax);
  }
  fi->fh = reinterpret_cast<uint64_t>(handle.release());
  if (fuse_reply_open(req, fi) == -ENOENT) delete reinterpret_cast<DirHandle*>(fi->fh);
}

fuse_ino_t ParentIno(Session::Impl* impl, const std::string& dir_path) {
  if (dir_path.empty()) return FUSE_ROOT_ID;  // The mount's root is its own parent here.
  return impl->inodes.InoOf(origin::SplitPath(dir_path).first);
}

// Valid replies: fuse_reply_buf, fuse_reply_err.
void DoReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
               bool plus) noexcept {
  Session::Impl* impl = ImplOf(req);
  auto* handle = reinterpret_cast<DirHandle*>(fi->fh);
  auto dir = impl->inodes.Get(ino);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  std::vector<char> buf(size);
  size_t used = 0;
  std::map<size_t, util::Result<origin::Attr>> prefetched;
  for (size_t i = static_cast<size_t>(off); i < handle->entries.size(); ++i) {
    const origin::DirEntry& entry = handle->entries[i];
    off_t next = static_cast<off_t>(i + 1);
    size_t room = size - used;
    const bool dot = i < 2;  // "." and "..": see OpOpendir.
    if (!plus || dot) {
      // Every entry carries its real inode number: glibc's readdir skips d_ino 0, and the kernel
      // reads a large directory with one READDIRPLUS and then plain READDIRs.
      struct stat st = {};
      st.st_ino = i == 0   ? ino
                  : i == 1 ? ParentIno(impl, dir->path)
                           : impl->inodes.InoOf(origin::JoinPath(dir->path, entry.name));
      st.st_mode = entry.type == origin::FileType::kDirectory ? S_IFDIR
                   : entry.type == origin::FileType::kSymlink ? S_IFLNK
                                                               : S_IFREG;
      size_t need;
      if (plus) {
        // Node id 0: the kernel links no dentry and counts no lookup for these two.
        fuse_entry_param param = {};
        param.attr = st;
        need = fuse_add_direntry_plus(req, buf.data() + used, room, entry.name.c_str(), &param, next);
      } else {
        need = fuse_add_direntry(req, buf.data() + used, room, entry.name.c_str(), &st, next);
      }
      if (need > room) break;
      used += need;
      continue;
    }
    // Checked before the lookup so an entry that does not fit raises no lookup count.
    if (fuse_add_direntry_plus(req, nullptr, 0, entry.name.c_str(), nullptr, 0) > room) break;
    std::string path = origin::JoinPath(dir->path, entry.name);
    if (!prefetched.count(i)) {
      // Fetch the attributes of the entries that can still fit, all at once.
      size_t budget = size - used;
      std::vector<std::pair<size_t, std::future<util::Result<origin::Attr>>>> pending;
      for (size_t j = i; j < handle->entries.size() && j < i + 64; ++j) {
        size_t need = fuse_add_direntry_plus(req, nullptr, 0, handle->entries[j].name.c_str(), nullptr, 0);
        if (need > budget) break;
        budget -= need;
        auto promise = std::make_shared<std::promise<util::Result<origin::Attr>>>();
        pending.emplace_back(j, promise->get_future());
        impl->attr_pool.Submit([impl, promise, p = origin::JoinPath(dir->path, handle->entries[j].name)] {
          promise->set_value(impl->ctx.origin->GetStatAttr(p));
        });
      }
      for (auto& [j, future] : pending) prefetched.emplace(j, future.get());
    }
    auto attr = std::move(prefetched.at(i));
    if (!attr.ok()) continue;  // Gone since the listing was taken.
    auto node = impl->inodes.Lookup(path);
    node->regular.store(attr->type == origin::FileType::kRegular, std::memory_order_relaxed);
    Told(*node, *attr);
    fuse_entry_param param = {};
    param.ino = node->ino;
    param.attr = StatOf(node->ino, *attr);
    param.attr_timeout = impl->options.attr_timeout;
    param.entry_timeout = impl->options.attr_timeout;
    used += fuse_add_direntry_plus(req, buf.data() + used, room, entry.name.c_str(), &param, next);
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) noexcept {
  DoReaddir(req, ino, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   fuse_file_info* fi) noexcept {
  DoReaddir(req, ino, size, off, fi, true);
}

// Valid replies: fuse_reply_err.
void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

// Valid replies: fuse_reply_statfs, fuse_reply_err.
void OpStatfs(fuse_req_t req, fuse_ino_t) noexcept {
  auto stats = ImplOf(req)->ctx.origin->StatFs();
  if (!stats.ok()) return (void)fuse_reply_err(req, ErrnoOf(stats.status()));
  struct statvfs sv = {};
  sv.f_bsize = sv.f_frsize = stats->block_size;
  sv.f_blocks = stats->blocks;
  sv.f_bfree = sv.f_bavail = stats->blocks_free;
  sv.f_files = stats->files;
  sv.f_ffree = sv.f_favail = stats->files_free;
  sv.f_namemax = stats->name_max;
  fuse_reply_statfs(req, &sv);
}

// Valid replies: fuse_reply_buf, fuse_reply_xattr, fuse_reply_err.
void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) noexcept {
  Session::Impl* impl = ImplOf(req);
  std::string value;
  if (std::strcmp(name, kStatsXattr) == 0) {
    value = FormatStatsJson(impl);
  } else if (std::strcmp(name, kCachedXattr) == 0) {
    auto node = impl->inodes.Get(ino);
    if (!node) return (void)fuse_reply_err(req, ESTALE);
    auto attr = impl->ctx.origin->GetAttr(node->path);
    if (!attr.ok()) return (void)fuse_reply_err(req, ErrnoOf(attr.status()));
    if (attr->type != origin::FileType::kRegular) return (void)fuse_reply_err(req, ENODATA);
    // Also for files not opened yet: what an earlier run left in the cache counts.
    value = std::to_string(impl->ctx.netfs->GetInode(node->path, *attr)->BytesCached());
  } else {
    return (void)fuse_reply_err(req, ENODATA);
  }
  if (size == 0) return (void)fuse_reply_xattr(req, value.size());
  if (size < value.size()) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, value.data(), value.size());
}

// Valid replies: fuse_reply_buf, fuse_reply_xattr, fuse_reply_err.
void OpListxattr(fuse_req_t req, fuse_ino_t, size_t size) noexcept {
  // Virtual attributes are not listed, so copying tools (cp -a, rsync -X) do not copy them.
  if (size == 0) return (void)fuse_reply_xattr(req, 0);
  fuse_reply_buf(req, nullptr, 0);
}

// The kernel caps a FUSE mount's readahead at the default 128 KiB whatever max_readahead says,
// so sequential reads arrive in 128 KiB requests: a round trip through the daemon for each.
// Root may raise it through the mount's backing device, as for any block device; reads then
// come in requests of up to 1 MiB (measured: about 25% more throughput on cache hits).
// Best effort: without the right, the mount works as before.
void RaiseKernelReadahead(const std::string& mountpoint) {
  FILE* mountinfo = std::fopen("/proc/self/mountinfo", "re");
  if (mountinfo == nullptr) return;
  std::string device;
  char line[4096];
  while (std::fgets(line, sizeof(line), mountinfo) != nullptr) {
    char dev[64], root[1024], point[1024];
    if (std::sscanf(line, "%*d %*d %63s %1023s %1023s", dev, root, point) != 3) continue;
    std::string unescaped;  // mountinfo writes space, tab, newline and backslash as \ooo.
    for (const char* c = point; *c != '\0'; ++c) {
      if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] != '\0' && c[3] != '\0') {
        unescaped += static_cast<char>((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
        c += 3;
      } else {
        unescaped += *c;
      }
    }
    if (unescaped == mountpoint) device = dev;  // The last one: ours, mounted just now.
  }
  std::fclose(mountinfo);
  if (device.empty()) return;
  std::string knob = "/sys/class/bdi/" + device + "/read_ahead_kb";
  FILE* f = std::fopen(knob.c_str(), "we");
  bool raised = f != nullptr && std::fputs("1024\n", f) >= 0;
  if (f != nullptr && std::fclose(f) != 0) raised = false;
  NC_LOG_DEBUG("kernel readahead of the mount (%s): %s", knob.c_str(), raised ? "1 MiB" : "left at its default");
}

void OpInit(void*, fuse_conn_info* conn) noexcept {
  // Allow reads of up to 1 MiB per request: max_pages follows max_write. The kernel still caps
  // its readahead (so buffered read sizes) at the bdi's read_ahead_kb, 128 KiB by default;
  // raising that made no measurable difference here (see bench/RESULTS.md).
  conn->max_read = 1024 * 1024;
  conn->max_write = 1024 * 1024;
  conn->max_readahead = 1024 * 1024;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // Drop the kernel's cached pages when getattr shows a new mtime or size.
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA) conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
}

// The counters in the Prometheus text exposition format.
std::string FormatPrometheus(Session::Impl* impl) {
  netfs::Stats& n = impl->ctx.netfs->stats();
  folio::FolioPoolStats p = impl->ctx.pool->Stats();
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&out](const std::string& name, const std::string& labels, double value) {
    char num[64];
    std::snprintf(num, sizeof(num), "%.17g", value);
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + num + "\n";
  };
  double from_cache = n.bytes_from_cache.load(), from_origin = n.bytes_from_origin.load();
  double cache_reads = n.cache_reads.load(), origin_reads = n.origin_reads.load();
  family("netcache_read_bytes_total", "counter", "Bytes read into memory, by where they came from.");
  sample("netcache_read_bytes_total", "source=\"cache\"", from_cache);
  sample("netcache_read_bytes_total", "source=\"origin\"", from_origin);
  family("netcache_read_requests_total", "counter", "Read requests, by where they went.");
  sample("netcache_read_requests_total", "source=\"cache\"", cache_reads);
  sample("netcache_read_requests_total", "source=\"origin\"", origin_reads);
  family("netcache_hit_ratio", "gauge", "Share of reads served by the persistent cache.");
  sample("netcache_hit_ratio", "by=\"bytes\"", from_cache + from_origin > 0 ? from_cache / (from_cache + from_origin) : 0);
  sample("netcache_hit_ratio", "by=\"requests\"",
         cache_reads + origin_reads > 0 ? cache_reads / (cache_reads + origin_reads) : 0);
  family("netcache_revalidations_total", "counter", "Version checks against the origin, by outcome.");
  sample("netcache_revalidations_total", "outcome=\"unchanged\"", n.revalidations_unchanged.load());
  sample("netcache_revalidations_total", "outcome=\"changed\"", n.invalidations.load());
  if (impl->ctx.metadata != nullptr) {
    sample("netcache_revalidations_total", "outcome=\"served_stale\"", impl->ctx.metadata->served_stale.load());
  }
  family("netcache_evictions_total", "counter", "Data dropped, by reason.");
  sample("netcache_evictions_total", "reason=\"memory\",unit=\"folios\"", p.reclaimed);
  if (impl->ctx.cache != nullptr) {
    fscache::BackendStats b = impl->ctx.cache->backend_stats();
    sample("netcache_evictions_total", "reason=\"cull\",unit=\"files\"", b.culled_objects);
    sample("netcache_evictions_total", "reason=\"corruption\",unit=\"files\"", impl->ctx.cache->stats().corruptions.load());
    family("netcache_cache_bytes", "gauge", "Disk space used by the cache directory.");
    sample("netcache_cache_bytes", "", b.bytes_used);
    family("netcache_cache_size_limit_bytes", "gauge", "The cache's size limit (0: none).");
    sample("netcache_cache_size_limit_bytes", "", b.size_limit);
    family("netcache_cache_writes_refused_total", "counter", "Cache writes refused for want of space.");
    sample("netcache_cache_writes_refused_total", "", b.writes_refused);
  }
  family("netcache_cache_write_errors_total", "counter", "Failed copies into the cache.");
  sample("netcache_cache_write_errors_total", "", n.cache_write_errors.load());
  family("netcache_cache_backlog_waits_total", "counter",
         "Downloads that waited for the cache disk to catch up.");
  sample("netcache_cache_backlog_waits_total", "", n.cache_backlog_waits.load());
  family("netcache_cache_write_skipped_bytes_total", "counter",
         "Downloaded bytes not cached because the cache disk was behind.");
  sample("netcache_cache_write_skipped_bytes_total", "", n.cache_write_skipped_bytes.load());
  family("netcache_origin_errors_total", "counter", "Failed origin requests (before retries).");
  sample("netcache_origin_errors_total", "", n.origin_errors.load());
  family("netcache_folios_resident", "gauge", "Folios in the in-memory page cache.");
  sample("netcache_folios_resident", "", p.resident);
  family("netcache_origin_latency_seconds", "histogram", "Origin read request latency.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < n.origin_latency.size(); ++i) {
    cumulative += n.origin_latency[i].load();
    char le[32];
    if (i < netfs::Stats::kLatencyBounds.size()) {
      std::snprintf(le, sizeof(le), "%g", netfs::Stats::kLatencyBounds[i]);
    } else {
      std::snprintf(le, sizeof(le), "+Inf");
    }
    sample("netcache_origin_latency_seconds_bucket", std::string("le=\"") + le + "\"", cumulative);
  }
  sample("netcache_origin_latency_seconds_sum", "", n.origin_latency_sum_us.load() / 1e6);
  sample("netcache_origin_latency_seconds_count", "", cumulative);
  return out;
}

std::string ControlError(const std::string& message) {
  return "{\"ok\":false,\"error\":" + JsonQuote(message) + "}";
}

// Requests: "inspect\tPATH", "invalidate\tPATH", "pin\tPATH", "unpin\tPATH", "cull\tBYTES";
// PATH relative to the mount's root. Replies: one JSON object with "ok".
std::string HandleControl(Session::Impl* impl, const std::string& request) noexcept {
  size_t tab = request.find('\t');
  std::string command = request.substr(0, tab);
  std::string arg = tab == std::string::npos ? "" : request.substr(tab + 1);
  if (command == "cull") {
    if (impl->ctx.cache == nullptr) return ControlError("this mount has no cache");
    auto freed = impl->ctx.cache->Cull(std::strtoull(arg.c_str(), nullptr, 10));
    if (!freed.ok()) return ControlError(freed.status().ToString());
    return "{\"ok\":true,\"freed_bytes\":" + std::to_string(*freed) + "}";
  }
  if (command == "revalidate") {
    auto older = std::chrono::nanoseconds(static_cast<int64_t>(std::strtod(arg.c_str(), nullptr) * 1e9));
    auto result = impl->ctx.netfs->RevalidateAll(older);
    return "{\"ok\":true,\"checked\":" + std::to_string(result.checked) + ",\"changed\":" +
           std::to_string(result.changed) + ",\"failed\":" + std::to_string(result.failed) + "}";
  }
  if (command != "inspect" && command != "invalidate" && command != "pin" && command != "unpin") {
    return ControlError("unknown command " + command);
  }
  // Paths come from the CLI's view of the mount: plain relative components only.
  for (size_t start = 0; start <= arg.size();) {
    size_t end = std::min(arg.find('/', start), arg.size());
    std::string part = arg.substr(start, end - start);
    if ((part.empty() && !arg.empty()) || part == "." || part == "..") {
      return ControlError("bad path " + arg);
    }
    start = end + 1;
  }
  auto attr = impl->ctx.origin->GetAttr(arg);
  if (!attr.ok()) return ControlError(attr.status().ToString());
  if (attr->type != origin::FileType::kRegular) return ControlError(arg + " is not a regular file");
  auto inode = impl->ctx.netfs->GetInode(arg, *attr);
  const auto& cookie = inode->cookie();
  if (command == "invalidate") {
    inode->DropCache();
    if (auto node = impl->inodes.Find(arg)) {
      {
        std::lock_guard lock(node->mu);
        node->version_at_last_open.clear();  // The next open must not keep the kernel's pages.
      }
      // And the pages the kernel holds now go too.
      fuse_lowlevel_notify_inval_inode(impl->se, node->ino, 0, 0);
    }
    return "{\"ok\":true}";
  }
  if (command == "pin" || command == "unpin") {
    if (!cookie) return ControlError("this mount does not cache " + arg);
    cookie->SetPinned(command == "pin");
    return "{\"ok\":true}";
  }
  std::string json = "{\"ok\":true,\"path\":" + JsonQuote(arg) +
                     ",\"size\":" + std::to_string(attr->size) +
                     ",\"version\":" + JsonQuote(attr->version) + ",\"cookie_key\":" + JsonQuote(arg) +
                     ",\"cached_bytes\":" + std::to_string(inode->BytesCached()) +
                     ",\"pinned\":" + (cookie && cookie->pinned() ? "true" : "false") +
                     ",\"folios_resident\":" + std::to_string(inode->FoliosResident()) + ",\"ranges\":[";
  bool first = true;
  if (cookie) {
    for (auto [start, end] : cookie->CachedRanges()) {
      json += (first ? "" : ",") + ("[" + std::to_string(start) + "," + std::to_string(end) + "]");
      first = false;
    }
  }
  return json + "]}";
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops = {};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.statfs = OpStatfs;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  return ops;
}();

}  // namespace

util::Result<std::unique_ptr<Session>> Session::Mount(FsContext context, SessionOptions options) {
  std::unique_ptr<Session> session(new Session());
  session->impl_ = std::make_unique<Impl>();
  Impl* impl = session->impl_.get();
  impl->ctx = std::move(context);
  impl->options = options;

  std::string mount_opts = "ro,default_permissions,fsname=" + options.fsname +
                           ",subtype=netcache,max_read=1048576";
  if (options.allow_other) mount_opts += ",allow_other";
  std::vector<std::string> arg_strings = {"netcache", "-o", mount_opts};
  if (options.debug) arg_strings.push_back("-d");
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  impl->se = fuse_session_new(&args, &kOps, sizeof(kOps), impl);
  if (impl->se == nullptr) {
    return Status::Error(util::Code::kInvalidArgument, "cannot create the FUSE session");
  }
  if (fuse_session_mount(impl->se, options.mountpoint.c_str()) != 0) {
    return Status::Error(util::Code::kIOError,
                         "cannot mount on " + options.mountpoint + " (is /dev/fuse available?)");
  }
  impl->mounted = true;
  RaiseKernelReadahead(options.mountpoint);
  auto control = ControlServer::Start(DefaultControlSocketPath(), [impl](const std::string& request) {
    return HandleControl(impl, request);
  });
  if (control.ok()) {
    impl->control = std::move(*control);
  } else {
    NC_LOG_WARN("no control socket (invalidate, pin, cull unavailable): %s",
                control.status().ToString().c_str());
  }
  if (!options.metrics_listen.empty()) {
    auto metrics = MetricsServer::Start(options.metrics_listen, [impl] { return FormatPrometheus(impl); });
    if (!metrics.ok()) return metrics.status();  // Asked for explicitly: a clear failure.
    impl->metrics = std::move(*metrics);
  }
  return session;
}

Session::~Session() {
  if (!impl_ || impl_->se == nullptr) return;
  impl_->control.reset();  // No commands while tearing down.
  impl_->metrics.reset();
  fuse_remove_signal_handlers(impl_->se);
  if (impl_->mounted) fuse_session_unmount(impl_->se);
  fuse_session_destroy(impl_->se);
}

Status Session::Loop() {
  if (fuse_set_signal_handlers(impl_->se) != 0) {
    return Status::Error(util::Code::kIOError, "cannot install signal handlers");
  }
  fuse_loop_config* config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, static_cast<unsigned>(impl_->options.max_threads));
  fuse_loop_cfg_set_clone_fd(config, 0);
  Impl* impl = impl_.get();
  if (impl->options.max_inodes > 0) {
    impl->forgetter = std::thread([impl] { ForgetColdFiles(impl); });
  }
  int rc = fuse_session_loop_mt(impl_->se, config);
  if (impl->forgetter.joinable()) {
    {
      std::lock_guard lock(impl->forgetter_mu);
      impl->forgetter_stopping = true;
    }
    impl->forgetter_cv.notify_all();
    impl->forgetter.join();
  }
  fuse_loop_cfg_destroy(config);
  fuse_session_unmount(impl_->se);
  impl_->mounted = false;
  // libfuse's signal handlers end the loop with the signal's number: SIGTERM, SIGINT and SIGHUP
  // ask for a clean unmount (a service manager stopping us), not an error.
  if (rc == SIGTERM || rc == SIGINT || rc == SIGHUP) {
    NC_LOG_INFO("%s: unmounting", strsignal(rc));
    return Status::Ok();
  }
  if (rc != 0) {
    return Status::Error(util::Code::kIOError, "FUSE loop ended with an error (" + std::to_string(rc) + ")");
  }
  return Status::Ok();
}

}  // namespace nc_fuse
