// Token buckets by name (here: CreateJob calls per API key, per jobd process): `rate` per
// second refill a bucket of `burst`. Buckets of keys not seen for a while are dropped, so
// memory stays bounded by the keys in use.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace jobd::core {

class RateLimiter {
 public:
  RateLimiter(double rate, double burst);

  // Takes `count` tokens from `name`'s bucket; when it holds too few, how long until it holds
  // enough. A count beyond the burst needs a full bucket and leaves it in debt, which later
  // calls wait out: the rate holds for batches too.
  std::optional<absl::Duration> Take(const std::string& name, absl::Time now, double count = 1);

  double rate() const { return rate_; }

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  void DropIdleLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  std::mutex mu_;  // std, not absl: visible to ThreadSanitizer
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace jobd::core
