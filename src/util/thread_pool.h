// SPDX-License-Identifier: MIT
// thread_pool.h — a fixed set of worker threads draining one FIFO queue. Tasks are noexcept
// by contract: an exception escaping a task terminates the process at the boundary.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace util {

class ThreadPool {
 public:
  ThreadPool(std::string name, int threads);
  // Runs every queued task, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  // Blocks until the queue is empty and no task is running.
  void Drain();

 private:
  void WorkerLoop() noexcept;

  const std::string name_;
  std::mutex mu_;
  std::condition_variable work_cv_;   // Signalled when a task is queued or on stop.
  std::condition_variable idle_cv_;   // Signalled when a task finishes.
  std::deque<std::function<void()>> queue_;  // Protected by mu_.
  int running_ = 0;                           // Protected by mu_.
  bool stopping_ = false;                     // Protected by mu_.
  std::vector<std::thread> workers_;
};

}  // namespace util
