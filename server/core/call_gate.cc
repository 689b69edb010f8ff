#include "server/core/call_gate.h"

namespace jobd::core {

void CallGate::Enter() {
  std::lock_guard<std::mutex> lock(mu_);
  ++in_flight_;
}

void CallGate::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_ == 0) idle_.notify_all();
}

void CallGate::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

bool CallGate::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

bool CallGate::WaitIdle(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return in_flight_ == 0; });
}

}  // namespace jobd::core
