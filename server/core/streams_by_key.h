// Open watch streams by the API key that opened them, so that revoking a key also ends its
// streams (UNAUTHENTICATED) on every replica, within the key refresh interval, and so that
// one key cannot hold more than its share of this process's streams.
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

  // max_per_key: streams one key may have open here at once (0: no limit).
  explicit StreamsByKey(size_t max_per_key = 0) : max_per_key_(max_per_key) {}

  // `end` is called at most once, from Revoked, without a lock held. Returns 0 (and keeps
  // nothing) with `*refused` set when the key was revoked already (e.g. between the stream's
  // authentication and this call: UNAUTHENTICATED) or has max_per_key streams open
  // (RESOURCE_EXHAUSTED): the caller ends the stream itself.
  uint64_t Add(const std::string& key_id, const std::string& key_name, End end,
               absl::Status* refused);
  void Remove(uint64_t handle);
  // Ends every stream opened with the key.
  void Revoked(const std::string& key_id);
  size_t size() const;

 private:
  const size_t max_per_key_;
  mutable std::mutex mu_;  // std, not absl: visible to ThreadSanitizer
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, std::pair<std::string, End>> streams_ ABSL_GUARDED_BY(mu_);
  std::unordered_multimap<std::string, uint64_t> by_key_ ABSL_GUARDED_BY(mu_);
  std::unordered_set<std::string> revoked_ ABSL_GUARDED_BY(mu_);
};

// Registers a watch stream, before it opens, to end UNAUTHENTICATED when the key that opened
// it is revoked (`watch` needs EndWith(status)). Returns the handle to Remove when the stream
// is done (0: nothing to remove). When the stream may not open (the key was revoked since the
// call was authenticated, or has all the streams it may have), sets `*end_now` to the step
// that ends the watch instead of opening it; it runs with nothing of the stream (which may
// be gone by then).
template <typename Watch>
uint64_t RegisterStream(StreamsByKey* streams, Executor& executor, const std::string& key_id,
                        const std::string& key_name, std::weak_ptr<Watch> watch,
                        std::function<void()>* end_now) {
  *end_now = nullptr;
  if (streams == nullptr) return 0;
  auto end = [watch](const absl::Status& status) {
    if (auto alive = watch.lock()) alive->EndWith(status);
  };
  absl::Status refused;
  const uint64_t handle = streams->Add(key_id, key_name, end, &refused);
  if (handle != 0) return handle;
  *end_now = [executor = &executor, end, refused] {
    if (!executor->Post([end, refused] { end(refused); })) end(refused);
  };
  return 0;
}

}  // namespace jobd::core
