// A Clock the test sets: time moves only when the test says, so leases, backoffs and expiries
// are exact. Thread-safe: the managers read it from executor and committer threads.
#pragma once

#include <mutex>

#include "absl/time/time.h"
#include "db/model/clock.h"

namespace jobd::fakes {

class FakeClock : public Clock {
 public:
  // A fixed default (2025-06-15), so two runs of a test see the same times.
  explicit FakeClock(absl::Time now = absl::FromUnixSeconds(1750000000)) : now_(now) {}

  absl::Time Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Set(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = now;
  }
  void Advance(absl::Duration by) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += by;
  }

 private:
  std::mutex mu_;
  absl::Time now_;
};

}  // namespace jobd::fakes
