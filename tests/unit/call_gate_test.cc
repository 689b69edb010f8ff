// CallGate: counting calls in flight, waiting for idle with a deadline, closing; each Server
// has its own gate.
#include "server/core/call_gate.h"

#include <thread>

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace jobd::core {
namespace {

TEST(CallGate, IdleGateWaitsForNothing) {
  CallGate gate;
  EXPECT_TRUE(gate.WaitIdle(absl::Now()));
  EXPECT_TRUE(gate.WaitIdle(absl::InfinitePast()));
  EXPECT_FALSE(gate.closed());
}

TEST(CallGate, CallInFlightPastTheDeadlineIsNotIdle) {
  CallGate gate;
  gate.Enter();
  EXPECT_FALSE(gate.WaitIdle(absl::Now() + absl::Milliseconds(20)));
  gate.Enter();
  gate.Leave();
  EXPECT_FALSE(gate.WaitIdle(absl::Now()));  // one of two is still in flight
  gate.Leave();
  EXPECT_TRUE(gate.WaitIdle(absl::Now()));
}

TEST(CallGate, WaitIdleReturnsWhenTheLastCallLeaves) {
  CallGate gate;
  gate.Enter();
  std::thread call([&gate] { gate.Leave(); });
  EXPECT_TRUE(gate.WaitIdle(absl::Now() + absl::Seconds(10)));
  call.join();
}

TEST(CallGate, CloseIsSticky) {
  CallGate gate;
  gate.Close();
  EXPECT_TRUE(gate.closed());
  gate.Close();
  EXPECT_TRUE(gate.closed());
  EXPECT_TRUE(gate.WaitIdle(absl::Now()));  // closing does not count as a call
}

TEST(CallGate, TwoGatesAreIndependent) {
  CallGate a;
  CallGate b;
  a.Enter();
  a.Close();
  EXPECT_FALSE(b.closed());
  EXPECT_TRUE(b.WaitIdle(absl::Now()));
  EXPECT_FALSE(a.WaitIdle(absl::Now()));
  a.Leave();
  EXPECT_TRUE(a.WaitIdle(absl::Now()));
}

}  // namespace
}  // namespace jobd::core
