#include "server/background/scheduler.h"

#include <algorithm>

#include "server/core/log.h"

namespace jobd::background {
namespace {

// Schedules looked at per pass; more are due: the next pass starts at once.
constexpr int kSchedulesPerPass = 100;
// The shortest sleep, so that a schedule that fails every pass does not spin.
constexpr absl::Duration kMinSleep = absl::Milliseconds(2);

}  // namespace

int Scheduler::RunOnce() {
  absl::StatusOr<int> made = schedules_.FireDue(kSchedulesPerPass);
  if (!made.ok()) {
    core::Log(core::LogLevel::kWarning, "firing schedules failed",
              {{"error", std::string(made.status().message())}});
    return -1;
  }
  return *made;
}

void Scheduler::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      // After a failed pass (the database away) the next waits the longest sleep.
      const absl::Duration sleep =
          RunOnce() < 0 ? max_sleep_ : std::max(kMinSleep, schedules_.TimeToNextFire(max_sleep_));
      lock.lock();
      wake_.wait_for(lock, absl::ToChronoMicroseconds(sleep),
                     [this] { return stopping_ || woken_; });
      woken_ = false;
    }
  });
}

void Scheduler::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace jobd::background
