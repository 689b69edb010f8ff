#include "server/core/ready_waiters.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace jobd::core {

ReadyWaiters::ReadyWaiters() : timer_([this] { TimerLoop(); }) {}

ReadyWaiters::~ReadyWaiters() { Stop(); }

void ReadyWaiters::Stop() {
  std::vector<Resume> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, waiter] : waiters_) all.push_back(std::move(waiter.resume));
    waiters_.clear();
    deadlines_.clear();
  }
  timer_wake_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (auto& resume : all) resume(false);
}

uint64_t ReadyWaiters::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

bool ReadyWaiters::Wait(const std::string& workspace_id, const std::vector<std::string>& types,
                        absl::Time deadline, uint64_t seen, Resume resume) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || generation_ != seen) return false;
  const uint64_t id = next_id_++;
  waiters_[id] = Waiter{workspace_id, types, deadline, std::move(resume)};
  const bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
  deadlines_.emplace(deadline, id);
  if (earliest) timer_wake_.notify_one();
  return true;
}

std::vector<ReadyWaiters::Resume> ReadyWaiters::Take(
    const std::function<bool(const Waiter&)>& pred) {
  std::vector<Resume> taken;
  for (auto it = deadlines_.begin(); it != deadlines_.end();) {
    auto waiter = waiters_.find(it->second);
    if (waiter != waiters_.end() && pred(waiter->second)) {
      taken.push_back(std::move(waiter->second.resume));
      waiters_.erase(waiter);
      it = deadlines_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

void ReadyWaiters::Notify(const std::string& workspace_id, const std::string& type) {
  std::vector<Resume> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    woken = Take([&](const Waiter& w) {
      return w.workspace_id == workspace_id &&
             std::find(w.types.begin(), w.types.end(), type) != w.types.end();
    });
  }
  for (auto& resume : woken) resume(true);
}

void ReadyWaiters::NotifyAll() {
  std::vector<Resume> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    woken = Take([](const Waiter&) { return true; });
  }
  for (auto& resume : woken) resume(true);
}

bool ReadyWaiters::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

size_t ReadyWaiters::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

void ReadyWaiters::NotifyAt(absl::Time when, const std::string& workspace_id,
                            const std::string& type) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    const bool earliest = timed_.empty() || when < timed_.begin()->first;
    timed_.emplace(when, std::make_pair(workspace_id, type));
    if (!earliest) return;
  }
  timer_wake_.notify_one();
}

void ReadyWaiters::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    absl::Time next = absl::InfiniteFuture();
    if (!deadlines_.empty()) next = deadlines_.begin()->first;
    if (!timed_.empty()) next = std::min(next, timed_.begin()->first);
    if (next == absl::InfiniteFuture()) {
      timer_wake_.wait(lock);
      continue;
    }
    if (absl::Now() < next) {
      timer_wake_.wait_until(lock, absl::ToChronoTime(next));
      continue;
    }
    const absl::Time now = absl::Now();
    std::vector<Resume> expired = Take([&](const Waiter& w) { return w.deadline <= now; });
    std::vector<std::pair<std::string, std::string>> due;
    while (!timed_.empty() && timed_.begin()->first <= now) {
      due.push_back(std::move(timed_.begin()->second));
      timed_.erase(timed_.begin());
    }
    lock.unlock();
    for (auto& resume : expired) resume(false);
    for (const auto& [workspace_id, type] : due) Notify(workspace_id, type);
    lock.lock();
  }
}

}  // namespace jobd::core
