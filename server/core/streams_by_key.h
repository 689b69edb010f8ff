// Open watch streams by the API key that opened them, so that revoking a key also ends its
// streams (UNAUTHENTICATED) on every replica, within the key refresh interval.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "server/core/executor.h"

namespace jobd::core {

class StreamsByKey {
 public:
  using End = std::function<void(const absl::Status&)>;

  // `end` is called at most once, from Revoked, without a lock held. Returns 0 (and keeps
  // nothing) when the key was revoked already, e.g. between the stream's authentication and
  // this call: the caller ends the stream itself.
  uint64_t Add(const std::string& key_id, End end);
  void Remove(uint64_t handle);
  // Ends every stream opened with the key.
  void Revoked(const std::string& key_id);
  size_t size() const;

 private:
  mutable std::mutex mu_;  // std, not absl: visible to ThreadSanitizer
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, std::pair<std::string, End>> streams_ ABSL_GUARDED_BY(mu_);
  std::unordered_multimap<std::string, uint64_t> by_key_ ABSL_GUARDED_BY(mu_);
  std::unordered_set<std::string> revoked_ ABSL_GUARDED_BY(mu_);
};

// Registers a watch stream to end UNAUTHENTICATED when the key that opened it is revoked
// (`watch` needs EndWith(status)). Returns the handle to Remove when the stream is done (0:
// nothing to remove). When the key was revoked already, since the call was authenticated,
// sets `*end_now` to the step that ends the watch: run it after Open, with nothing of the
// stream (which may be gone by then).
template <typename Watch>
uint64_t EndOnRevocation(StreamsByKey* streams, Executor& executor, const std::string& key_id,
                         std::weak_ptr<Watch> watch, std::function<void()>* end_now) {
  *end_now = nullptr;
  if (streams == nullptr) return 0;
  auto end = [watch](const absl::Status& status) {
    if (auto alive = watch.lock()) alive->EndWith(status);
  };
  const uint64_t handle = streams->Add(key_id, end);
  if (handle != 0) return handle;
  *end_now = [executor = &executor, end] {
    const absl::Status revoked = absl::UnauthenticatedError("the stream's API key was revoked");
    if (!executor->Post([end, revoked] { end(revoked); })) end(revoked);
  };
  return 0;
}

}  // namespace jobd::core
