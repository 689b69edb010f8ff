#include "server/core/ready_waiters.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/core/notify_payloads.h"

namespace jobd::core {

ReadyWaiters::ReadyWaiters(Clock& clock, absl::Duration recheck)
    : clock_(clock), recheck_(recheck), timer_([this] { TimerLoop(); }) {}

ReadyWaiters::~ReadyWaiters() { Stop(); }

void ReadyWaiters::Stop() {
  std::vector<Resume> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, waiter] : waiters_) all.push_back(std::move(waiter.resume));
    waiters_.clear();
    by_key_.clear();
    timers_.clear();
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
                        absl::Time deadline, uint64_t seen, Resume resume, uint64_t* waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || all_generation_ > seen) return false;
  for (const std::string& type : types) {
    auto it = generations_.find(Key(workspace_id, type));
    if (it != generations_.end() && it->second > seen) return false;
  }
  const uint64_t id = next_id_++;
  if (waiter != nullptr) *waiter = id;
  const absl::Time wake =
      recheck_ == absl::InfiniteDuration() ? deadline : std::min(deadline, clock_.Now() + recheck_);
  waiters_[id] = Waiter{workspace_id, types, deadline, wake, std::move(resume)};
  for (const std::string& type : types) by_key_[Key(workspace_id, type)].insert(id);
  const bool earliest = timers_.empty() || wake < timers_.begin()->first;
  timers_.emplace(wake, id);
  if (earliest) timer_wake_.notify_one();
  return true;
}

void ReadyWaiters::Cancel(uint64_t waiter) {
  Resume resume;
  {
    std::lock_guard<std::mutex> lock(mu_);
    resume = RemoveLocked(waiter);
  }
  if (resume) resume(false);
}

ReadyWaiters::Resume ReadyWaiters::RemoveLocked(uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return nullptr;
  Waiter& waiter = it->second;
  for (const std::string& type : waiter.types) {
    auto key = by_key_.find(Key(waiter.workspace_id, type));
    if (key == by_key_.end()) continue;
    key->second.erase(id);
    if (key->second.empty()) by_key_.erase(key);
  }
  for (auto [t, end] = timers_.equal_range(waiter.wake); t != end; ++t) {
    if (t->second == id) {
      timers_.erase(t);
      break;
    }
  }
  Resume resume = std::move(waiter.resume);
  waiters_.erase(it);
  return resume;
}

void ReadyWaiters::Notify(const std::string& workspace_id, const std::string& type) {
  std::vector<Resume> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generations_.size() >= kMaxRememberedKeys) {
      // Forget, conservatively: whoever read a generation before this looks again once.
      generations_.clear();
      all_generation_ = generation_;
    }
    Key key(workspace_id, type);
    generations_[key] = ++generation_;
    auto ids = by_key_.find(key);
    if (ids != by_key_.end()) {
      const std::set<uint64_t> matching = ids->second;  // RemoveLocked edits the index
      for (uint64_t id : matching) woken.push_back(RemoveLocked(id));
    }
  }
  for (auto& resume : woken) resume(true);
}

void ReadyWaiters::NotifyAll() {
  std::vector<Resume> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all_generation_ = ++generation_;
    generations_.clear();
    for (auto& [id, waiter] : waiters_) woken.push_back(std::move(waiter.resume));
    waiters_.clear();
    by_key_.clear();
    timers_.clear();
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
    timed_.emplace(when, Key(workspace_id, type));
    if (!earliest) return;
  }
  timer_wake_.notify_one();
}

void ReadyWaiters::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    absl::Time next = absl::InfiniteFuture();
    if (!timers_.empty()) next = timers_.begin()->first;
    if (!timed_.empty()) next = std::min(next, timed_.begin()->first);
    if (next == absl::InfiniteFuture()) {
      timer_wake_.wait(lock);
      continue;
    }
    const absl::Time now = clock_.Now();
    if (now < next) {
      timer_wake_.wait_for(lock, absl::ToChronoMicroseconds(next - now + absl::Microseconds(1)));
      continue;
    }
    // (resume, woken): expired waits end with false, rechecks look again with true.
    std::vector<std::pair<Resume, bool>> resumes;
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const uint64_t id = timers_.begin()->second;
      const bool expired = waiters_.at(id).deadline <= now;
      resumes.emplace_back(RemoveLocked(id), !expired);
    }
    std::vector<Key> due;
    while (!timed_.empty() && timed_.begin()->first <= now) {
      due.push_back(std::move(timed_.begin()->second));
      timed_.erase(timed_.begin());
    }
    lock.unlock();
    for (auto& [resume, woken] : resumes) resume(woken);
    for (const auto& [workspace_id, type] : due) Notify(workspace_id, type);
    lock.lock();
  }
}

std::vector<std::string> FormatReadyHints(const std::set<std::pair<std::string, std::string>>& keys,
                                          size_t max_bytes) {
  std::vector<std::string> entries;
  for (const auto& [workspace_id, type] : keys) {
    entries.push_back(nlohmann::json::array({workspace_id, type}).dump());
    if (entries.back().size() + 2 > max_bytes) return {""};  // too long to name: wake everyone
  }
  return JoinIntoPayloads(entries, max_bytes, "[", "]");
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseReadyHints(
    const std::string& payload) {
  const nlohmann::json parsed = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.empty()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> keys;
  for (const nlohmann::json& entry : parsed) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_string()) {
      return std::nullopt;
    }
    keys.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
  }
  return keys;
}

}  // namespace jobd::core
