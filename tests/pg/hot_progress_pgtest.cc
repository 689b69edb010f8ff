// Schema 7: a progress report changes no indexed column, so PostgreSQL writes it as a HOT
// update (no new index entry); the reaper still finds expired leases; and a database of
// schema 6 with jobs in every state upgrades with its data intact.
#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "db/migrator.h"
#include "db/pg_job_store.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "server/core/worker_rules.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

Job NewJob(const std::string& type, absl::Time run_after = absl::InfinitePast()) {
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  core::CreateJobCommand c;
  c.workspace_id = "ws";
  c.type = type;
  if (run_after != absl::InfinitePast()) c.run_after = run_after;
  Job job = core::NewJobFromCommand(c, core::NewJobId(now), now);
  job.requested_by = "tester";
  return job;
}

AcquireQuery QueryFor(const std::string& type, absl::Duration lease = absl::Seconds(30)) {
  AcquireQuery query;
  query.workspace_id = "ws";
  query.types = {type};
  query.worker_id = "w1";
  query.limit = 1;
  query.lease_duration = lease;
  return query;
}

JobStore::JobChange Progress(const Job& leased, float percent) {
  return {leased.id,
          [token = leased.lease_token, percent](
              const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
            core::ProgressReport report;
            report.percent = percent;
            report.message = "at " + std::to_string(percent);
            absl::StatusOr<core::ProgressPlan> plan =
                core::PlanProgress(current, token, report, now);
            if (!plan.ok()) return plan.status();
            return plan->update;
          }};
}

// Every state, made through the store: QUEUED, SCHEDULED, RUNNING, SUCCEEDED, FAILED,
// CANCELLED; returns their ids by state name.
std::map<std::string, std::string> JobsInEveryState(db::PgJobStore& store, const std::string& url) {
  std::map<std::string, std::string> ids;
  const std::vector<std::pair<std::string, Job>> made = {
      {"queued", NewJob("queued")},
      {"scheduled", NewJob("scheduled", absl::Now() + absl::Hours(1))},
      {"running", NewJob("running")},
      {"succeeded", NewJob("succeeded")},
      {"failed", NewJob("failed")},
      {"cancelled", NewJob("cancelled")}};
  for (const auto& [state, job] : made) {
    EXPECT_TRUE(store.CreateJobs({job}).ok());
    ids[state] = job.id;
  }
  // Leased and finished by SQL: today's acquire and change statements use tables and columns
  // an old schema lacks.
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  auto lease = [&](const std::string& type, const char* lease = "30 seconds") {
    tx.exec_params(
        "UPDATE jobs SET state = 'running', worker_id = 'w1', lease_token = gen_random_uuid(), "
        "lease_expire_time = now() + $2::interval, start_time = now(), "
        "sequence = sequence + 1 WHERE type = $1",
        type, lease);
  };
  lease("running", "1 second");  // expires soon: the reaper must find it after the upgrade
  lease("succeeded");
  tx.exec_params(
      "UPDATE jobs SET state = 'succeeded', result = '{\"ok\":1}', lease_expire_time = NULL, "
      "progress_percent = 100, finish_time = now(), expire_time = now() + interval '1 day' "
      "WHERE id = $1",
      ids["succeeded"]);
  lease("failed");
  tx.exec_params(
      "UPDATE jobs SET state = 'failed', error_message = 'boom', lease_expire_time = NULL, "
      "finish_time = now(), expire_time = now() + interval '1 day' WHERE id = $1",
      ids["failed"]);
  tx.exec_params(
      "UPDATE jobs SET state = 'cancelled', error_message = 'no', finish_time = now(), "
      "expire_time = now() + interval '1 day' WHERE id = $1",
      ids["cancelled"]);
  return ids;
}

class HotProgressTest : public ::testing::Test {
 protected:
  HotProgressTest() : pool_(schema_.config()), store_(pool_) {}

  std::string Sql(const std::string& sql) {
    pqxx::connection conn(schema_.config().url);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + schema_.name() + ", public");
    return tx.exec1(sql)[0].c_str();
  }

  testing::TestSchema schema_;
  db::ConnectionPool pool_;
  db::PgJobStore store_;
};

TEST_F(HotProgressTest, ProgressReportsAreHotUpdatesWithNoNewIndexEntries) {
  ASSERT_TRUE(store_.CreateJobs({NewJob("t")}).ok());
  absl::StatusOr<std::vector<Job>> leased = store_.AcquireJobs(QueryFor("t"));
  ASSERT_TRUE(leased.ok() && leased->size() == 1u);
  {
    pqxx::connection conn(schema_.config().url);
    pqxx::nontransaction(conn).exec("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public");
  }
  // The insert and the lease (a state change): two entries per index for the one job.
  const std::string entries =
      "SELECT count(*) FROM bt_page_items('" + schema_.name() + ".jobs_pkey', 1)";
  ASSERT_EQ(Sql(entries), "2");
  for (int i = 1; i <= 5; ++i) {
    absl::StatusOr<std::vector<absl::StatusOr<Job>>> done =
        store_.UpdateJobs({Progress(leased->front(), 10.0f * i)});
    ASSERT_TRUE(done.ok() && (*done)[0].ok()) << (done.ok() ? (*done)[0].status() : done.status());
    EXPECT_EQ((*done)[0]->progress_percent, 10.0f * i);
  }
  // Five reports, no new index entry: each was a heap-only (HOT) version.
  EXPECT_EQ(Sql(entries), "2");
  EXPECT_EQ(
      Sql("SELECT count(*) FROM bt_page_items('" + schema_.name() + ".jobs_list_by_state', 1)"),
      "2");
  EXPECT_EQ(Sql("SELECT progress_percent::text FROM jobs"), "50");
}

TEST_F(HotProgressTest, ASchemaSixDatabaseWithJobsInEveryStateUpgrades) {
  testing::DatabaseAtSchema database(6);
  ASSERT_FALSE(HasFailure());
  const db::DatabaseConfig& config = database.config();
  std::map<std::string, std::string> ids;
  {
    // Connections of the old schema: their prepared statements' results have its columns.
    db::ConnectionPool old_pool(config);
    db::PgJobStore old_store(old_pool);
    ids = JobsInEveryState(old_store, config.url);
  }
  ASSERT_EQ(ids.size(), 6u);
  db::ConnectionPool pool(config);
  db::PgJobStore store(pool);

  absl::StatusOr<int> reached = database.Upgrade();
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, db::RequiredSchemaVersion());
  for (const auto& [state, id] : ids) {
    absl::StatusOr<Job> job = store.GetJob(id);
    ASSERT_TRUE(job.ok()) << job.status();
    EXPECT_EQ(StateName(job->state), state);
    EXPECT_EQ(job->type, state);
  }
  EXPECT_EQ(store.GetJob(ids.at("succeeded"))->result_json, "{\"ok\":1}");
  EXPECT_EQ(store.GetJob(ids.at("failed"))->error_message, "boom");
  pqxx::connection check(config.url);
  pqxx::nontransaction tx(check);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_indexes WHERE indexname = 'jobs_lease_expiry'")[0]
                .as<int>(),
            0);
  EXPECT_EQ(
      tx.exec1("SELECT reloptions::text FROM pg_class WHERE relname = 'jobs'")[0].as<std::string>(),
      "{fillfactor=90}");
  // The reaper's query finds the RUNNING job once its 1 s lease is over (the database's clock).
  std::vector<std::string> expired;
  for (int tries = 0; tries < 100 && expired.empty(); ++tries) {
    absl::StatusOr<std::vector<std::string>> found = store.ListExpiredLeases(10);
    ASSERT_TRUE(found.ok()) << found.status();
    expired = *found;
    if (expired.empty()) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(expired, std::vector<std::string>{ids.at("running")});
  // New work goes on: the QUEUED job is leased through the upgraded indexes.
  absl::StatusOr<std::vector<Job>> leased = store.AcquireJobs(QueryFor("queued"));
  ASSERT_TRUE(leased.ok() && leased->size() == 1u);
  EXPECT_EQ(leased->front().id, ids.at("queued"));
}

}  // namespace
}  // namespace jobd
