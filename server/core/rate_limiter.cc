#include "server/core/rate_limiter.h"

#include <algorithm>

namespace jobd::core {

RateLimiter::RateLimiter(double rate, double burst)
    : rate_(rate), burst_(burst > 0 ? burst : std::max(1.0, rate)) {}

std::optional<absl::Duration> RateLimiter::Take(const std::string& name, absl::Time now,
                                                double count) {
  std::lock_guard<std::mutex> lock(mu_);
  DropIdleLocked(now);
  auto [it, inserted] = buckets_.try_emplace(name, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted && now > bucket.updated) {
    bucket.tokens =
        std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(now - bucket.updated) * rate_);
    bucket.updated = now;
  }
  const double needed = std::min(count, burst_);
  if (bucket.tokens >= needed) {
    bucket.tokens -= count;
    return std::nullopt;
  }
  return absl::Seconds((needed - bucket.tokens) / rate_);
}

void RateLimiter::DropIdleLocked(absl::Time now) {
  // A bucket idle long enough to be full again is the same as no bucket.
  const absl::Duration refill = absl::Seconds(burst_ / rate_);
  if (now - last_sweep_ < std::max(refill, absl::Seconds(10))) return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    // (A bucket in debt after a batch must first refill to zero.)
    const absl::Duration debt = absl::Seconds(std::max(0.0, -it->second.tokens) / rate_);
    if (now - it->second.updated >= refill + debt) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace jobd::core
