// Attempt rules: backoff bounds, fencing, progress, completion, failure, lost leases.
#include "server/core/worker_rules.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "tests/support/test_clock.h"

namespace jobd::core {
namespace {

using test::kNow;

Job Running(int attempt = 1, int last_attempt = 3) {
  Job job;
  job.id = "01a201e7-5c53-7000-bf26-50a897f50418";
  job.state = JobState::kRunning;
  job.attempt = attempt;
  job.last_attempt = last_attempt;
  job.lease_token = "token";
  job.worker_id = "w1";
  job.lease_duration = absl::Seconds(30);
  job.lease_expire_time = kNow + absl::Seconds(10);
  job.start_time = kNow - absl::Seconds(20);
  job.retry_policy.initial_backoff = absl::Seconds(1);
  job.retry_policy.max_backoff = absl::Seconds(10);
  job.retry_policy.multiplier = 2;
  return job;
}

UnitRandom Fixed(double value) {
  return [value] { return value; };
}

TEST(Backoff, CapGrowsExponentiallyUpToMax) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Seconds(1);
  policy.max_backoff = absl::Seconds(10);
  policy.multiplier = 2;
  EXPECT_EQ(BackoffCap(policy, 1), absl::Seconds(1));
  EXPECT_EQ(BackoffCap(policy, 2), absl::Seconds(2));
  EXPECT_EQ(BackoffCap(policy, 3), absl::Seconds(4));
  EXPECT_EQ(BackoffCap(policy, 4), absl::Seconds(8));
  EXPECT_EQ(BackoffCap(policy, 5), absl::Seconds(10));
  EXPECT_EQ(BackoffCap(policy, 1000), absl::Seconds(10));  // no overflow
}

TEST(Backoff, FullJitterStaysWithinZeroAndCap) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Seconds(1);
  policy.multiplier = 2;
  EXPECT_EQ(Backoff(policy, 3, Fixed(0.0)), absl::ZeroDuration());
  EXPECT_EQ(Backoff(policy, 3, Fixed(0.5)), absl::Seconds(2));
  UnitRandom random = DefaultUnitRandom();
  for (int i = 0; i < 1000; ++i) {
    absl::Duration d = Backoff(policy, 3, random);
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LT(d, absl::Seconds(4));
  }
}

TEST(AttemptFailed, RetriesWhileBudgetLastsThenFails) {
  JobUpdate retry = PlanAttemptFailed(Running(1, 3), "boom", true, kNow, Fixed(0.5));
  EXPECT_EQ(retry.next.state, JobState::kScheduled);
  EXPECT_EQ(retry.next.attempt, 2);
  EXPECT_EQ(retry.next.run_after, kNow + absl::Milliseconds(500));
  EXPECT_EQ(retry.next.error_message, "boom");
  EXPECT_EQ(retry.next.lease_token, "");
  EXPECT_FALSE(retry.next.start_time.has_value());
  EXPECT_EQ(retry.next.worker_id, "");
  EXPECT_EQ(retry.event_kind, EventKind::kStateChanged);

  JobUpdate last = PlanAttemptFailed(Running(3, 3), "boom", true, kNow, Fixed(0.5));
  EXPECT_EQ(last.next.state, JobState::kFailed);
  EXPECT_EQ(last.next.attempt, 3);
  EXPECT_EQ(last.next.finish_time, kNow);

  JobUpdate fatal = PlanAttemptFailed(Running(1, 3), "bad input", false, kNow, Fixed(0.5));
  EXPECT_EQ(fatal.next.state, JobState::kFailed);
}

TEST(CheckLease, RefusesEveryStaleLease) {
  EXPECT_TRUE(CheckLease(Running(), "token", kNow).ok());
  EXPECT_EQ(CheckLease(Running(), "other", kNow).code(), absl::StatusCode::kAborted);
  Job expired = Running();
  expired.lease_expire_time = kNow;
  EXPECT_EQ(CheckLease(expired, "token", kNow).code(), absl::StatusCode::kAborted);
  Job cancelled = Running();
  cancelled.state = JobState::kCancelled;
  absl::Status s = CheckLease(cancelled, "token", kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(s.message(), "cancelled")) << s;
  Job done = Running();
  done.state = JobState::kSucceeded;
  EXPECT_EQ(CheckLease(done, "token", kNow).code(), absl::StatusCode::kAborted);
  Job retried = Running();
  retried.state = JobState::kQueued;
  retried.lease_token.clear();
  EXPECT_EQ(CheckLease(retried, "", kNow).code(), absl::StatusCode::kAborted);
}

TEST(Progress, RenewsLeaseCappedByAttemptDeadline) {
  ProgressReport report{40, "page 4", {{MessageLevel::kWarning, "slow"}}, {}};
  auto plan = PlanProgress(Running(), "token", report, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->cancelled);
  ASSERT_TRUE(plan->update.has_value());
  EXPECT_EQ(plan->update->next.lease_expire_time, kNow + absl::Seconds(30));
  EXPECT_EQ(plan->update->next.progress_percent, 40);
  EXPECT_EQ(plan->update->event_kind, EventKind::kProgress);
  ASSERT_EQ(plan->update->messages.size(), 1u);

  Job with_deadline = Running();
  with_deadline.attempt_deadline = kNow + absl::Seconds(5);
  plan = PlanProgress(with_deadline, "token", report, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->update->next.lease_expire_time, kNow + absl::Seconds(5));
}

TEST(Progress, UnchangedProgressRenewsWithoutEvent) {
  Job job = Running();
  job.progress_percent = 40;
  job.progress_message = "page 4";
  auto plan = PlanProgress(job, "token", ProgressReport{40, "page 4", {}, {}}, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->update->event_kind.has_value());
}

TEST(Progress, CancelledJobTellsItsWorker) {
  Job job = Running();
  job.state = JobState::kCancelled;
  auto plan = PlanProgress(job, "token", ProgressReport{}, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->cancelled);
  EXPECT_FALSE(plan->update.has_value());
  EXPECT_EQ(PlanProgress(job, "someone else", ProgressReport{}, kNow).status().code(),
            absl::StatusCode::kAborted);
}

TEST(Progress, AJobResumedAfterItsWorkerHeardTakesOnlyThatWorkersCheckpoint) {
  Job job = Running();
  job.state = JobState::kQueued;  // paused, told, resumed: only the token is left
  job.worker_id.clear();
  job.lease_expire_time.reset();
  ProgressReport report{60, "page 6", {}, {}};
  report.checkpoint_json = R"({"page":6})";
  auto plan = PlanProgress(job, "token", report, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->paused);
  EXPECT_FALSE(plan->cancelled);
  ASSERT_TRUE(plan->update.has_value());
  EXPECT_EQ(plan->update->next.state, JobState::kQueued);
  EXPECT_EQ(plan->update->next.checkpoint_json, report.checkpoint_json);
  EXPECT_EQ(plan->update->next.progress_percent, 0);
  EXPECT_FALSE(plan->update->event_kind.has_value());
  // Without a checkpoint nothing is written; another token is refused.
  auto bare = PlanProgress(job, "token", ProgressReport{}, kNow);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->paused);
  EXPECT_FALSE(bare->update.has_value());
  EXPECT_EQ(PlanProgress(job, "someone else", report, kNow).status().code(),
            absl::StatusCode::kAborted);
}

TEST(Progress, AScheduledJobResumedAfterAPauseAlsoTakesTheCheckpointButNoCompletion) {
  Job job = Running();
  job.state = JobState::kScheduled;
  job.worker_id.clear();
  job.lease_expire_time.reset();
  ProgressReport report;
  report.checkpoint_json = R"({"page":2})";
  auto plan = PlanProgress(job, "token", report, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->paused);
  ASSERT_TRUE(plan->update.has_value());
  EXPECT_EQ(plan->update->next.state, JobState::kScheduled);
  EXPECT_EQ(plan->update->next.checkpoint_json, report.checkpoint_json);
  EXPECT_EQ(PlanComplete(job, "token", "{}", kNow).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(PlanFail(job, "token", "boom", true, kNow, Fixed(0.5)).status().code(),
            absl::StatusCode::kAborted);
}

TEST(Complete, SucceedsOnlyUnderTheLease) {
  auto update = PlanComplete(Running(), "token", R"({"n":1})", kNow);
  ASSERT_TRUE(update.ok());
  EXPECT_EQ((*update)->next.state, JobState::kSucceeded);
  EXPECT_EQ((*update)->next.result_json, R"({"n":1})");
  EXPECT_EQ((*update)->next.progress_percent, 100);
  EXPECT_EQ((*update)->next.finish_time, kNow);
  EXPECT_EQ(PlanComplete(Running(), "stale", "{}", kNow).status().code(),
            absl::StatusCode::kAborted);
}

TEST(Complete, RepeatedUnderTheSameLeaseIsANoOp) {
  Job done = Running();
  done.state = JobState::kSucceeded;
  auto again = PlanComplete(done, "token", "{}", kNow);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(PlanComplete(done, "other", "{}", kNow).status().code(), absl::StatusCode::kAborted);
}

TEST(ReleaseLease, BackToQueuedForTheSameAttempt) {
  Job job = Running(2, 3);
  auto update = PlanReleaseLease(job, "token", kNow);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->next.state, JobState::kQueued);
  EXPECT_EQ(update->next.attempt, 2);
  EXPECT_EQ(update->next.lease_token, "");
  EXPECT_EQ(update->next.worker_id, "");
  EXPECT_FALSE(update->next.start_time.has_value());
  EXPECT_FALSE(PlanReleaseLease(job, "other", kNow).has_value());
  job.state = JobState::kSucceeded;
  EXPECT_FALSE(PlanReleaseLease(job, "token", kNow).has_value());
  // Paused between its lease and the hand-back: still paused, but held by no worker, so that
  // a resume queues it for anyone.
  job.state = JobState::kPaused;
  auto paused = PlanReleaseLease(job, "token", kNow);
  ASSERT_TRUE(paused.has_value());
  EXPECT_EQ(paused->next.state, JobState::kPaused);
  EXPECT_EQ(paused->next.worker_id, "");
  EXPECT_FALSE(paused->event_kind.has_value());
}

TEST(LeaseExpired, SaysLostOrTimedOut) {
  Job lost = Running();
  lost.lease_expire_time = kNow - absl::Seconds(1);
  auto update = PlanLeaseExpired(lost, kNow, Fixed(0));
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->next.state, JobState::kScheduled);
  EXPECT_TRUE(absl::StrContains(update->next.error_message, "worker w1 lost"))
      << update->next.error_message;

  Job timed_out = Running(3, 3);
  timed_out.timeout = absl::Seconds(20);
  timed_out.attempt_deadline = kNow;
  timed_out.lease_expire_time = kNow;
  update = PlanLeaseExpired(timed_out, kNow, Fixed(0));
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->next.state, JobState::kFailed);
  EXPECT_EQ(update->next.error_message, "attempt 3 timed out after 20s");

  EXPECT_FALSE(PlanLeaseExpired(Running(), kNow, Fixed(0)).has_value());  // still valid
  Job done = lost;
  done.state = JobState::kSucceeded;
  EXPECT_FALSE(PlanLeaseExpired(done, kNow, Fixed(0)).has_value());
}

}  // namespace
}  // namespace jobd::core

namespace jobd::core {
namespace {

// Past max_progress_events_per_attempt a progress event folds the previous one when that is
// the job's latest event; past max_messages_per_job one notice ends the messages.
TEST(PlanProgressHistory, FoldsPastTheLimitAndCapsMessagesWithOneNotice) {
  Limits limits;
  limits.max_progress_events_per_attempt = 2;
  limits.max_messages_per_job = 3;
  Job job = Running();
  job.sequence = 10;
  job.attempt_progress_events = 2;  // at the limit
  const ProgressReport report{50, "", {}, {}};
  auto first = PlanProgress(job, "token", report, kNow, limits);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->update->replaces_latest_event);  // the first past the limit
  EXPECT_EQ(first->update->next.fold_sequence, 11);
  EXPECT_EQ(first->update->next.fold_count, 0);

  job = first->update->next;
  job.sequence = 11;
  auto second = PlanProgress(job, "token", ProgressReport{60, "", {}, {}}, kNow, limits);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->update->replaces_latest_event);
  EXPECT_EQ(second->update->next.fold_sequence, 12);
  EXPECT_EQ(second->update->next.fold_count, 1);
  EXPECT_EQ(second->update->next.attempt_progress_events, 4);

  job = second->update->next;
  job.sequence = 13;  // a message came after 12: it stays
  auto third = PlanProgress(job, "token", ProgressReport{70, "", {}, {}}, kNow, limits);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_FALSE(third->update->replaces_latest_event);
  EXPECT_EQ(third->update->next.fold_count, 0);

  job.message_count = 1;
  const std::vector<JobMessage> five(5, JobMessage{MessageLevel::kInfo, "m"});
  auto capped = PlanProgress(job, "token", ProgressReport{70, "", five, {}}, kNow, limits);
  ASSERT_TRUE(capped.ok()) << capped.status();
  ASSERT_EQ(capped->update->messages.size(), 3u);  // 2 of room and the notice
  EXPECT_EQ(capped->update->messages[2].level, MessageLevel::kWarning);
  job.message_count = 4;  // the notice was written
  auto dropped = PlanProgress(job, "token", ProgressReport{70, "", five, {}}, kNow, limits);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_TRUE(dropped->update->messages.empty());
}

}  // namespace
}  // namespace jobd::core
