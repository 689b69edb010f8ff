// PgJobStore on a real PostgreSQL: a fresh, migrated schema per test.
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "db/migrator.h"
#include "db/pg_job_store.h"
#include "server/background/retention.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

using core::NewJobId;

class JobStoreTest : public ::testing::Test {
 protected:
  JobStoreTest() : pool_(schema_.config()), store_(pool_) {}

  Job MakeJob(const std::string& workspace = "ws", const std::string& type = "t") {
    const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
    core::CreateJobCommand c;
    c.workspace_id = workspace;
    c.type = type;
    Job job = core::NewJobFromCommand(c, NewJobId(now), now);
    job.requested_by = "tester";
    return job;
  }

  Job CreateOne(Job job) {
    auto created = store_.CreateJobs({job});
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? (*created)[0].job : job;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(schema_.config().url);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + schema_.name());
    return tx.exec1(sql)[0].as<int64_t>();
  }

  testing::TestSchema schema_;
  db::ConnectionPool pool_;
  db::PgJobStore store_;
};

TEST_F(JobStoreTest, CreateThenGetRoundTripsEveryField) {
  Job job = MakeJob();
  job.priority = -7;
  job.payload_json =
      R"({"quote":"it's \"x\"","nul":"a\u0000b","sql":"'); DROP TABLE jobs; --","n":1.5})";
  job.labels = {{"env", "prod"}, {"team/owner", "o'brien"}};
  job.timeout = absl::Seconds(90);
  job.ttl = absl::Hours(2);
  job.retry_policy.max_attempts = 5;
  job.retry_policy.initial_backoff = absl::Milliseconds(250);
  job.retry_policy.max_backoff = absl::Seconds(30);
  job.retry_policy.multiplier = 1.2345678901234567;
  job.last_attempt = 5;
  job.idempotency_key = "key-1";
  job.request_fingerprint = "fp";
  job.run_after = job.create_time + absl::Minutes(10);
  job.state = JobState::kScheduled;

  Job created = CreateOne(job);
  auto got = store_.GetJob(job.id);
  ASSERT_TRUE(got.ok()) << got.status();
  for (const Job& j : {created, *got}) {
    EXPECT_EQ(j.id, job.id);
    EXPECT_EQ(j.workspace_id, "ws");
    EXPECT_EQ(j.type, "t");
    EXPECT_EQ(j.state, JobState::kScheduled);
    EXPECT_EQ(j.priority, -7);
    EXPECT_EQ(j.payload_json, job.payload_json);
    EXPECT_FALSE(j.result_json.has_value());
    EXPECT_EQ(j.requested_by, "tester");
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.last_attempt, 5);
    EXPECT_EQ(j.retry_policy.max_attempts, 5);
    EXPECT_EQ(j.retry_policy.initial_backoff, absl::Milliseconds(250));
    EXPECT_EQ(j.retry_policy.max_backoff, absl::Seconds(30));
    EXPECT_EQ(j.retry_policy.multiplier, 1.2345678901234567);
    EXPECT_EQ(j.timeout, absl::Seconds(90));
    EXPECT_EQ(j.ttl, absl::Hours(2));
    EXPECT_EQ(j.labels, job.labels);
    EXPECT_EQ(j.idempotency_key, "key-1");
    EXPECT_EQ(j.request_fingerprint, "fp");
    EXPECT_EQ(j.create_time, job.create_time);
    EXPECT_EQ(j.update_time, job.create_time);
    EXPECT_EQ(j.run_after, job.run_after);
    EXPECT_FALSE(j.start_time.has_value());
    EXPECT_FALSE(j.finish_time.has_value());
    EXPECT_FALSE(j.expire_time.has_value());
    EXPECT_EQ(j.sequence, 1);
  }
  auto events = store_.ListJobEvents(job.id, 0, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].sequence, 1);
  EXPECT_EQ((*events)[0].kind, EventKind::kCreated);
  EXPECT_EQ((*events)[0].state, JobState::kScheduled);
  EXPECT_EQ((*events)[0].time, job.create_time);
}

TEST_F(JobStoreTest, GetUnknownIsNotFound) {
  auto got = store_.GetJob(NewJobId(absl::Now()));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobStoreTest, IdempotencyKeyReturnsTheFirstJob) {
  Job first = MakeJob();
  first.idempotency_key = "same";
  Job second = MakeJob();
  second.idempotency_key = "same";
  Job other_workspace = MakeJob("ws2");
  other_workspace.idempotency_key = "same";
  // Within one batch, and across batches.
  auto created = store_.CreateJobs({first, second, other_workspace});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE((*created)[0].created);
  EXPECT_FALSE((*created)[1].created);
  EXPECT_EQ((*created)[1].job.id, first.id);
  EXPECT_TRUE((*created)[2].created);
  auto again = store_.CreateJobs({second});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].created);
  EXPECT_EQ((*again)[0].job.id, first.id);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM job_events"), 2);
}

TEST_F(JobStoreTest, ConcurrentDuplicatesMakeOneJob) {
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each batch holds the keys in a different order; sorting inside must avoid deadlocks.
      std::vector<Job> batch;
      for (int k = 0; k < 10; ++k) {
        Job job = MakeJob();
        job.idempotency_key = "key-" + std::to_string((k + t) % 10);
        batch.push_back(job);
      }
      auto created = store_.CreateJobs(batch);
      ASSERT_TRUE(created.ok()) << created.status();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 10);
  EXPECT_EQ(Count("SELECT count(DISTINCT idempotency_key) FROM jobs"), 10);
}

TEST_F(JobStoreTest, DuplicateIdIsAlreadyExistsAndWritesNothing) {
  Job job = CreateOne(MakeJob());
  Job fresh = MakeJob();
  auto created = store_.CreateJobs({fresh, job});  // the whole batch fails
  EXPECT_EQ(created.status().code(), absl::StatusCode::kAlreadyExists) << created.status();
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM job_events"), 1);
}

TEST_F(JobStoreTest, UpdateAppendsEventsWithConsecutiveSequences) {
  Job job = CreateOne(MakeJob());
  auto cancelled = store_.UpdateJob(job.id, [](const Job& current, absl::Time now) {
    return core::PlanCancel(current, "stop", "tester", now);
  });
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(cancelled->sequence, 2);
  EXPECT_EQ(cancelled->error_message, "stop");
  ASSERT_TRUE(cancelled->finish_time.has_value());
  EXPECT_EQ(cancelled->expire_time, *cancelled->finish_time + absl::Hours(24));

  // Cancelling again changes nothing and writes no event.
  auto again = store_.UpdateJob(job.id, [](const Job& current, absl::Time now) {
    return core::PlanCancel(current, "again", "tester", now);
  });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sequence, 2);
  EXPECT_EQ(again->error_message, "stop");

  auto retried = store_.UpdateJob(
      job.id, [](const Job& current, absl::Time now) { return core::PlanRetry(current, now); });
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state, JobState::kQueued);
  EXPECT_EQ(retried->attempt, 2);
  EXPECT_EQ(retried->sequence, 3);
  EXPECT_EQ(retried->error_message, "");
  EXPECT_FALSE(retried->finish_time.has_value());

  auto events = store_.ListJobEvents(job.id, 0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  const std::vector<std::tuple<int64_t, EventKind, JobState, int>> expected = {
      {1, EventKind::kCreated, JobState::kQueued, 1},
      {2, EventKind::kStateChanged, JobState::kCancelled, 1},
      {3, EventKind::kStateChanged, JobState::kQueued, 2}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*events)[i].sequence, std::get<0>(expected[i]));
    EXPECT_EQ((*events)[i].kind, std::get<1>(expected[i]));
    EXPECT_EQ((*events)[i].state, std::get<2>(expected[i]));
    EXPECT_EQ((*events)[i].attempt, std::get<3>(expected[i]));
  }
  EXPECT_EQ((*events)[1].error_message, "stop");
  auto tail = store_.ListJobEvents(job.id, 2, 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].sequence, 3);
}

TEST_F(JobStoreTest, UpdateJobsDecidesEachChangeInOneTransaction) {
  Job queued = CreateOne(MakeJob());
  Job to_cancel = CreateOne(MakeJob());
  Job untouched = CreateOne(MakeJob());
  const std::string missing = NewJobId(absl::Now());
  auto retry = [](const Job& c, absl::Time now) { return core::PlanRetry(c, now); };
  auto cancel = [](const Job& c, absl::Time now) { return core::PlanCancel(c, "batch", "t", now); };
  auto note = [](const Job& c, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
    JobUpdate update;
    update.next = c;
    update.event_kind = std::nullopt;  // no event of its own, two messages
    update.messages = {{MessageLevel::kInfo, "one"}, {MessageLevel::kError, "two"}};
    return std::optional<JobUpdate>(update);
  };
  auto keep = [](const Job&, absl::Time) -> absl::StatusOr<std::optional<JobUpdate>> {
    return std::nullopt;
  };
  auto results = store_.UpdateJobs({{queued.id, retry},      // refused: QUEUED
                                    {to_cancel.id, cancel},  // written
                                    {missing, cancel},       // not found
                                    {queued.id, note},       // same job twice: refused
                                    {untouched.id, note},    // messages only
                                    {CreateOne(MakeJob()).id, keep}});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 6u);
  EXPECT_EQ((*results)[0].status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*results)[1].ok());
  EXPECT_EQ((*results)[1]->state, JobState::kCancelled);
  EXPECT_EQ((*results)[1]->sequence, 2);
  EXPECT_EQ((*results)[2].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*results)[3].status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE((*results)[4].ok());
  EXPECT_EQ((*results)[4]->sequence, 3);
  ASSERT_TRUE((*results)[5].ok());
  EXPECT_EQ((*results)[5]->sequence, 1);
  EXPECT_EQ(Count("SELECT sequence FROM jobs WHERE id = '" + queued.id + "'"), 1);
  auto events = store_.ListJobEvents(untouched.id, 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].kind, EventKind::kMessage);
  EXPECT_EQ((*events)[1].message->text, "one");
  EXPECT_EQ((*events)[2].message->level, MessageLevel::kError);
}

TEST_F(JobStoreTest, RefusedMutationWritesNothing) {
  Job job = CreateOne(MakeJob());
  auto result = store_.UpdateJob(job.id, [](const Job& current, absl::Time now) {
    return core::PlanRetry(current, now);  // QUEUED cannot be retried
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("SELECT max(sequence) FROM jobs"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM job_events"), 1);
}

TEST_F(JobStoreTest, UpdateUnknownIsNotFound) {
  auto result = store_.UpdateJob(NewJobId(absl::Now()), [](const Job& current, absl::Time now) {
    return core::PlanRetry(current, now);
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobStoreTest, ListFiltersAndPagesNewestFirst) {
  std::vector<std::string> ids;  // creation order
  for (int i = 0; i < 12; ++i) {
    Job job = MakeJob("ws", i % 2 == 0 ? "even" : "odd");
    if (i % 3 == 0) job.labels["tier"] = "gold";
    ids.push_back(CreateOne(job).id);
  }
  CreateOne(MakeJob("elsewhere"));
  ASSERT_TRUE(
      store_
          .UpdateJob(ids[4],
                     [](const Job& c, absl::Time now) { return core::PlanCancel(c, "", "t", now); })
          .ok());

  auto list = [&](ListJobsQuery q) {
    auto jobs = store_.ListJobs(q);
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    std::vector<std::string> out;
    if (jobs.ok()) {
      for (const Job& j : *jobs) out.push_back(j.id);
    }
    return out;
  };
  const std::vector<JobState> all = {JobState::kScheduled, JobState::kQueued, JobState::kRunning,
                                     JobState::kSucceeded, JobState::kFailed, JobState::kCancelled};
  ListJobsQuery q;
  q.workspace_id = "ws";
  q.states = all;
  q.limit = 5;
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[11], ids[10], ids[9], ids[8], ids[7]}));
  q.after_id = ids[7];
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[6], ids[5], ids[4], ids[3], ids[2]}));
  q.after_id = ids[2];
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[1], ids[0]}));

  q = ListJobsQuery{};
  q.workspace_id = "ws";
  q.states = {JobState::kCancelled};
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[4]}));
  q.states = {JobState::kQueued};
  q.type = "even";
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[10], ids[8], ids[6], ids[2], ids[0]}));
  q.type = "";
  q.states = all;
  q.labels = {{"tier", "gold"}};
  EXPECT_EQ(list(q), (std::vector<std::string>{ids[9], ids[6], ids[3], ids[0]}));
  q.workspace_id = "nobody";
  EXPECT_TRUE(list(q).empty());
}

TEST_F(JobStoreTest, ListUsesIndexRangeScans) {
  pqxx::connection conn(schema_.config().url);
  pqxx::nontransaction tx(conn);
  tx.exec("SET search_path TO " + schema_.name());
  tx.exec("SET enable_seqscan = off");  // the planner's choice on an empty table is not the point
  std::string plan;
  for (const auto& row : tx.exec(
           "EXPLAIN SELECT page.* FROM unnest('{queued,running}'::job_state[]) AS wanted(state) "
           "CROSS JOIN LATERAL (SELECT * FROM jobs WHERE workspace_id = 'ws' AND state = "
           "wanted.state AND labels @> '{}'::jsonb AND id < 'ffffffff-ffff-ffff-ffff-ffffffffffff' "
           "ORDER BY id DESC LIMIT 20) AS page ORDER BY page.id DESC LIMIT 20")) {
    plan += std::string(row[0].c_str()) + "\n";
  }
  EXPECT_NE(plan.find("Index Scan using jobs_list_by_state"), std::string::npos) << plan;
  // The range condition is in the index, and only the merge of the per-state pages sorts.
  EXPECT_NE(plan.find("AND (id < 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))"),
            std::string::npos)
      << plan;
  EXPECT_EQ(plan.find("Sort Key"), plan.rfind("Sort Key")) << plan;
}

TEST_F(JobStoreTest, BrokenConnectionIsUnavailableThenRecovers) {
  db::ConnectionPool pool(schema_.config(/*pool_size=*/1));
  db::PgJobStore store(pool);
  Job job = MakeJob();
  ASSERT_TRUE(store.CreateJobs({job}).ok());
  // Terminate the pool's only connection from outside.
  int backend_pid = 0;
  ASSERT_TRUE(pool.Run([&](pqxx::connection& conn) {
                    backend_pid =
                        pqxx::nontransaction(conn).exec1("SELECT pg_backend_pid()")[0].as<int>();
                    return absl::OkStatus();
                  })
                  .ok());
  {
    pqxx::connection admin(schema_.config().url);
    pqxx::nontransaction(admin).exec("SELECT pg_terminate_backend(" + std::to_string(backend_pid) +
                                     ")");
  }
  auto broken = store.GetJob(job.id);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable) << broken.status();
  auto recovered = store.GetJob(job.id);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(recovered->id, job.id);
}

TEST_F(JobStoreTest, MigrateIsIdempotentAndConcurrentSafe) {
  testing::TestSchema fresh;  // already migrated once by the fixture
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<int>> versions(4, absl::UnknownError("not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto conn = db::OpenConnection(fresh.config());
      ASSERT_TRUE(conn.ok());
      versions[i] = db::Migrate(**conn, [](const std::string&) {});
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& v : versions) {
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, db::RequiredSchemaVersion());
  }
  auto conn = db::OpenConnection(fresh.config());
  ASSERT_TRUE(conn.ok());
  EXPECT_TRUE(db::CheckSchemaVersion(**conn).ok());
}

// A database made by the previous schema, holding jobs and events, upgrades to this one and
// keeps them. (The rows are written by today's store while the jobs table is unchanged; a
// migration that changes it writes them here with the previous schema's SQL.)
TEST_F(JobStoreTest, UpgradesADatabaseOfThePreviousSchemaWithItsData) {
  testing::TestDatabase database(testing::TestDatabaseUrl());
  db::DatabaseConfig config;
  config.url = database.url();
  auto conn = db::OpenConnection(config);
  ASSERT_TRUE(conn.ok()) << conn.status();
  const int previous = db::RequiredSchemaVersion() - 1;
  auto reached = db::Migrate(
      **conn, [](const std::string&) {}, previous);
  ASSERT_TRUE(reached.ok()) << reached.status();
  ASSERT_EQ(*reached, previous);
  db::ConnectionPool pool(config);
  db::PgJobStore old_store(pool);
  Job job = MakeJob("upgrade", "t");
  job.labels = {{"env", "prod"}};
  auto created = old_store.CreateJobs({job});
  ASSERT_TRUE(created.ok()) << created.status();

  reached = db::Migrate(**conn, [](const std::string&) {});
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, db::RequiredSchemaVersion());
  EXPECT_TRUE(db::CheckSchemaVersion(**conn).ok());
  auto got = old_store.GetJob(job.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->labels, job.labels);
  EXPECT_EQ(got->sequence, 1);
  pqxx::nontransaction tx(**conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM job_events WHERE folded = 0")[0].as<int>(), 1);
  // The history counters of upgraded jobs start at 0.
  EXPECT_EQ(tx.exec1("SELECT attempt_progress_events + message_count + fold_sequence + fold_count "
                     "FROM jobs")[0]
                .as<int>(),
            0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM page_token_keys WHERE length(secret) = 64")[0].as<int>(),
            1);
}

TEST_F(JobStoreTest, StatsCountPerTypeAndState) {
  const absl::Time before = absl::Now();
  Job a = CreateOne(MakeJob("ws", "a"));
  CreateOne(MakeJob("ws", "a"));
  CreateOne(MakeJob("ws", "b"));
  CreateOne(MakeJob("other", "a"));
  ASSERT_TRUE(store_
                  .UpdateJob(a.id, [](const Job& c,
                                      absl::Time now) { return core::PlanCancel(c, "", "t", now); })
                  .ok());
  auto stats = store_.GetJobStats("ws");
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::map<std::pair<std::string, JobState>, int64_t> counts;
  for (const auto& c : stats->counts) counts[{c.type, c.state}] = c.count;
  const std::map<std::pair<std::string, JobState>, int64_t> expected = {
      {{"a", JobState::kQueued}, 1},
      {{"a", JobState::kCancelled}, 1},
      {{"b", JobState::kQueued}, 1}};
  EXPECT_EQ(counts, expected);
  ASSERT_TRUE(stats->oldest_queued_since.has_value());
  EXPECT_GE(*stats->oldest_queued_since, before - absl::Seconds(1));
  auto empty = store_.GetJobStats("nobody");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->counts.empty());
  EXPECT_FALSE(empty->oldest_queued_since.has_value());
}

// Retention runs on the database's clock: the jobs are finished "61 minutes ago" (one "59
// minutes ago") by the time their change is decided at.
TEST_F(JobStoreTest, RetentionDeletesExpiredJobsWithTheirEventsInBatches) {
  auto finish_ago = [&](const std::string& id, absl::Duration ago) {
    return store_
        .UpdateJob(id, [ago](const Job& c,
                             absl::Time now) { return core::PlanCancel(c, "", "t", now - ago); })
        .ok();
  };
  std::vector<std::string> finished;
  for (int i = 0; i < 5; ++i) {
    Job job = MakeJob();
    job.idempotency_key = "k" + std::to_string(i);
    job.ttl = absl::Hours(1);
    finished.push_back(CreateOne(job).id);
    ASSERT_TRUE(finish_ago(finished.back(), absl::Minutes(61)));
  }
  Job recent = MakeJob();
  recent.ttl = absl::Hours(1);
  const std::string not_yet = CreateOne(recent).id;
  ASSERT_TRUE(finish_ago(not_yet, absl::Minutes(59)));
  Job active = CreateOne(MakeJob());  // not finished: no expire_time, never deleted
  EXPECT_EQ(background::Retention(store_, absl::Hours(1), 2).RunOnce(), 5);
  EXPECT_EQ(background::Retention(store_, absl::Hours(1), 2).RunOnce(), 0);
  EXPECT_TRUE(store_.GetJob(not_yet).ok());
  for (const std::string& id : finished) {
    EXPECT_EQ(store_.GetJob(id).status().code(), absl::StatusCode::kNotFound);
  }
  EXPECT_TRUE(store_.GetJob(active.id).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM job_events"), 3);  // active's CREATED, not_yet's two
  // A deleted job's idempotency key is free again.
  Job reuse = MakeJob();
  reuse.idempotency_key = "k0";
  auto created = store_.CreateJobs({reuse});
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE((*created)[0].created);
}

TEST(SchemaCheck, EmptySchemaIsRefused) {
  const std::string url = testing::TestDatabaseUrl();
  ASSERT_FALSE(url.empty());
  const std::string name = testing::RandomName("empty_");
  pqxx::connection admin(url);
  pqxx::nontransaction(admin).exec("CREATE SCHEMA " + name);
  db::DatabaseConfig config;
  config.url = url;
  config.search_path = name;
  auto conn = db::OpenConnection(config);
  ASSERT_TRUE(conn.ok());
  absl::Status status = db::CheckSchemaVersion(**conn);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("run `jobd migrate`"), absl::string_view::npos);
  pqxx::nontransaction(admin).exec("DROP SCHEMA " + name + " CASCADE");
}

}  // namespace
}  // namespace jobd
