// Group commit: batching, one job per batch, per-request results, refusal when stopped.
#include "server/core/group_commit.h"

#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "server/core/batchers.h"

namespace jobd::core {
namespace {

using Batcher = GroupCommit<std::string, std::string>;

TEST(GroupCommit, LoneRequestCommitsAtOnceWithItsOwnResult) {
  std::atomic<int> commits{0};
  Batcher batcher(
      [&](const std::vector<std::string>& in)
          -> absl::StatusOr<std::vector<absl::StatusOr<std::string>>> {
        ++commits;
        std::vector<absl::StatusOr<std::string>> out;
        for (const auto& s : in) {
          out.push_back(s == "bad" ? absl::StatusOr<std::string>(absl::NotFoundError(s))
                                   : absl::StatusOr<std::string>(s + "!"));
        }
        return out;
      },
      GroupCommitOptions{1, 8, 100, nullptr});
  std::promise<absl::StatusOr<std::string>> a, b;
  batcher.Submit("a", [&](absl::StatusOr<std::string> r) { a.set_value(r); });
  batcher.Submit("bad", [&](absl::StatusOr<std::string> r) { b.set_value(r); });
  EXPECT_EQ(*a.get_future().get(), "a!");
  EXPECT_EQ(b.get_future().get().status().code(), absl::StatusCode::kNotFound);
  EXPECT_GE(commits.load(), 1);
}

TEST(GroupCommit, EqualKeysNeverShareABatchAndBatchErrorsReachEveryone) {
  std::mutex mu;
  std::vector<std::vector<std::string>> batches;
  std::promise<void> release, entered;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  Batcher batcher(
      [&](const std::vector<std::string>& in)
          -> absl::StatusOr<std::vector<absl::StatusOr<std::string>>> {
        if (first.exchange(false)) entered.set_value();
        released.wait();  // hold the first commit so the rest queue up
        std::lock_guard<std::mutex> lock(mu);
        batches.push_back(in);
        if (in.size() == 1 && in[0] == "fail") return absl::UnavailableError("down");
        return std::vector<absl::StatusOr<std::string>>(in.begin(), in.end());
      },
      GroupCommitOptions{1, 8, 100, nullptr}, [](const std::string& s) { return s.substr(0, 1); });
  std::atomic<int> done{0};
  std::promise<absl::Status> failed;
  batcher.Submit("fail", [&](absl::StatusOr<std::string> r) { failed.set_value(r.status()); });
  entered.get_future().wait();  // "fail" is being committed alone
  for (const std::string s : {"x1", "x2", "y1", "z1", "x3"}) {
    batcher.Submit(s, [&](absl::StatusOr<std::string> r) { done += r.ok(); });
  }
  release.set_value();
  EXPECT_EQ(failed.get_future().get().code(), absl::StatusCode::kUnavailable);
  batcher.Stop();
  EXPECT_EQ(done.load(), 5);
  for (const auto& batch : batches) {
    std::set<char> keys;
    for (const auto& s : batch) EXPECT_TRUE(keys.insert(s[0]).second) << "two x in one batch";
  }
  // The first queued batch took x1, y1, z1; x2 and x3 followed one per batch, in order.
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[1], (std::vector<std::string>{"x1", "y1", "z1"}));
  EXPECT_EQ(batches[2], (std::vector<std::string>{"x2"}));
  EXPECT_EQ(batches[3], (std::vector<std::string>{"x3"}));
}

TEST(GroupCommit, StoppedRefusesWithUnavailable) {
  Batcher batcher(
      [](const std::vector<std::string>& in)
          -> absl::StatusOr<std::vector<absl::StatusOr<std::string>>> {
        return std::vector<absl::StatusOr<std::string>>(in.begin(), in.end());
      },
      GroupCommitOptions{1, 8, 100, nullptr});
  batcher.Stop();
  absl::Status status;
  batcher.Submit("late", [&](absl::StatusOr<std::string> r) { status = r.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

// One job, whatever the case of its id, is one batch key: the batcher then never puts it
// twice into one transaction (where the second would be refused).
TEST(ChangeKey, IgnoresTheCaseOfTheId) {
  JobStore::JobChange upper{"01A20334-9E90-7000-BECA-28C878BC8319", nullptr};
  JobStore::JobChange lower{"01a20334-9e90-7000-beca-28c878bc8319", nullptr};
  EXPECT_EQ(ChangeKey(upper), ChangeKey(lower));
}

}  // namespace
}  // namespace jobd::core
