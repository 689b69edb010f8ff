// PgJobStore::UpdateJobsAndAcquire: a worker's finished jobs and its next leases are written by
// one transaction (one commit), and a failure anywhere writes neither.
#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "db/pg_job_store.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "server/core/worker_rules.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

class UpdateAndAcquireTest : public ::testing::Test {
 protected:
  UpdateAndAcquireTest() : pool_(schema_.config()), store_(pool_) {}

  void CreateJobs(int n) {
    std::vector<Job> jobs;
    const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
    for (int i = 0; i < n; ++i) {
      core::CreateJobCommand c;
      c.workspace_id = "ws";
      c.type = "t";
      jobs.push_back(core::NewJobFromCommand(c, core::NewJobId(now), now));
      jobs.back().requested_by = "tester";
    }
    ASSERT_TRUE(store_.CreateJobs(jobs).ok());
  }
  AcquireQuery Query(int limit) {
    AcquireQuery query;
    query.workspace_id = "ws";
    query.types = {"t"};
    query.worker_id = "w1";
    query.limit = limit;
    query.lease_duration = absl::Seconds(30);
    return query;
  }
  JobStore::JobChange Complete(const Job& leased) {
    return {leased.id, [token = leased.lease_token](const Job& current, absl::Time now) {
              return core::PlanComplete(current, token, "{}", now);
            }};
  }
  std::string Sql(const std::string& sql) {
    pqxx::connection conn(schema_.config().url);
    pqxx::nontransaction tx(conn);
    tx.exec("SET search_path TO " + schema_.name());
    return tx.exec1(sql)[0].c_str();
  }

  testing::TestSchema schema_;
  db::ConnectionPool pool_;
  db::PgJobStore store_;
};

TEST_F(UpdateAndAcquireTest, FinishedAndLeasedInOneTransaction) {
  CreateJobs(3);
  absl::StatusOr<std::vector<Job>> first = store_.AcquireJobs(Query(1));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 1u);
  absl::StatusOr<JobStore::UpdatedAndLeased> out =
      store_.UpdateJobsAndAcquire({Complete(first->front())}, Query(5));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->updated.size(), 1u);
  ASSERT_TRUE(out->updated[0].ok()) << out->updated[0].status();
  EXPECT_EQ(out->updated[0]->state, JobState::kSucceeded);
  ASSERT_EQ(out->leased.size(), 2u);
  for (const Job& job : out->leased) {
    EXPECT_EQ(job.state, JobState::kRunning);
    EXPECT_FALSE(job.lease_token.empty());
  }
  // One transaction: the finished row and the leased rows carry the same xmin.
  EXPECT_EQ(Sql("SELECT count(DISTINCT xmin::text) FROM jobs WHERE state IN ('succeeded', "
                "'running')"),
            "1");
  EXPECT_EQ(Sql("SELECT string_agg(state::text, ',' ORDER BY sequence) FROM job_events WHERE "
                "job_id = '" +
                first->front().id + "'"),
            "queued,running,succeeded");
}

TEST_F(UpdateAndAcquireTest, AFailureWritesNeither) {
  CreateJobs(2);
  absl::StatusOr<std::vector<Job>> first = store_.AcquireJobs(Query(1));
  ASSERT_TRUE(first.ok() && first->size() == 1u);
  // A negative LIMIT makes the acquire statement fail after the completion was written in
  // the same transaction.
  absl::StatusOr<JobStore::UpdatedAndLeased> out =
      store_.UpdateJobsAndAcquire({Complete(first->front())}, Query(-1));
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(Sql("SELECT state::text FROM jobs WHERE id = '" + first->front().id + "'"), "running");
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'queued'"), "1");
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events"), "3");
}

}  // namespace
}  // namespace jobd
