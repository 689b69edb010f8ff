// The fixed "now" of tests that format or judge times without a clock: 2027-01-15T08:00:00Z.
#pragma once

#include "absl/time/time.h"

namespace jobd::test {

inline const absl::Time kNow = absl::FromUnixSeconds(1800000000);

}  // namespace jobd::test
