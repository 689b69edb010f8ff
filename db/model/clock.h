// Where "now" comes from for what the core decides outside a store transaction (create
// times, delays, key expiry), so that tests can move time by hand. Leases, deadlines, due jobs
// and retention are decided by the store on the database's own clock (db/model/job_store.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace jobd {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
};

class SystemClock : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

// The database's time as this process knows it: the local clock plus the offset last
// measured against PostgreSQL (by the health probe), so that replicas whose clocks disagree
// still agree on what "in 5 minutes" means.
class DatabaseClock : public Clock {
 public:
  absl::Time Now() override {
    return absl::Now() + absl::Nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  }
  // database time - local time
  void SetOffset(absl::Duration offset) {
    offset_ns_.store(absl::ToInt64Nanoseconds(offset), std::memory_order_relaxed);
  }
  absl::Duration offset() const {
    return absl::Nanoseconds(offset_ns_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<int64_t> offset_ns_{0};
};

}  // namespace jobd
