// Where "now" comes from for every decision the core makes (leases, timeouts, expiries), so
// that tests can move time by hand.
#pragma once

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

}  // namespace jobd
