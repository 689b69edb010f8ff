// A fixed pool of threads we own, for blocking work (database calls) that must not run on
// gRPC's threads. The queue is bounded: a full queue is load shedding, not unbounded memory.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace jobd::core {

class Executor {
 public:
  Executor(int threads, size_t max_queued);
  ~Executor();  // runs what is queued, then joins
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // False (and `task` not run) when the queue is full or the executor is stopping.
  bool Post(std::function<void()> task);
  // Runs `task` on behalf of a call whose caller stops waiting at `deadline`: the database
  // work it does is bounded by it too (db/model/call_deadline.h).
  bool Post(std::function<void()> task, absl::Time call_deadline);
  void Stop();

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable wake_;
  struct Task {
    std::function<void()> run;
    absl::Time call_deadline;
  };
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace jobd::core
