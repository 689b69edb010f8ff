// Schema 9: a job's checkpoint. A database of schema 8 with a job upgrades with it intact and
// no checkpoint; a change that saves one stores it, and a later change that does not (a
// plain progress report) keeps it.
#include <gtest/gtest.h>

#include "db/migrator.h"
#include "db/pg_job_store.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

TEST(CheckpointStoreTest, ASchemaEightDatabaseUpgradesAndKeepsCheckpointsAcrossChanges) {
  testing::DatabaseAtSchema database(8);
  ASSERT_FALSE(HasFailure());
  const db::DatabaseConfig& config = database.config();
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  core::CreateJobCommand c;
  c.workspace_id = "ws";
  c.type = "crawl";
  Job job = core::NewJobFromCommand(c, core::NewJobId(now), now);
  job.requested_by = "tester";
  // A connection of the old schema, whose prepared GetJob returns its columns.
  db::DatabaseConfig one = config;
  one.pool_size = 1;
  db::ConnectionPool old_pool(one);
  db::PgJobStore old_store(old_pool);
  ASSERT_TRUE(old_store.CreateJobs({job}).ok());
  ASSERT_TRUE(old_store.GetJob(job.id).ok());

  absl::StatusOr<int> reached = database.Upgrade();
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, db::RequiredSchemaVersion());
  // A running jobd during a rolling upgrade: the first call on that connection is UNAVAILABLE
  // (retryable) and the connection is replaced; the retry works.
  EXPECT_TRUE(absl::IsUnavailable(old_store.GetJob(job.id).status()));
  EXPECT_TRUE(old_store.GetJob(job.id).ok());
  db::ConnectionPool pool(config);
  db::PgJobStore store(pool);
  absl::StatusOr<Job> kept = store.GetJob(job.id);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->type, "crawl");
  EXPECT_FALSE(kept->checkpoint_json.has_value());

  auto change = [&](std::optional<std::string> checkpoint, bool changed, float percent) {
    return store.UpdateJob(
        job.id, [&](const Job& current, absl::Time at) -> absl::StatusOr<std::optional<JobUpdate>> {
          JobUpdate update;
          update.next = current;
          update.next.update_time = at;
          update.next.progress_percent = percent;
          update.next.checkpoint_json = checkpoint;
          update.checkpoint_changed = changed;
          update.event_kind = EventKind::kProgress;
          return std::optional<JobUpdate>(update);
        });
  };
  ASSERT_TRUE(change(R"({"page": 3})", true, 30).ok());
  EXPECT_EQ(store.GetJob(job.id)->checkpoint_json, R"({"page": 3})");
  // Not marked changed: the stored one stays whatever the change carries.
  ASSERT_TRUE(change(std::nullopt, false, 40).ok());
  absl::StatusOr<Job> after = store.GetJob(job.id);
  EXPECT_EQ(after->checkpoint_json, R"({"page": 3})");
  EXPECT_EQ(after->progress_percent, 40);
  // Lists leave it out.
  ListJobsQuery query;
  query.workspace_id = "ws";
  query.states = {JobState::kQueued};
  absl::StatusOr<std::vector<Job>> listed = store.ListJobs(query);
  ASSERT_TRUE(listed.ok() && listed->size() == 1u);
  EXPECT_FALSE(listed->front().checkpoint_json.has_value());
}

}  // namespace
}  // namespace jobd
