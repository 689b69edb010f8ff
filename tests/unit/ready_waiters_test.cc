// Long-poll waiters: matching wake-ups, the generation race per queue, deadlines, each
// waiter's own recheck, and the cross-process hint format.
#include "server/core/ready_waiters.h"

#include <atomic>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace jobd::core {
namespace {

TEST(ReadyWaiters, NotifyWakesOnlyMatchingWaiters) {
  ReadyWaiters waiters;
  std::atomic<int> woken_a{0}, woken_b{0};
  const absl::Time far = absl::Now() + absl::Hours(1);
  ASSERT_TRUE(waiters.Wait("ws", {"a"}, far, waiters.generation(), [&](bool w) { woken_a += w; }));
  ASSERT_TRUE(
      waiters.Wait("ws", {"b", "c"}, far, waiters.generation(), [&](bool w) { woken_b += w; }));
  waiters.Notify("other", "a");
  waiters.Notify("ws", "x");
  EXPECT_EQ(waiters.size(), 2u);
  waiters.Notify("ws", "c");
  EXPECT_EQ(woken_b, 1);
  EXPECT_EQ(woken_a, 0);
  EXPECT_EQ(waiters.size(), 1u);
  waiters.NotifyAll();
  EXPECT_EQ(woken_a, 1);
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(ReadyWaiters, StaleGenerationRefusesToSleep) {
  ReadyWaiters waiters;
  const uint64_t seen = waiters.generation();
  waiters.Notify("ws", "a");  // a job became ready after we looked
  EXPECT_FALSE(waiters.Wait("ws", {"a"}, absl::Now() + absl::Hours(1), seen, [](bool) {}));
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(ReadyWaiters, DeadlineResumesWithFalse) {
  ReadyWaiters waiters;
  std::promise<bool> resumed;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(waiters.Wait("ws", {"a"}, start + absl::Milliseconds(50), waiters.generation(),
                           [&](bool woken) { resumed.set_value(woken); }));
  auto future = resumed.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_FALSE(future.get());
  // Exact: the timer resumes a waiter only once absl::Now() has reached its deadline.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST(ReadyWaiters, NotifyAtWakesMatchingWaitersWhenTheTimeComes) {
  ReadyWaiters waiters;
  std::promise<absl::Time> woken;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(waiters.Wait("ws", {"a"}, start + absl::Hours(1), waiters.generation(), [&](bool w) {
    woken.set_value(w ? absl::Now() : absl::InfinitePast());
  }));
  waiters.NotifyAt(start + absl::Milliseconds(80), "ws", "a");
  waiters.NotifyAt(start + absl::Milliseconds(10), "ws", "other");  // matches nobody
  auto future = woken.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const absl::Time at = future.get();
  // Exact: the timer fires only once absl::Now() has reached the time given.
  EXPECT_GE(at - start, absl::Milliseconds(80));
  // Generous for a loaded or sanitized machine; the waiter's own deadline is an hour away.
  EXPECT_LT(at - start, absl::Seconds(10));
}

TEST(ReadyWaiters, StopResumesEveryoneAndRefusesNewWaits) {
  ReadyWaiters waiters;
  std::atomic<int> resumed{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(waiters.Wait("ws", {"a"}, absl::Now() + absl::Hours(1), waiters.generation(),
                             [&](bool woken) { resumed += woken ? 100 : 1; }));
  }
  waiters.Stop();
  EXPECT_EQ(resumed, 3);
  EXPECT_TRUE(waiters.stopped());
  EXPECT_FALSE(
      waiters.Wait("ws", {"a"}, absl::Now() + absl::Hours(1), waiters.generation(), [](bool) {}));
}

TEST(ReadyWaiters, WorkInOtherQueuesDoesNotRefuseToSleep) {
  ReadyWaiters waiters;
  const uint64_t seen = waiters.generation();
  waiters.Notify("other", "a");  // another workspace's job
  waiters.Notify("ws", "b");     // another type in this workspace
  EXPECT_TRUE(waiters.Wait("ws", {"a", "c"}, absl::Now() + absl::Hours(1), seen, [](bool) {}));
  EXPECT_EQ(waiters.size(), 1u);
  // Work for one of its types after it looked refuses the wait.
  const uint64_t seen_again = waiters.generation();
  waiters.Notify("ws", "c");
  EXPECT_FALSE(
      waiters.Wait("ws", {"a", "c"}, absl::Now() + absl::Hours(1), seen_again, [](bool) {}));
  // NotifyAll refuses every wait that looked before it.
  const uint64_t before_all = waiters.generation();
  waiters.NotifyAll();
  EXPECT_FALSE(waiters.Wait("x", {"y"}, absl::Now() + absl::Hours(1), before_all, [](bool) {}));
}

TEST(ReadyWaiters, AWaiterRechecksOnItsOwnBeforeItsDeadline) {
  SystemClock clock;
  ReadyWaiters waiters(clock, /*recheck=*/absl::Milliseconds(50));
  std::promise<bool> resumed;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(waiters.Wait("ws", {"a"}, start + absl::Hours(1), waiters.generation(),
                           [&](bool woken) { resumed.set_value(woken); }));
  std::future<bool> result = resumed.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(result.get());  // look again, the wait is not over
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_EQ(waiters.size(), 0u);
}

TEST(ReadyWaiters, ReadyHintsRoundTripAndSplitUnderTheCap) {
  std::set<std::pair<std::string, std::string>> keys;
  for (int i = 0; i < 400; ++i) keys.emplace("ws-" + std::to_string(i), "type \"q\"");
  const std::vector<std::string> payloads = FormatReadyHints(keys, 1000);
  ASSERT_GT(payloads.size(), 1u);
  std::set<std::pair<std::string, std::string>> parsed;
  for (const std::string& payload : payloads) {
    EXPECT_LE(payload.size(), 1000u);
    auto one = ParseReadyHints(payload);
    ASSERT_TRUE(one.has_value()) << payload;
    parsed.insert(one->begin(), one->end());
  }
  EXPECT_EQ(parsed, keys);
  // Unnamed or unreadable: wake everyone.
  EXPECT_FALSE(ParseReadyHints("").has_value());
  EXPECT_FALSE(ParseReadyHints("[[\"ws\"]]").has_value());
  EXPECT_FALSE(ParseReadyHints("not json").has_value());
  EXPECT_EQ(FormatReadyHints({{std::string(2000, 'w'), "t"}}, 1000), std::vector<std::string>{""});
}

}  // namespace
}  // namespace jobd::core
