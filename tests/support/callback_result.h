// The result of a `done` callback that runs once, maybe on another thread (a committer, an
// executor, a timer): a test passes Callback() and then waits for the result with a deadline.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace jobd::fakes {

template <typename T>
class CallbackResult {
 public:
  // The state is shared, so a callback that runs after the test gave up harms nothing.
  std::function<void(absl::StatusOr<T>)> Callback() {
    return [state = state_](absl::StatusOr<T> result) {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->calls;
      if (!state->result) state->result.emplace(std::move(result));
      state->ran.notify_all();
    };
  }

  // The first result, or DEADLINE_EXCEEDED when the callback has not run within `timeout`.
  absl::StatusOr<T> Wait(absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->ran.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                              [&] { return state_->result.has_value(); })) {
      return absl::DeadlineExceededError("the callback did not run in time");
    }
    return *state_->result;
  }

  bool ran() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->result.has_value();
  }
  int calls() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->calls;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable ran;
    int calls = 0;
    std::optional<absl::StatusOr<T>> result;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace jobd::fakes
