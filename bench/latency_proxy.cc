// SPDX-License-Identifier: MIT
// latency_proxy.cc — a TCP proxy that adds a round trip between the benchmarks' clients and
// nginx, since kernel traffic shaping is not available on these machines. Used through
// bench/latency_proxy.py.
//
// Each direction of each connection is a queue of chunks (each held in a pipe, see Pipe): a
// reader thread stamps every chunk with the moment it may leave (half the round trip after it
// arrived) and a writer thread sends it then, so bytes keep their order and a request/response
// exchange costs one round trip.
// Each direction also keeps TCP's window: no more than --window-kib may be unacknowledged, and
// a chunk is acknowledged half a round trip after it was delivered (so a receiver that stops
// reading stops its sender). Over a real link of that round trip, one connection's throughput
// is its window per round trip; a proxy without one let a single curl carry 1.8 GB/s over
// "20 ms", which no TCP connection with Linux's default buffers does. The default is what this
// machine's TCP would allow a connection: the sender's largest send buffer (tcp_wmem) or half
// the receiver's largest receive buffer (tcp_rmem, with tcp_adv_win_scale 1), whichever is
// smaller.
// With --link-mib-s, server-to-client chunks also queue for one link of that rate shared by
// all connections, as on a real WAN link, and each connection holds no more than about two
// round trips of the link, so TCP flow control reaches the server as it would there.
// Written in C++ with splice because the first version, in Python, needed a core per GB/s and
// so was itself the link at 20 ms.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMiB = 1024 * 1024;

struct Link {
  Clock::duration one_way{};
  double bytes_per_second = 0;  // 0: no rate, latency only.
  size_t window_bytes = 0;      // Per direction of a connection; 0: unbounded.
  std::mutex mu;
  Clock::time_point free_at;  // When the shared downlink has sent everything queued on it.
};

// The two sockets of one proxied connection; closed when the last direction is done with them.
struct Connection {
  Connection(int client, int server) : client_fd(client), server_fd(server) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    close(client_fd);
    close(server_fd);
  }
  const int client_fd;
  const int server_fd;
};

// A pipe holds a chunk while it waits: splice moves the socket's pages in and out of it, so the
// proxy copies no bytes (reading into a buffer and writing it out, the proxy took about a core
// per GB/s, close to what netcache itself needs).
class Pipe {
 public:
  Pipe() = default;
  Pipe(Pipe&& other) noexcept : read_fd_(std::exchange(other.read_fd_, -1)), write_fd_(std::exchange(other.write_fd_, -1)) {}
  Pipe& operator=(Pipe&& other) noexcept {
    std::swap(read_fd_, other.read_fd_);
    std::swap(write_fd_, other.write_fd_);
    return *this;
  }
  ~Pipe() {
    if (read_fd_ >= 0) close(read_fd_);
    if (write_fd_ >= 0) close(write_fd_);
  }
  bool Open(size_t capacity) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    fcntl(write_fd_, F_SETPIPE_SZ, static_cast<int>(capacity));  // A hint: splice takes less.
    return true;
  }
  int read_fd() const { return read_fd_; }
  int write_fd() const { return write_fd_; }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

struct Chunk {
  Clock::time_point due;
  Pipe pipe;
  size_t bytes = 0;  // 0: the sender closed its side.
};

// One direction of a connection: `from` is read into the queue, the queue written to `to`.
class Direction {
 public:
  Direction(std::shared_ptr<Connection> conn, int from, int to, Link& link, bool downlink)
      : conn_(std::move(conn)), from_(from), to_(to), link_(link),
        limited_(downlink && link.bytes_per_second > 0) {
    chunk_bytes_ = 256 * 1024;  // At 250 MiB/s a millisecond of link: fine-grained enough.
    if (limited_) {
      double round_trip_s = 2 * std::chrono::duration<double>(link.one_way).count();
      max_queued_ = std::max<size_t>(kMiB, static_cast<size_t>(2 * link.bytes_per_second * round_trip_s));
    }
  }

  static void Start(std::shared_ptr<Direction> direction) {
    std::thread([direction] { direction->Receive(); }).detach();
    std::thread([direction] { direction->Send(); }).detach();
  }

 private:
  // Waits until the window has room for a chunk. A chunk's ack arrives half a round trip
  // after the chunk was delivered to the receiver's socket, so a receiver that stops reading
  // stops the sender too (rclone leaves streams unread: acked by the clock alone, the proxy
  // read on for them until it ran out of descriptors). Waiting for a chunk's room, not for any
  // room, keeps chunks large. Returns false when the receiver hung up.
  bool WaitForWindow() {
    if (link_.window_bytes == 0) return true;
    const size_t room_wanted = std::min(chunk_bytes_, link_.window_bytes / 4);
    std::unique_lock lock(mu_);
    for (;;) {
      if (broken_) return false;
      const Clock::time_point now = Clock::now();
      while (!acks_.empty() && acks_.front().first <= now) {
        unacked_bytes_ -= acks_.front().second;
        acks_.pop_front();
      }
      if (unacked_bytes_ + room_wanted <= link_.window_bytes) return true;
      if (acks_.empty()) {
        room_.wait(lock);
      } else {
        room_.wait_until(lock, acks_.front().first);
      }
    }
  }

  void Receive() {
    for (;;) {
      if (!WaitForWindow()) return;
      Pipe pipe = TakePipe();
      if (pipe.write_fd() < 0) {
        std::fprintf(stderr, "latency proxy: pipe: %s\n", std::strerror(errno));
        break;
      }
      size_t want = chunk_bytes_;
      if (link_.window_bytes > 0) {
        std::lock_guard lock(mu_);
        want = std::min(want, link_.window_bytes - unacked_bytes_);
      }
      ssize_t n = splice(from_, nullptr, pipe.write_fd(), nullptr, want, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF, or a reset: either way nothing more comes from this side.
      Clock::time_point now = Clock::now();
      Clock::time_point due = now + link_.one_way;
      if (limited_) {
        std::lock_guard lock(link_.mu);
        auto transmit = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(n) / link_.bytes_per_second));
        link_.free_at = std::max(now, link_.free_at) + transmit;
        due = link_.free_at + link_.one_way;
      }
      std::unique_lock lock(mu_);
      unacked_bytes_ += static_cast<size_t>(n);
      room_.wait(lock, [&] { return broken_ || max_queued_ == 0 || queued_bytes_ < max_queued_; });
      if (broken_) return;
      queued_bytes_ += static_cast<size_t>(n);
      queue_.push_back({due, std::move(pipe), static_cast<size_t>(n)});
      ready_.notify_one();
    }
    std::lock_guard lock(mu_);
    queue_.push_back({Clock::now() + link_.one_way, Pipe(), 0});
    ready_.notify_one();
  }

  void Send() {
    for (;;) {
      Chunk chunk;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty(); });
        chunk = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= chunk.bytes;
        room_.notify_one();
      }
      std::this_thread::sleep_until(chunk.due);
      if (chunk.bytes == 0) {
        shutdown(to_, SHUT_WR);  // Pass the half-close on: HTTP clients may still be reading.
        return;
      }
      if (!SendAll(chunk)) {
        // The receiver hung up (an aborted request, an unmount): stop reading for it.
        std::lock_guard lock(mu_);
        broken_ = true;
        room_.notify_one();
        shutdown(from_, SHUT_RD);
        shutdown(to_, SHUT_WR);
        return;
      }
      std::lock_guard lock(mu_);
      spare_pipes_.push_back(std::move(chunk.pipe));  // Empty again: reuse it.
      if (link_.window_bytes > 0) {
        acks_.emplace_back(Clock::now() + link_.one_way, chunk.bytes);
        room_.notify_one();
      }
    }
  }

  bool SendAll(Chunk& chunk) {
    size_t sent = 0;
    while (sent < chunk.bytes) {
      ssize_t n = splice(chunk.pipe.read_fd(), nullptr, to_, nullptr, chunk.bytes - sent, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  Pipe TakePipe() {
    {
      std::lock_guard lock(mu_);
      if (!spare_pipes_.empty()) {
        Pipe pipe = std::move(spare_pipes_.back());
        spare_pipes_.pop_back();
        return pipe;
      }
    }
    Pipe pipe;
    pipe.Open(chunk_bytes_);
    return pipe;
  }

  const std::shared_ptr<Connection> conn_;  // Keeps both sockets open while this runs.
  const int from_;
  const int to_;
  Link& link_;
  const bool limited_;
  size_t chunk_bytes_ = 0;
  size_t max_queued_ = 0;  // 0: unbounded.

  std::mutex mu_;
  std::condition_variable ready_;  // The queue is not empty.
  std::condition_variable room_;   // The queue has room, or the receiver hung up.
  std::deque<Chunk> queue_;
  std::vector<Pipe> spare_pipes_;
  size_t queued_bytes_ = 0;
  size_t unacked_bytes_ = 0;  // Read from the sender and not yet acknowledged (the window).
  // When the chunks delivered will be acknowledged, and their bytes, in order.
  std::deque<std::pair<Clock::time_point, size_t>> acks_;
  bool broken_ = false;
};

int Listen(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "latency proxy: cannot listen on 127.0.0.1:%u: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  port = ntohs(addr.sin_port);
  return fd;
}

int ConnectUpstream(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The largest of a sysctl's three values (min, default, max), or 0 when unreadable.
size_t SysctlMax(const char* path) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return 0;
  unsigned long long low = 0, initial = 0, high = 0;
  int fields = std::fscanf(f, "%llu %llu %llu", &low, &initial, &high);
  std::fclose(f);
  return fields == 3 ? static_cast<size_t>(high) : 0;
}

// The most a connection may have unacknowledged with this kernel's TCP: the sender's send
// buffer (autotuned up to tcp_wmem's max) and the receiver's advertised window (half of its
// receive buffer, autotuned up to tcp_rmem's max, with tcp_adv_win_scale 1) both bound it.
size_t MachineTcpWindow() {
  size_t send = SysctlMax("/proc/sys/net/ipv4/tcp_wmem");
  size_t receive = SysctlMax("/proc/sys/net/ipv4/tcp_rmem") / 2;
  if (send == 0 || receive == 0) return 4 * kMiB;  // Linux's defaults: 4 MiB and 6 MiB / 2.
  return std::min(send, receive);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TCP proxy adding a round trip (and optionally a shared link rate) for benchmarks; "
               "prints the port it listens on and its window in KiB, then runs until killed"};
  uint16_t upstream_port = 0;
  uint16_t port = 0;
  double rtt_ms = 0;
  double link_mib_s = 0;
  app.add_option("--upstream-port", upstream_port, "port of the server on 127.0.0.1")->required();
  app.add_option("--rtt-ms", rtt_ms, "round trip to add, half in each direction")->check(CLI::NonNegativeNumber);
  app.add_option("--link-mib-s", link_mib_s, "server-to-client link rate in MiB/s (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--port", port, "port to listen on (0: any free port)");
  int64_t window_kib = -1;
  app.add_option("--window-kib", window_kib,
                 "TCP window per direction of a connection in KiB (0: unbounded; default: what "
                 "this machine's TCP allows, see tcp_wmem and tcp_rmem)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 30));
  CLI11_PARSE(app, argc, argv);

  Link link;
  link.one_way = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(rtt_ms / 2));
  link.bytes_per_second = link_mib_s * kMiB;
  link.window_bytes = window_kib < 0 ? MachineTcpWindow() : static_cast<size_t>(window_kib) * 1024;
  // splice into a socket whose peer hung up raises SIGPIPE (it takes no MSG_NOSIGNAL), and
  // clients do hang up mid-response: rclone's random reads killed the proxy that way.
  std::signal(SIGPIPE, SIG_IGN);
  // Each chunk in flight holds a pipe (two descriptors), and a chunk is whatever one splice
  // took from the socket, often a few KiB: a connection with its window full held 700
  // descriptors, and rclone's random reads opened 29 connections at once, past this
  // machine's hard limit of 20000. Root may raise the hard limit up to fs.nr_open.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    unsigned long long nr_open = 0;
    if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
      if (std::fscanf(f, "%llu", &nr_open) != 1) nr_open = 0;
      std::fclose(f);
    }
    rlimit raised = {static_cast<rlim_t>(nr_open), static_cast<rlim_t>(nr_open)};
    if (nr_open <= files.rlim_max || setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }
  int listen_fd = Listen(port);
  std::printf("%u %zu\n", port, link.window_bytes / 1024);  // For bench/latency_proxy.py.
  std::fflush(stdout);

  for (;;) {
    int client_fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client_fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "latency proxy: accept: %s\n", std::strerror(errno));
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        // Out of descriptors for now: the client waits, as for a busy server; the proxy lives.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      return 1;
    }
    int server_fd = ConnectUpstream(upstream_port);
    if (server_fd < 0) {
      close(client_fd);
      continue;
    }
    int one = 1;
    setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_shared<Connection>(client_fd, server_fd);
    Direction::Start(std::make_shared<Direction>(conn, client_fd, server_fd, link, false));
    Direction::Start(std::make_shared<Direction>(conn, server_fd, client_fd, link, true));
  }
}
