// Counts calls in flight so a stop can wait for them, then closes the door to new ones; one per
// Server, shared by its transports.
// gRPC's own Shutdown(deadline) also waits for idle client connections to go away, which
// can take seconds; jobd instead drains its calls and then shuts gRPC down at once.
#pragma once

#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"

namespace jobd::core {

class CallGate {
 public:
  void Enter();
  void Leave();
  // New calls are refused (UNAVAILABLE) from now on.
  void Close();
  bool closed();
  // True when no call is in flight before `deadline`.
  bool WaitIdle(absl::Time deadline);

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int in_flight_ = 0;
  bool closed_ = false;
};

}  // namespace jobd::core
