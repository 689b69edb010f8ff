// Schema 10: PAUSED jobs, queue settings honoured by the acquire statement, and retention by
// count. A schema-9 database with jobs upgrades; a paused queue serves nothing; max_running
// and a token bucket bound what one acquire leases; the oldest finished jobs beyond the count
// go first, with their events.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "db/migrator.h"
#include "db/pg_job_store.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

Job QueuedJob(const std::string& workspace, const std::string& type) {
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  core::CreateJobCommand c;
  c.workspace_id = workspace;
  c.type = type;
  Job job = core::NewJobFromCommand(c, core::NewJobId(now), now);
  job.requested_by = "tester";
  return job;
}

AcquireQuery Query(const std::string& type, int limit) {
  AcquireQuery query;
  query.workspace_id = "ws";
  query.types = {type};
  query.worker_id = "w1";
  query.limit = limit;
  query.lease_duration = absl::Seconds(30);
  return query;
}

size_t Leased(db::PgJobStore& store, const std::string& type, int limit) {
  absl::StatusOr<std::vector<Job>> leased = store.AcquireJobs(Query(type, limit));
  EXPECT_TRUE(leased.ok()) << leased.status();
  return leased.ok() ? leased->size() : 0;
}

TEST(QueueStoreTest, ASchemaNineDatabaseUpgradesAndPausedQueuesServeNothing) {
  testing::DatabaseAtSchema database(9);
  ASSERT_FALSE(HasFailure());
  const db::DatabaseConfig& config = database.config();
  std::vector<Job> jobs = {QueuedJob("ws", "t"), QueuedJob("ws", "t"), QueuedJob("ws", "t")};
  {
    db::DatabaseConfig one = config;
    one.pool_size = 1;
    db::ConnectionPool old_pool(one);
    db::PgJobStore old_store(old_pool);
    ASSERT_TRUE(old_store.CreateJobs(jobs).ok());
  }
  absl::StatusOr<int> reached = database.Upgrade();
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, db::RequiredSchemaVersion());
  db::ConnectionPool pool(config);
  db::PgJobStore store(pool);
  // A job paused is stored PAUSED and not leased.
  absl::StatusOr<Job> paused = store.UpdateJob(
      jobs[0].id, [](const Job& current, absl::Time now) { return core::PlanPause(current, now); });
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(store.GetJob(jobs[0].id)->state, JobState::kPaused);
  // A paused queue serves nothing; resumed, it serves its QUEUED jobs.
  ASSERT_TRUE(store.SetQueuePaused("ws", "t", true).ok());
  EXPECT_EQ(Leased(store, "t", 10), 0u);
  absl::StatusOr<QueueSettings> resumed = store.SetQueuePaused("ws", "t", false);
  ASSERT_TRUE(resumed.ok());
  EXPECT_FALSE(resumed->paused);
  EXPECT_TRUE(resumed->update_time.has_value());
  EXPECT_EQ(Leased(store, "t", 10), 2u);
  absl::StatusOr<std::vector<QueueInfo>> queues = store.ListQueues("ws", 100);
  ASSERT_TRUE(queues.ok()) << queues.status();
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ((*queues)[0].counts,
            (std::map<JobState, int64_t>{{JobState::kRunning, 2}, {JobState::kPaused, 1}}));
}

TEST(QueueStoreTest, LimitsBoundWhatAnAcquireLeases) {
  testing::TestSchema schema;
  db::ConnectionPool pool(schema.config());
  db::PgJobStore store(pool);
  std::vector<Job> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(QueuedJob("ws", "limited"));
  for (int i = 0; i < 5; ++i) jobs.push_back(QueuedJob("ws", "rated"));
  ASSERT_TRUE(store.CreateJobs(jobs).ok());
  QueueSettings limited;
  limited.workspace_id = "ws";
  limited.type = "limited";
  limited.max_running = 2;
  ASSERT_TRUE(store.SetQueueLimits(limited).ok());
  EXPECT_EQ(Leased(store, "limited", 10), 2u);
  EXPECT_EQ(Leased(store, "limited", 10), 0u);
  // At max_running with QUEUED jobs: look again in 100 ms.
  absl::StatusOr<std::optional<absl::Time>> next = store.NextQueueAdmission("ws", {"limited"});
  ASSERT_TRUE(next.ok() && next->has_value());
  // One leaves RUNNING: one more.
  {
    pqxx::connection conn(schema.config().url);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + schema.name() + ", public");
    tx.exec(
        "UPDATE jobs SET state = 'succeeded' WHERE id = (SELECT id FROM jobs WHERE "
        "type = 'limited' AND state = 'running' LIMIT 1)");
  }
  EXPECT_EQ(Leased(store, "limited", 10), 1u);

  QueueSettings rated;
  rated.workspace_id = "ws";
  rated.type = "rated";
  rated.max_starts_per_second = 0.5;
  rated.burst = 3;
  ASSERT_TRUE(store.SetQueueLimits(rated).ok());
  EXPECT_EQ(Leased(store, "rated", 10), 3u);  // the full bucket
  EXPECT_EQ(Leased(store, "rated", 10), 0u);
  next = store.NextQueueAdmission("ws", {"rated"});
  ASSERT_TRUE(next.ok() && next->has_value());
  // The next token in about 2 s (0.5/s), on the database's clock.
  pqxx::connection conn(schema.config().url);
  pqxx::nontransaction tx(conn);
  const absl::Time db_now = absl::FromUnixMicros(
      tx.exec1("SELECT (extract(epoch FROM now()) * 1e6)::bigint")[0].as<int64_t>());
  EXPECT_GT(**next - db_now, absl::Milliseconds(1500));
  EXPECT_LT(**next - db_now, absl::Milliseconds(2100));
  // Limits removed: the rest at once.
  rated.max_starts_per_second.reset();
  rated.burst = 1;
  ASSERT_TRUE(store.SetQueueLimits(rated).ok());
  EXPECT_EQ(Leased(store, "rated", 10), 2u);
}

TEST(QueueStoreTest, RetentionByCountDeletesTheOldestFinishedJobsWithTheirEvents) {
  testing::TestSchema schema;
  db::ConnectionPool pool(schema.config());
  db::PgJobStore store(pool);
  std::vector<Job> jobs;
  for (int i = 0; i < 10; ++i) jobs.push_back(QueuedJob("a", "t"));
  for (int i = 0; i < 3; ++i) jobs.push_back(QueuedJob("b", "t"));
  jobs.push_back(QueuedJob("a", "active"));
  ASSERT_TRUE(store.CreateJobs(jobs).ok());
  pqxx::connection conn(schema.config().url);
  pqxx::nontransaction tx(conn);
  tx.exec("SET search_path TO " + schema.name() + ", public");
  // Finished in id order, a second apart: the first ones are the oldest.
  tx.exec(
      "UPDATE jobs SET state = 'succeeded', finish_time = now() - interval '1 hour' + "
      "(SELECT count(*) FROM jobs AS o WHERE o.id < jobs.id) * interval '1 second', "
      "expire_time = now() + interval '1 day' WHERE type = 't'");
  absl::StatusOr<int> deleted = store.TrimFinishedJobs(4, 100);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 6);
  // Workspace a keeps its 4 newest finished jobs and its active one; b is under the limit.
  for (size_t i = 0; i < jobs.size(); ++i) {
    const bool gone = i < 6;
    EXPECT_EQ(store.GetJob(jobs[i].id).ok(), !gone) << i;
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM job_events WHERE job_id = '" + jobs[i].id + "'")[0]
                  .as<int>(),
              gone ? 0 : 1)
        << i;
  }
  EXPECT_EQ(*store.TrimFinishedJobs(4, 100), 0);
}

}  // namespace
}  // namespace jobd
