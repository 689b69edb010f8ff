// How many of one kind of call each API key has in progress in this process, refused beyond
// a limit, so that one key cannot hold what every caller shares (threads, timers, memory).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jobd::core {

class PerKeyLimit {
 public:
  // `what` names the calls and `flag` the setting in the refusal ("AcquireJobs calls
  // waiting", "max_long_polls_per_key"). max 0: no limit (Enter still counts).
  PerKeyLimit(std::string what, std::string flag, size_t max)
      : what_(std::move(what)), flag_(std::move(flag)), max_(max) {}

  // RESOURCE_EXHAUSTED when the key has `max` in progress; otherwise counts one more, to be
  // ended with Leave.
  absl::Status Enter(const std::string& key_id, const std::string& key_name) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t& count = counts_[key_id];
    if (max_ > 0 && count >= max_) {
      return absl::ResourceExhaustedError(absl::StrCat("quota: API key \"", key_name,
                                                       "\" may have ", max_, " ", what_,
                                                       " on one jobd (--", flag_, ")"));
    }
    ++count;
    return absl::OkStatus();
  }
  void Leave(const std::string& key_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(key_id);
    if (it == counts_.end()) return;
    if (--it->second == 0) counts_.erase(it);
  }
  size_t InProgress(const std::string& key_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(key_id);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  const std::string what_, flag_;
  const size_t max_;
  mutable std::mutex mu_;  // std, not absl: visible to ThreadSanitizer
  std::unordered_map<std::string, size_t> counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jobd::core
