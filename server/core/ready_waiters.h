// Long-poll AcquireJobs without a thread per waiter: a waiter registers what it waits for
// and a callback; whoever makes a job ready (a create, a retry, a promotion, a notification
// from another jobd) wakes the matching waiters, and a timer ends the waits that run out.
// A generation counter closes the race between "acquire found nothing" and "registered".
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace jobd::core {

class ReadyWaiters {
 public:
  // woken = true: something may be ready, try again; false: the deadline passed.
  using Resume = std::function<void(bool woken)>;

  ReadyWaiters();
  ~ReadyWaiters();  // resumes every waiter with false
  ReadyWaiters(const ReadyWaiters&) = delete;
  ReadyWaiters& operator=(const ReadyWaiters&) = delete;

  // Read before looking for work; pass to Wait.
  uint64_t generation();

  // Registers a waiter for jobs of `types` in `workspace_id`. Returns false (and does not
  // register) when anything was made ready since `seen`: the caller should look again now.
  bool Wait(const std::string& workspace_id, const std::vector<std::string>& types,
            absl::Time deadline, uint64_t seen, Resume resume);

  // A job of `type` in `workspace_id` may be ready. Wakes matching waiters.
  void Notify(const std::string& workspace_id, const std::string& type);
  // Anything may be ready (a hint from another jobd, or the backstop poll).
  void NotifyAll();
  // A job of `type` becomes ready at `when` (a delayed job, a retry after its backoff):
  // Notify then, so waiting workers get it at once rather than at the next promotion.
  void NotifyAt(absl::Time when, const std::string& workspace_id, const std::string& type);

  size_t size();
  // Resumes every waiter with false; later waits are refused.
  void Stop();
  bool stopped();

 private:
  struct Waiter {
    std::string workspace_id;
    std::vector<std::string> types;
    absl::Time deadline;
    Resume resume;
  };
  void TimerLoop();
  // Removes waiters matching `pred` and returns their callbacks (run outside the lock).
  std::vector<Resume> Take(const std::function<bool(const Waiter&)>& pred);

  std::mutex mu_;
  std::condition_variable timer_wake_;
  uint64_t generation_ = 0;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Waiter> waiters_;
  std::multimap<absl::Time, uint64_t> deadlines_;
  std::multimap<absl::Time, std::pair<std::string, std::string>> timed_;  // (workspace, type)
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace jobd::core
