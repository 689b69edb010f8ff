// Schema 8: schedules and job templates. A database of schema 7 with jobs upgrades with its
// jobs intact; the store keeps a schedule's spec and job whole, finds a workspace's template
// before a shared one of the same name, refuses a taken name, and lists only due schedules.
#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include "db/migrator.h"
#include "db/pg_job_store.h"
#include "db/pg_schedule_store.h"
#include "server/core/ids.h"
#include "server/core/lifecycle.h"
#include "tests/support/test_database.h"

namespace jobd {
namespace {

Job QueuedJob(const std::string& type) {
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  core::CreateJobCommand c;
  c.workspace_id = "ws";
  c.type = type;
  Job job = core::NewJobFromCommand(c, core::NewJobId(now), now);
  job.requested_by = "tester";
  return job;
}

Schedule ScheduleNamed(const std::string& name, std::optional<absl::Time> next_fire) {
  Schedule s;
  s.id = core::NewJobId(absl::Now());
  s.workspace_id = "ws";
  s.name = name;
  s.spec.cron = {"*/5 * * * * *"};
  s.spec.intervals = {{absl::Minutes(1), absl::Seconds(7)}};
  s.spec.time_zone = "Europe/Berlin";
  s.spec.end_time = absl::FromUnixSeconds(1900000000);
  s.spec.jitter = absl::Milliseconds(250);
  s.job.type = "report";
  s.job.payload_json = R"({"a":{"b":[1,2]}})";
  s.job.labels = {{"team", "data"}};
  s.job.timeout = absl::Minutes(3);
  s.overlap_policy = OverlapPolicy::kBufferOne;
  s.catchup_window = absl::Minutes(5);
  s.next_run_time = next_fire;
  s.next_fire_time = next_fire;
  s.created_by = "tester";
  return s;
}

TEST(ScheduleStoreTest, ASchemaSevenDatabaseUpgradesAndKeepsSchedulesAndTemplates) {
  testing::DatabaseAtSchema database(7);
  ASSERT_FALSE(HasFailure());
  const db::DatabaseConfig& config = database.config();
  const Job job = QueuedJob("before-upgrade");
  {
    // Connections of the old schema: their prepared statements' results have its columns.
    db::ConnectionPool old_pool(config);
    ASSERT_TRUE(db::PgJobStore(old_pool).CreateJobs({job}).ok());
  }
  db::ConnectionPool pool(config);
  db::PgJobStore jobs(pool);

  absl::StatusOr<int> reached = database.Upgrade();
  ASSERT_TRUE(reached.ok()) << reached.status();
  EXPECT_EQ(*reached, db::RequiredSchemaVersion());
  absl::StatusOr<Job> kept = jobs.GetJob(job.id);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->type, "before-upgrade");

  db::PgScheduleStore store(pool);
  // Due: one in the past; not due: one in the future, one with no next run.
  const Schedule due = ScheduleNamed("due", absl::Now() - absl::Seconds(5));
  ASSERT_TRUE(store.InsertSchedule(due).ok());
  ASSERT_TRUE(store.InsertSchedule(ScheduleNamed("later", absl::Now() + absl::Hours(1))).ok());
  ASSERT_TRUE(store.InsertSchedule(ScheduleNamed("done", std::nullopt)).ok());
  EXPECT_TRUE(
      absl::IsAlreadyExists(store.InsertSchedule(ScheduleNamed("due", std::nullopt)).status()));
  absl::StatusOr<DueSchedules> now_due = store.SchedulesDueNow(10);
  ASSERT_TRUE(now_due.ok()) << now_due.status();
  ASSERT_EQ(now_due->schedules.size(), 1u);
  const Schedule& read = now_due->schedules[0];
  EXPECT_EQ(read.name, "due");
  EXPECT_EQ(read.spec.cron, due.spec.cron);
  ASSERT_EQ(read.spec.intervals.size(), 1u);
  EXPECT_EQ(read.spec.intervals[0].offset, absl::Seconds(7));
  EXPECT_EQ(read.spec.time_zone, "Europe/Berlin");
  EXPECT_EQ(read.spec.end_time, due.spec.end_time);
  EXPECT_EQ(read.spec.jitter, absl::Milliseconds(250));
  EXPECT_EQ(read.job.payload_json, due.job.payload_json);
  EXPECT_EQ(read.job.labels, due.job.labels);
  EXPECT_EQ(read.job.timeout, absl::Minutes(3));
  EXPECT_EQ(read.overlap_policy, OverlapPolicy::kBufferOne);
  EXPECT_EQ(read.catchup_window, absl::Minutes(5));

  // A change that fails writes nothing; one that succeeds is read back.
  EXPECT_TRUE(absl::IsAborted(store
                                  .UpdateSchedule(due.id,
                                                  [](Schedule& s, absl::Time) {
                                                    s.runs_fired = 99;
                                                    return absl::AbortedError("no");
                                                  })
                                  .status()));
  absl::StatusOr<Schedule> paused = store.UpdateSchedule(due.id, [](Schedule& s, absl::Time) {
    s.paused = true;
    s.pause_note = "why";
    return absl::OkStatus();
  });
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->runs_fired, 0);
  EXPECT_EQ(store.SchedulesDueNow(10)->schedules.size(), 0u);  // paused ones are not due

  // A run is written only on the version read: a stale one writes nothing.
  db::PgScheduleStore& schedules = store;
  const Schedule later = *schedules.GetSchedule(due.id);
  Job run = QueuedJob("run");
  run.idempotency_key = "jobd/schedule/x/1";
  run.request_fingerprint.clear();
  Schedule after = later;
  after.runs_fired = 1;
  absl::StatusOr<JobStore::ScheduledRun> stale =
      jobs.CreateScheduledJob(run, after, later.version - 1);
  EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
  EXPECT_TRUE(absl::IsNotFound(jobs.GetJob(run.id).status()));
  absl::StatusOr<JobStore::ScheduledRun> fresh = jobs.CreateScheduledJob(run, after, later.version);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->created.created);
  EXPECT_EQ(fresh->version, later.version + 1);
  const Schedule written = *schedules.GetSchedule(due.id);
  EXPECT_EQ(written.last_job_id, run.id);
  EXPECT_EQ(written.runs_fired, 1);
  EXPECT_EQ(written.version, later.version + 1);

  JobTemplate shared;
  shared.id = core::NewJobId(absl::Now());
  shared.name = "crawl";
  shared.defaults.type = "crawl-shared";
  JobTemplate own = shared;
  own.id = core::NewJobId(absl::Now());
  own.workspace_id = "ws";
  own.defaults.type = "crawl-own";
  own.payload_schema_json = R"({"type":"object"})";
  ASSERT_TRUE(store.InsertTemplate(shared).ok());
  EXPECT_EQ(store.FindTemplate("ws", "crawl")->defaults.type, "crawl-shared");
  ASSERT_TRUE(store.InsertTemplate(own).ok());
  EXPECT_EQ(store.FindTemplate("ws", "crawl")->defaults.type, "crawl-own");
  EXPECT_EQ(store.FindTemplate("other", "crawl")->defaults.type, "crawl-shared");
  EXPECT_EQ(store.FindTemplate("ws", "crawl")->payload_schema_json, R"({"type":"object"})");
  EXPECT_TRUE(absl::IsNotFound(store.FindTemplate("ws", "nope").status()));
  absl::StatusOr<std::vector<JobTemplate>> listed = store.ListTemplates("ws", "", 10);
  ASSERT_TRUE(listed.ok() && listed->size() == 2u);
  EXPECT_EQ((*listed)[0].workspace_id, "");
  EXPECT_EQ(store.ListTemplates("ws", "crawl\n", 10)->size(), 1u);  // after the shared one
}

}  // namespace
}  // namespace jobd
