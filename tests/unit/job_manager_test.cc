// JobManager's decisions over the in-memory store and a set clock: creation (validation,
// idempotency, scheduling, quotas), reads, paging, cancel, retry, and workspace access.
#include "server/core/job_manager.h"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/ids.h"
#include "server/core/rate_limiter.h"
#include "tests/support/callback_result.h"
#include "tests/support/core_test_helpers.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_job_store.h"

namespace jobd::core {
namespace {

using fakes::CallbackResult;
constexpr auto Key = fakes::KeyPrincipal;
using fakes::OneCommitter;

const Principal kAlice = Key("alice", Role::kMember, "ws1");  // member of ws1
const Principal kBob = Key("bob", Role::kMember, "ws2");      // member of ws2

CreateJobCommand Command(const std::string& workspace = "ws1", const std::string& type = "email") {
  CreateJobCommand c;
  c.workspace_id = workspace;
  c.type = type;
  c.payload_json = R"({"to":"someone"})";
  return c;
}

class JobManagerTest : public ::testing::Test {
 protected:
  JobManagerTest() {
    manager_.SetJobReadyListener([this](const Job& job) {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.push_back(job.id);
    });
    manager_.SetJobScheduledListener([this](const Job& job) {
      std::lock_guard<std::mutex> lock(mu_);
      scheduled_.push_back(job.id);
    });
  }

  // `done` runs on the committer after the listeners, so they have run when this returns.
  absl::StatusOr<Job> Create(const Principal& caller, const CreateJobCommand& command) {
    CallbackResult<Job> result;
    manager_.CreateJob(caller, command, result.Callback());
    return result.Wait();
  }
  Job MustCreate(const CreateJobCommand& command = Command()) {
    absl::StatusOr<Job> job = Create(kAlice, command);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : Job{};
  }
  // A job stored in `state` as a finished or failed attempt left it.
  Job PutInState(JobState state, int32_t attempt = 1) {
    Job job = MustCreate();
    job.state = state;
    job.attempt = attempt;
    job.finish_time = clock_.Now();
    job.expire_time = clock_.Now() + job.ttl;
    job.error_message = "boom";
    store_.Put(job);
    return job;
  }
  std::vector<std::string> ready() {
    std::lock_guard<std::mutex> lock(mu_);
    return ready_;
  }
  std::vector<std::string> scheduled() {
    std::lock_guard<std::mutex> lock(mu_);
    return scheduled_;
  }

  std::mutex mu_;  // the listeners run on the committer thread
  std::vector<std::string> ready_;
  std::vector<std::string> scheduled_;
  fakes::FakeClock clock_;
  fakes::FakeJobStore store_{&clock_};  // the database's clock is the test's
  CreateBatcher creates_{CommitCreates(store_), OneCommitter()};
  JobManager manager_{store_, creates_, clock_, Limits{}, PageTokenCodec("test-page-key")};
};

// ---- CreateJob ----

TEST_F(JobManagerTest, CreateStoresAQueuedJobRequestedByTheKeyAndWakesWorkers) {
  const absl::StatusOr<Job> job = Create(kAlice, Command());
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_TRUE(IsUuid(job->id)) << job->id;
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->workspace_id, "ws1");
  EXPECT_EQ(job->type, "email");
  EXPECT_EQ(job->requested_by, "alice");
  EXPECT_EQ(job->payload_json, R"({"to":"someone"})");
  EXPECT_EQ(job->create_time, clock_.Now());
  EXPECT_EQ(job->run_after, clock_.Now());
  EXPECT_EQ(job->attempt, 1);
  EXPECT_EQ(job->last_attempt, 3);  // the default max_attempts
  EXPECT_EQ(job->sequence, 1);
  const std::vector<JobEvent> events = store_.Events(job->id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kCreated);
  EXPECT_EQ(ready(), std::vector<std::string>{job->id});
  EXPECT_TRUE(scheduled().empty());
}

TEST_F(JobManagerTest, CreateWithAFutureRunAfterIsScheduledAndNotReady) {
  CreateJobCommand c = Command();
  c.run_after = clock_.Now() + absl::Hours(1);
  const absl::StatusOr<Job> job = Create(kAlice, c);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kScheduled);
  EXPECT_EQ(job->run_after, clock_.Now() + absl::Hours(1));
  EXPECT_EQ(scheduled(), std::vector<std::string>{job->id});
  EXPECT_TRUE(ready().empty());

  c.run_after = clock_.Now() - absl::Hours(1);  // in the past: ready now
  const absl::StatusOr<Job> past = Create(kAlice, c);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_EQ(past->state, JobState::kQueued);
  EXPECT_EQ(past->run_after, clock_.Now());
}

TEST_F(JobManagerTest, InvalidCreateNamesTheFieldAndWritesNothing) {
  struct Case {
    const char* field;
    std::function<void(CreateJobCommand&)> spoil;
  };
  const std::vector<Case> cases = {
      {"workspace_id", [](CreateJobCommand& c) { c.workspace_id = "no spaces"; }},
      {"type", [](CreateJobCommand& c) { c.type = ""; }},
      {"type", [](CreateJobCommand& c) { c.type = "Upper"; }},
      {"payload", [](CreateJobCommand& c) { c.payload_json = std::string(256 * 1024 + 1, ' '); }},
      {"retry_policy.max_attempts", [](CreateJobCommand& c) { c.retry_policy.max_attempts = 101; }},
      {"retry_policy.multiplier", [](CreateJobCommand& c) { c.retry_policy.multiplier = 0.5; }},
      {"retry_policy.max_backoff",
       [](CreateJobCommand& c) {
         c.retry_policy.initial_backoff = absl::Seconds(10);
         c.retry_policy.max_backoff = absl::Seconds(1);
       }},
      {"timeout", [](CreateJobCommand& c) { c.timeout = absl::ZeroDuration(); }},
      {"ttl", [](CreateJobCommand& c) { c.ttl = absl::Seconds(-1); }},
      {"labels", [](CreateJobCommand& c) { c.labels["bad key"] = "v"; }},
      {"idempotency_key", [](CreateJobCommand& c) { c.idempotency_key = std::string(257, 'k'); }},
  };
  for (const Case& test : cases) {
    CreateJobCommand c = Command();
    test.spoil(c);
    // An admin: for a member, a workspace not its own is PERMISSION_DENIED before validation.
    const absl::StatusOr<Job> job = Create(LocalAdmin("root"), c);
    ASSERT_FALSE(job.ok()) << test.field;
    EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument) << job.status();
    EXPECT_TRUE(absl::StartsWith(job.status().message(), absl::StrCat(test.field, ": ")))
        << job.status();
  }
  CreateJobCommand far = Command();
  far.run_after = clock_.Now() + absl::Hours(24 * 366);
  EXPECT_TRUE(absl::StartsWith(Create(kAlice, far).status().message(), "run_after: "));
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_TRUE(ready().empty());
}

TEST_F(JobManagerTest, RepeatedIdempotencyKeyReturnsTheSameJob) {
  CreateJobCommand c = Command();
  c.idempotency_key = "order-42";
  const Job first = MustCreate(c);
  const absl::StatusOr<Job> again = Create(kAlice, c);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id, first.id);
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(ready(), std::vector<std::string>{first.id});  // woken once, for the new job

  // The same key with another request is refused, naming the holder.
  CreateJobCommand other = c;
  other.payload_json = R"({"to":"someone else"})";
  const absl::StatusOr<Job> conflict = Create(kAlice, other);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StartsWith(conflict.status().message(),
                               absl::StrCat("idempotency_key: job ", first.id)))
      << conflict.status();

  // Keys are per workspace.
  CreateJobCommand in_ws2 = c;
  in_ws2.workspace_id = "ws2";
  const absl::StatusOr<Job> ws2 = Create(kBob, in_ws2);
  ASSERT_TRUE(ws2.ok()) << ws2.status();
  EXPECT_NE(ws2->id, first.id);
}

TEST_F(JobManagerTest, CreateInAnotherWorkspaceIsPermissionDenied) {
  const absl::StatusOr<Job> job = Create(kAlice, Command("ws2"));
  EXPECT_EQ(job.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StartsWith(job.status().message(), "workspace_id: ")) << job.status();
  EXPECT_EQ(store_.size(), 0u);
  // An admin key reaches every workspace.
  EXPECT_TRUE(Create(LocalAdmin("root"), Command("ws2")).ok());
}

TEST_F(JobManagerTest, RateLimiterRefusesBeyondTheKeysBudgetUntilItRefills) {
  RateLimiter limiter(/*rate=*/1, /*burst=*/2);
  manager_.SetCreateRateLimiter(&limiter);
  EXPECT_TRUE(Create(kAlice, Command()).ok());
  EXPECT_TRUE(Create(kAlice, Command()).ok());
  const absl::StatusOr<Job> refused = Create(kAlice, Command());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "API key \"alice\""))
      << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "retry in 1s")) << refused.status();
  EXPECT_EQ(store_.size(), 2u);
  EXPECT_TRUE(Create(kBob, Command("ws2")).ok());  // another key's bucket
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Create(kAlice, Command()).ok());
}

TEST_F(JobManagerTest, StoreQuotaRefusalIsResourceExhausted) {
  store_.SetMaxActiveJobsPerWorkspace(1);
  MustCreate();
  const absl::StatusOr<Job> refused = Create(kAlice, Command());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(ready().size(), 1u);
}

// ---- GetJob ----

TEST_F(JobManagerTest, GetJobOfAnotherWorkspaceIsNotFoundLikeAnUnknownId) {
  const Job job = MustCreate();
  const absl::StatusOr<Job> got = manager_.GetJob(kAlice, job.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, job.id);

  const absl::StatusOr<Job> hidden = manager_.GetJob(kBob, job.id);
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(hidden.status().message(), absl::StrCat("job ", job.id, " not found"));
  const std::string unknown = NewJobId(clock_.Now());
  EXPECT_EQ(manager_.GetJob(kAlice, unknown).status(),
            absl::NotFoundError(absl::StrCat("job ", unknown, " not found")));
  const absl::Status bad = manager_.GetJob(kAlice, "not-a-uuid").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.message(), "id: ")) << bad;
}

// ---- ListJobs ----

TEST_F(JobManagerTest, ListPagesNewestFirstAndTokensRoundTrip) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(MustCreate().id);
  MustCreate(Command("ws1", "other"));
  ASSERT_TRUE(Create(kBob, Command("ws2")).ok());

  ListJobsCommand c;
  c.workspace_id = "ws1";
  c.type = "email";
  c.page_size = 2;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    const absl::StatusOr<JobPage> page = manager_.ListJobs(kAlice, c);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const Job& job : page->jobs) seen.push_back(job.id);
    c.page_token = page->next_page_token;
  } while (!c.page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));

  const std::vector<ListJobsQuery> queries = store_.list_queries();
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[0].limit, 3);           // one more than the page: is there another?
  EXPECT_EQ(queries[0].states.size(), 7u);  // no states: all of them
  EXPECT_EQ(queries[0].after_id, "");
  EXPECT_EQ(queries[1].after_id, ids[3]);
}

// 7 payloads of ~200 KB: 5 fit in the default 1 MiB of bodies, the 6th would pass it.
TEST_F(JobManagerTest, PagesEndBeforeTheirBodiesPassTheBudgetAndTheBasicViewHasNone) {
  CreateJobCommand big = Command();
  big.payload_json = "{\"blob\":\"" + std::string(200000, 'x') + "\"}";
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(MustCreate(big).id);

  ListJobsCommand c;
  c.workspace_id = "ws1";
  c.page_size = 500;
  const absl::StatusOr<JobPage> first = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->jobs.size(), 5u);
  EXPECT_EQ(first->jobs.back().id, ids[2]);
  ASSERT_FALSE(first->next_page_token.empty());
  c.page_token = first->next_page_token;
  const absl::StatusOr<JobPage> second = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->jobs.size(), 2u);
  EXPECT_EQ(second->jobs.back().id, ids[0]);
  EXPECT_EQ(second->next_page_token, "");

  c.page_token.clear();
  c.view = JobView::kBasic;
  const absl::StatusOr<JobPage> basic = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(basic.ok()) << basic.status();
  EXPECT_EQ(basic->jobs.size(), 7u);
  EXPECT_EQ(basic->next_page_token, "");
  for (const Job& job : basic->jobs) EXPECT_EQ(job.payload_json, "");
  EXPECT_FALSE(store_.list_queries().back().with_bodies);
  EXPECT_EQ(store_.list_queries().back().max_body_bytes, 0);
}

// A first job alone past the budget still ends its page with a token: the rest follow.
TEST_F(JobManagerTest, AFirstJobAlonePastTheBudgetDoesNotEndTheListing) {
  Limits small;
  small.max_list_page_body_bytes = 10;  // less than any payload here
  JobManager manager{store_, creates_, clock_, small, PageTokenCodec("test-page-key")};
  for (int i = 0; i < 3; ++i) MustCreate();
  ListJobsCommand c;
  c.workspace_id = "ws1";
  int pages = 0;
  do {
    const absl::StatusOr<JobPage> page = manager.ListJobs(kAlice, c);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->jobs.size(), 1u);
    ++pages;
    c.page_token = page->next_page_token;
  } while (!c.page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
}

TEST_F(JobManagerTest, PageTokenOfOtherFiltersIsRefused) {
  for (int i = 0; i < 3; ++i) MustCreate();
  ListJobsCommand c;
  c.workspace_id = "ws1";
  c.page_size = 1;
  const absl::StatusOr<JobPage> first = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token.empty());
  ListJobsCommand other = c;
  other.page_token = first->next_page_token;
  other.states = {JobState::kQueued};
  const absl::Status refused = manager_.ListJobs(kAlice, other).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(refused.message(), "page_token: ")) << refused;
  // The same filters with another page size are fine.
  c.page_token = first->next_page_token;
  c.page_size = 5;
  const absl::StatusOr<JobPage> rest = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->jobs.size(), 2u);
  EXPECT_EQ(rest->next_page_token, "");
}

TEST_F(JobManagerTest, ListFiltersByStateAndLabelsAndChecksTheWorkspace) {
  CreateJobCommand labelled = Command();
  labelled.labels = {{"env", "prod"}};
  const Job prod = MustCreate(labelled);
  const Job plain = MustCreate();
  ASSERT_TRUE(manager_.CancelJob(kAlice, plain.id, "").ok());

  ListJobsCommand c;
  c.workspace_id = "ws1";
  c.labels = {{"env", "prod"}};
  absl::StatusOr<JobPage> page = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, prod.id);

  c.labels.clear();
  c.states = {JobState::kCancelled};
  page = manager_.ListJobs(kAlice, c);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, plain.id);

  EXPECT_EQ(manager_.ListJobs(kBob, c).status().code(), absl::StatusCode::kPermissionDenied);
  c.page_size = 501;
  EXPECT_TRUE(absl::StartsWith(manager_.ListJobs(kAlice, c).status().message(), "page_size: "));
}

// ---- CancelJob ----

TEST_F(JobManagerTest, CancelQueuedJobRecordsReasonAndWhoCancelled) {
  const Job job = MustCreate();
  clock_.Advance(absl::Seconds(5));
  const absl::StatusOr<Job> cancelled = manager_.CancelJob(kAlice, job.id, "not needed");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(cancelled->error_message, "not needed");
  EXPECT_EQ(cancelled->finish_time, clock_.Now());
  EXPECT_EQ(cancelled->expire_time, clock_.Now() + job.ttl);
  EXPECT_EQ(cancelled->sequence, 2);
  const std::vector<JobEvent> events = store_.Events(job.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, EventKind::kStateChanged);
  EXPECT_EQ(events[1].state, JobState::kCancelled);

  // Without a reason, the key's name; cancelling again changes nothing.
  const Job other = MustCreate();
  EXPECT_EQ(manager_.CancelJob(kAlice, other.id, "")->error_message, "cancelled by alice");
  const absl::StatusOr<Job> again = manager_.CancelJob(kAlice, other.id, "twice");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->error_message, "cancelled by alice");
  EXPECT_EQ(again->sequence, 2);
}

TEST_F(JobManagerTest, CancelFinishedJobIsFailedPreconditionAndWritesNothing) {
  for (JobState state : {JobState::kSucceeded, JobState::kFailed}) {
    const Job job = PutInState(state);
    const absl::Status status = manager_.CancelJob(kAlice, job.id, "").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), absl::AsciiStrToUpper(StateName(state))))
        << status;
    EXPECT_EQ(store_.Peek(job.id)->state, state);
    EXPECT_EQ(store_.Events(job.id).size(), 1u);
  }
}

TEST_F(JobManagerTest, CancelOrRetryOfAnotherWorkspacesJobIsNotFoundAndWritesNothing) {
  const Job queued = MustCreate();
  const Job failed = PutInState(JobState::kFailed);
  EXPECT_EQ(manager_.CancelJob(kBob, queued.id, "").status(),
            absl::NotFoundError(absl::StrCat("job ", queued.id, " not found")));
  EXPECT_EQ(manager_.RetryJob(kBob, failed.id).status(),
            absl::NotFoundError(absl::StrCat("job ", failed.id, " not found")));
  EXPECT_EQ(store_.Peek(queued.id)->state, JobState::kQueued);
  EXPECT_EQ(store_.Peek(failed.id)->state, JobState::kFailed);
  EXPECT_EQ(store_.Peek(queued.id)->sequence, 1);
}

// ---- RetryJob ----

TEST_F(JobManagerTest, RetryFailedOrCancelledJobQueuesTheNextAttemptAndWakesWorkers) {
  for (JobState state : {JobState::kFailed, JobState::kCancelled}) {
    const Job job = PutInState(state, /*attempt=*/3);
    clock_.Advance(absl::Minutes(1));
    const absl::StatusOr<Job> retried = manager_.RetryJob(kAlice, job.id);
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_EQ(retried->state, JobState::kQueued);
    EXPECT_EQ(retried->attempt, 4);
    EXPECT_EQ(retried->last_attempt, 6);  // a fresh budget of max_attempts (3)
    EXPECT_EQ(retried->error_message, "");
    EXPECT_FALSE(retried->finish_time.has_value());
    EXPECT_FALSE(retried->expire_time.has_value());
    EXPECT_EQ(retried->run_after, clock_.Now());
    EXPECT_EQ(ready().back(), job.id);
  }
}

TEST_F(JobManagerTest, RetryOfAnUnfinishedJobIsFailedPrecondition) {
  const Job job = MustCreate();
  const absl::Status status = manager_.RetryJob(kAlice, job.id).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), absl::StrCat("job ", job.id,
                                           " is QUEUED: only FAILED or CANCELLED jobs can be "
                                           "retried"));
  EXPECT_EQ(store_.Peek(job.id)->sequence, 1);
  EXPECT_EQ(ready().size(), 1u);  // only the create
}

// ---- Stats and events ----

TEST_F(JobManagerTest, StatsCountPerTypeAndStateOfTheWorkspace) {
  MustCreate();
  MustCreate();
  MustCreate(Command("ws1", "sms"));
  ASSERT_TRUE(Create(kBob, Command("ws2")).ok());
  const absl::StatusOr<JobStats> stats = manager_.GetJobStats(kAlice, "ws1");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->counts.size(), 2u);
  EXPECT_EQ(stats->counts[0].type, "email");
  EXPECT_EQ(stats->counts[0].state, JobState::kQueued);
  EXPECT_EQ(stats->counts[0].count, 2);
  EXPECT_EQ(stats->counts[1].type, "sms");
  EXPECT_EQ(stats->counts[1].count, 1);
  EXPECT_EQ(stats->oldest_queued_since, clock_.Now());
  EXPECT_EQ(manager_.GetJobStats(kAlice, "ws2").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(JobManagerTest, ListJobEventsPagesBySequence) {
  const Job job = MustCreate();
  ASSERT_TRUE(manager_.CancelJob(kAlice, job.id, "").ok());
  ASSERT_TRUE(manager_.RetryJob(kAlice, job.id).ok());
  absl::StatusOr<EventPage> page = manager_.ListJobEvents(kAlice, job.id, 2, "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].kind, EventKind::kCreated);
  EXPECT_EQ(page->events[1].state, JobState::kCancelled);
  EXPECT_EQ(page->job.state, JobState::kQueued);
  ASSERT_FALSE(page->next_page_token.empty());
  page = manager_.ListJobEvents(kAlice, job.id, 2, page->next_page_token);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].sequence, 3);
  EXPECT_EQ(page->events[0].state, JobState::kQueued);
  EXPECT_EQ(page->next_page_token, "");
  EXPECT_EQ(manager_.ListJobEvents(kBob, job.id, 0, "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, StoreErrorsPassThrough) {
  const Job job = MustCreate();
  store_.FailCalls(absl::UnavailableError("database down"));
  EXPECT_EQ(manager_.GetJob(kAlice, job.id).status(), absl::UnavailableError("database down"));
  EXPECT_EQ(manager_.CancelJob(kAlice, job.id, "").status(),
            absl::UnavailableError("database down"));
  EXPECT_EQ(Create(kAlice, Command()).status(), absl::UnavailableError("database down"));
  store_.FailCalls(absl::OkStatus());
  EXPECT_EQ(store_.Peek(job.id)->state, JobState::kQueued);
}

TEST_F(JobManagerTest, ABulkChangeCutShortSaysHowManyItChangedAndARepeatDoesTheRest) {
  constexpr int kJobs = 1200;  // three chunks of 500
  for (int i = 0; i < kJobs; ++i) MustCreate();
  BulkJobsCommand cancel;
  cancel.action = BulkAction::kCancel;
  cancel.filter.workspace_id = "ws1";
  cancel.filter.states = {JobState::kQueued};
  store_.FailCallsAfterUpdates(2, absl::UnavailableError("database down"));
  absl::StatusOr<BulkJobsResult> cut = manager_.BulkChangeJobs(kAlice, cancel);
  EXPECT_EQ(cut.status(),
            absl::UnavailableError("database down (1000 jobs were changed before this failure; a "
                                   "repeat of the call changes only the rest)"));
  store_.FailCalls(absl::OkStatus());
  absl::StatusOr<BulkJobsResult> rest = manager_.BulkChangeJobs(kAlice, cancel);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->matched, 200);
  EXPECT_EQ(rest->changed, 200);
  // A failure before anything changed is the store's error as it is.
  store_.FailCalls(absl::UnavailableError("database down"));
  EXPECT_EQ(manager_.BulkChangeJobs(kAlice, cancel).status(),
            absl::UnavailableError("database down"));
}

}  // namespace
}  // namespace jobd::core
