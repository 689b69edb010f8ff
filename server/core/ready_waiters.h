// Long-poll AcquireJobs without a thread per waiter: a waiter registers what it waits for
// and a callback; whoever makes a job ready (a create, a retry, a promotion, a notification
// from another jobd) wakes the waiters of that workspace and type, and a timer ends the waits
// that run out. Generations per (workspace, type) close the race between "acquire found
// nothing" and "registered" without making a waiter look again for other workspaces' work.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "db/model/clock.h"

namespace jobd::core {

class ReadyWaiters {
 public:
  // woken = true: something may be ready, try again; false: the deadline passed.
  using Resume = std::function<void(bool woken)>;

  // Deadlines and NotifyAt times are read on `clock` (jobd's: the database's time). A waiter
  // that heard nothing for `recheck` looks at the database again on its own (a backstop for
  // hints lost on the way), however many other waiters there are.
  ReadyWaiters() : ReadyWaiters(system_clock_) {}
  explicit ReadyWaiters(Clock& clock, absl::Duration recheck = absl::InfiniteDuration());
  ~ReadyWaiters();  // resumes every waiter with false
  ReadyWaiters(const ReadyWaiters&) = delete;
  ReadyWaiters& operator=(const ReadyWaiters&) = delete;

  // Read before looking for work; pass to Wait.
  uint64_t generation();

  // Registers a waiter for jobs of `types` in `workspace_id`. Returns false (and does not
  // register) when a job of one of those types in that workspace (or anything, NotifyAll) was
  // made ready since `seen`: the caller should look again now. Work elsewhere never does.
  // `*waiter` (when given) is set to the waiter's id, for Cancel.
  bool Wait(const std::string& workspace_id, const std::vector<std::string>& types,
            absl::Time deadline, uint64_t seen, Resume resume, uint64_t* waiter = nullptr);
  // Resumes the waiter with false now (its caller left); nothing once it no longer waits.
  void Cancel(uint64_t waiter);

  // A job of `type` in `workspace_id` may be ready. Wakes the waiters for it, and only them.
  void Notify(const std::string& workspace_id, const std::string& type);
  // Anything may be ready (the hints of another jobd may have been lost).
  void NotifyAll();
  // A job of `type` becomes ready at `when` (a delayed job, a retry after its backoff):
  // Notify then, so waiting workers get it at once rather than at the next promotion.
  void NotifyAt(absl::Time when, const std::string& workspace_id, const std::string& type);

  size_t size();
  // Resumes every waiter with false; later waits are refused.
  void Stop();
  bool stopped();

 private:
  using Key = std::pair<std::string, std::string>;  // (workspace, type)
  struct Waiter {
    std::string workspace_id;
    std::vector<std::string> types;
    absl::Time deadline;
    absl::Time wake;  // min(deadline, registered + recheck): its entry in timers_
    Resume resume;
  };
  void TimerLoop();
  // Removes the waiter (and its index entries) and returns its callback.
  Resume RemoveLocked(uint64_t id);
  // Past this many keys, generations are forgotten (every older `seen` looks again once).
  static constexpr size_t kMaxRememberedKeys = 10000;

  SystemClock system_clock_;
  Clock& clock_;
  const absl::Duration recheck_;
  std::mutex mu_;
  std::condition_variable timer_wake_;
  uint64_t generation_ = 0;
  uint64_t all_generation_ = 0;          // the last NotifyAll (or forgetting)
  std::map<Key, uint64_t> generations_;  // the last Notify per key
  uint64_t next_id_ = 0;
  std::map<uint64_t, Waiter> waiters_;
  std::map<Key, std::set<uint64_t>> by_key_;
  std::multimap<absl::Time, uint64_t> timers_;  // each waiter's wake
  std::multimap<absl::Time, Key> timed_;        // NotifyAt
  bool stopping_ = false;
  std::thread timer_;
};

// `jobd_ready` payloads naming the queues that may have ready jobs: JSON lists of
// [workspace, type] pairs, each at most `max_bytes` long.
std::vector<std::string> FormatReadyHints(const std::set<std::pair<std::string, std::string>>& keys,
                                          size_t max_bytes = 7900);
// The queues a payload names; std::nullopt for an empty or unreadable payload (wake all).
std::optional<std::vector<std::pair<std::string, std::string>>> ParseReadyHints(
    const std::string& payload);

}  // namespace jobd::core
