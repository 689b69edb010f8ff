#include "server/core/streams_by_key.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace jobd::core {

uint64_t StreamsByKey::Add(const std::string& key_id, const std::string& key_name, End end,
                           absl::Status* refused) {
  std::lock_guard<std::mutex> lock(mu_);
  if (revoked_.count(key_id) > 0) {
    *refused = absl::UnauthenticatedError("the stream's API key was revoked");
    return 0;
  }
  if (max_per_key_ > 0 && by_key_.count(key_id) >= max_per_key_) {
    *refused = absl::ResourceExhaustedError(
        absl::StrCat("quota: API key \"", key_name, "\" may have ", max_per_key_,
                     " watch streams open on one jobd (--max_streams_per_key); end one first"));
    return 0;
  }
  const uint64_t handle = next_++;
  streams_.emplace(handle, std::make_pair(key_id, std::move(end)));
  by_key_.emplace(key_id, handle);
  return handle;
}

void StreamsByKey::Remove(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(handle);
  if (it == streams_.end()) return;
  auto [first, last] = by_key_.equal_range(it->second.first);
  for (auto k = first; k != last; ++k) {
    if (k->second == handle) {
      by_key_.erase(k);
      break;
    }
  }
  streams_.erase(it);
}

void StreamsByKey::Revoked(const std::string& key_id) {
  std::vector<End> ends;
  {
    std::lock_guard<std::mutex> lock(mu_);
    revoked_.insert(key_id);  // revoked keys are few and never come back
    auto [first, last] = by_key_.equal_range(key_id);
    for (auto k = first; k != last; ++k) {
      auto it = streams_.find(k->second);
      ends.push_back(std::move(it->second.second));
      streams_.erase(it);
    }
    by_key_.erase(key_id);
  }
  const absl::Status revoked =
      absl::UnauthenticatedError("the stream's API key was revoked or has expired");
  for (End& end : ends) end(revoked);
}

size_t StreamsByKey::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_.size();
}

}  // namespace jobd::core
