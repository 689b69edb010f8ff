// Schedules against real jobd processes: exactly one job per nominal time across replicas
// (one of them killed), overlap policies, catch-up after an outage, pause, trigger, backfill,
// jitter and end time, the workspace quota, and refusals.
#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

// How early a job's create_time may read against its run's nominal time: runs are judged due
// on the database's now(), but create_time is the replica's estimate of that clock (its
// offset measured at a round trip's midpoint), which may be off by about half a round trip.
constexpr double kClockEstimateSlackMs = 5;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

// Whole seconds, so that a run's nominal time is exact.
absl::Time NextWholeSecond(absl::Duration ahead) {
  return absl::Ceil(absl::Now() + ahead - absl::UnixEpoch(), absl::Seconds(1)) + absl::UnixEpoch();
}

class ScheduleTest : public JobdTest {
 protected:
  void SetUp() override {
    JobdTest::SetUp();
    if (HasFatalFailure()) return;
    schedules_ = v1::ScheduleService::NewStub(jobd_->channel());
  }
  void TearDown() override {
    schedules_.reset();
    JobdTest::TearDown();
  }

  // A schedule of workspace "ws" making jobs of `type` every second (6-field cron).
  v1::Schedule EverySecond(const std::string& name, const std::string& type) {
    v1::Schedule s;
    s.set_workspace_id("ws");
    s.set_name(name);
    s.mutable_spec()->add_cron("* * * * * *");
    s.mutable_job()->set_type(type);
    return s;
  }

  grpc::Status Create(const v1::Schedule& schedule, v1::Schedule* out,
                      v1::ScheduleService::Stub* stub = nullptr) {
    v1::CreateScheduleRequest request;
    *request.mutable_schedule() = schedule;
    v1::CreateScheduleResponse response;
    grpc::Status status =
        (stub ? stub : schedules_.get())->CreateSchedule(Ctx().get(), request, &response);
    if (out != nullptr) *out = response.schedule();
    return status;
  }

  v1::Schedule Made(const v1::Schedule& schedule) {
    v1::Schedule out;
    grpc::Status status = Create(schedule, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  v1::Schedule GetSchedule(const std::string& id) {
    v1::GetScheduleRequest request;
    request.set_id(id);
    v1::GetScheduleResponse response;
    grpc::Status status = schedules_->GetSchedule(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.schedule();
  }

  // The schedule's jobs: scheduled-time label -> count, from the database.
  std::map<std::string, int> RunsOf(const std::string& schedule_id) {
    pqxx::connection conn(database_->url());
    pqxx::nontransaction tx(conn);
    std::map<std::string, int> runs;
    for (const pqxx::row& row :
         tx.exec_params("SELECT labels->>'jobd/scheduled-time', count(*) FROM jobs "
                        "WHERE labels->>'jobd/schedule' = $1 GROUP BY 1",
                        schedule_id)) {
      runs[row[0].c_str()] = row[1].as<int>();
    }
    return runs;
  }

  // Jobs of the schedule in `state` (a state name as stored: "queued", "cancelled").
  int JobsIn(const std::string& schedule_id, const std::string& state) {
    return std::stoi(
        Sql(absl::StrCat("SELECT count(*) FROM jobs WHERE labels->>'jobd/schedule' = '",
                         schedule_id, "' AND state = '", state, "'")));
  }

  std::unique_ptr<v1::ScheduleService::Stub> schedules_;
};

TEST_F(ScheduleTest, FiresExactlyOncePerSecondAcrossThreeReplicasWithOneKilled) {
  auto second = std::make_unique<JobdProcess>(database_->url());
  auto third = std::make_unique<JobdProcess>(database_->url());
  ASSERT_TRUE(second->running() && third->running());
  const absl::Time start = NextWholeSecond(absl::Seconds(2));
  const absl::Time end = start + absl::Seconds(19);  // 20 runs, both ends included
  v1::Schedule s = EverySecond("every-second", "tick");
  s.set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  *s.mutable_spec()->mutable_start_time() = ToProtoTime(start);
  *s.mutable_spec()->mutable_end_time() = ToProtoTime(end);
  const v1::Schedule made = Made(s);
  ASSERT_EQ(made.next_run_times_size(), 5);
  EXPECT_EQ(ToTime(made.next_run_times(0)), start);

  // Mid-run, the third replica dies without a word.
  ASSERT_TRUE(WaitFor([&] { return absl::Now() > start + absl::Seconds(9); }, absl::Seconds(30)));
  ASSERT_EQ(kill(third->pid(), SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return RunsOf(made.id()).size() >= 20; }, absl::Seconds(30)))
      << RunsOf(made.id()).size() << " runs";
  // A little longer: nothing more may come (the end time), and nothing twice.
  ASSERT_TRUE(WaitFor([&] { return absl::Now() > end + absl::Seconds(2); }, absl::Seconds(10)));
  const std::map<std::string, int> runs = RunsOf(made.id());
  ASSERT_EQ(runs.size(), 20u);
  int duplicates = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string nominal = Rfc3339(start + absl::Seconds(i));
    ASSERT_EQ(runs.count(nominal), 1u) << "no run for " << nominal;
    duplicates += runs.at(nominal) - 1;
  }
  EXPECT_EQ(duplicates, 0);
  // Firing delay from the nominal time, on the database's clock.
  pqxx::connection conn(database_->url());
  pqxx::nontransaction tx(conn);
  std::vector<double> delays_ms;
  for (const pqxx::row& row : tx.exec_params(
           "SELECT extract(epoch FROM create_time - (labels->>'jobd/scheduled-time')::timestamptz)"
           " * 1000 FROM jobs WHERE labels->>'jobd/schedule' = $1",
           made.id())) {
    delays_ms.push_back(row[0].as<double>());
  }
  std::sort(delays_ms.begin(), delays_ms.end());
  EXPECT_GE(delays_ms.front(), -kClockEstimateSlackMs) << "a run before its time";
  std::cerr << "schedule on 3 replicas (one killed): runs " << runs.size() << ", duplicates "
            << duplicates << ", firing delay p50 " << delays_ms[delays_ms.size() / 2] << " ms, max "
            << delays_ms.back() << " ms\n";
  const v1::Schedule after = GetSchedule(made.id());
  EXPECT_EQ(after.runs_fired(), 20);
  EXPECT_EQ(after.next_run_times_size(), 0);  // past the end
  EXPECT_EQ(ToTime(after.last_run_time()), end);
}

TEST_F(ScheduleTest, OverlapPolicies) {
  // No worker: every job stays QUEUED, so each run meets an active previous job.
  v1::Schedule skip = EverySecond("skip", "overlap-skip");
  v1::Schedule all = EverySecond("all", "overlap-all");
  all.set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  v1::Schedule buffer = EverySecond("buffer", "overlap-buffer");
  buffer.set_overlap_policy(v1::OVERLAP_POLICY_BUFFER_ONE);
  v1::Schedule cancel = EverySecond("cancel", "overlap-cancel");
  cancel.set_overlap_policy(v1::OVERLAP_POLICY_CANCEL_OTHER);
  const v1::Schedule made_skip = Made(skip), made_all = Made(all), made_buffer = Made(buffer),
                     made_cancel = Made(cancel);
  ASSERT_TRUE(
      WaitFor([&] { return GetSchedule(made_skip.id()).runs_skipped() >= 3; }, absl::Seconds(15)));
  // SKIP: one job, the rest skipped.
  EXPECT_EQ(RunsOf(made_skip.id()).size(), 1u);
  EXPECT_EQ(GetSchedule(made_skip.id()).last_skip_reason(), "the previous job was still active");
  // ALLOW_ALL: a job per run.
  EXPECT_GE(RunsOf(made_all.id()).size(), 3u);
  EXPECT_EQ(JobsIn(made_all.id(), "queued"), static_cast<int>(RunsOf(made_all.id()).size()));
  // CANCEL_OTHER: every job but the newest cancelled.
  ASSERT_TRUE(
      WaitFor([&] { return JobsIn(made_cancel.id(), "cancelled") >= 2; }, absl::Seconds(10)));
  EXPECT_EQ(JobsIn(made_cancel.id(), "queued"), 1);
  // BUFFER_ONE: one job, one run waiting; the job's end starts the waiting run at once.
  v1::Schedule waiting = GetSchedule(made_buffer.id());
  ASSERT_EQ(RunsOf(made_buffer.id()).size(), 1u);
  ASSERT_TRUE(waiting.has_buffered_run_time());
  EXPECT_GE(waiting.runs_skipped(), 1);
  v1::CancelJobRequest cancel_first;
  cancel_first.set_id(waiting.last_job_id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel_first, &cancelled).ok());
  const std::string buffered_time = Rfc3339(ToTime(waiting.buffered_run_time()));
  ASSERT_TRUE(
      WaitFor([&] { return RunsOf(made_buffer.id()).count(buffered_time) == 1; }, absl::Seconds(5)))
      << "the buffered run " << buffered_time << " did not start after the job ended";
  EXPECT_EQ(RunsOf(made_buffer.id()).size(), 2u);
}

TEST_F(ScheduleTest, ABufferedRunDoesNotEatTheRunsAfterIt) {
  // Every 3 s; the first job stays QUEUED, so the second run waits and later ones are due
  // at their own time only (a waiting run makes the schedule look again every second).
  v1::Schedule s = EverySecond("buffer-3s", "buffer-3s");
  s.mutable_spec()->clear_cron();
  s.mutable_spec()->add_intervals()->mutable_every()->set_seconds(3);
  s.set_overlap_policy(v1::OVERLAP_POLICY_BUFFER_ONE);
  const v1::Schedule made = Made(s);
  ASSERT_TRUE(
      WaitFor([&] { return GetSchedule(made.id()).has_buffered_run_time(); }, absl::Seconds(10)));
  const absl::Time buffered_at = absl::Now();
  ASSERT_TRUE(
      WaitFor([&] { return absl::Now() > buffered_at + absl::Seconds(2); }, absl::Seconds(5)));
  const v1::Schedule after = GetSchedule(made.id());
  EXPECT_EQ(RunsOf(made.id()).size(), 1u);
  // At most the one run after the waiting one has come and been skipped: none ran ahead.
  EXPECT_LE(after.runs_skipped(), 1);
  ASSERT_GE(after.next_run_times_size(), 1);
  EXPECT_LE(ToTime(after.next_run_times(0)), absl::Now() + absl::Seconds(3));
}

TEST_F(ScheduleTest, CatchesUpWithinTheWindowAfterAnOutageAndSkipsTheRest) {
  const absl::Time start = NextWholeSecond(absl::Seconds(1));
  v1::Schedule s = EverySecond("catch-up", "catch-up");
  s.set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  s.mutable_catchup_window()->set_seconds(3);
  *s.mutable_spec()->mutable_start_time() = ToProtoTime(start);
  const v1::Schedule made = Made(s);
  // Every jobd down before the first run, for about 8 runs.
  schedules_.reset();
  jobs_.reset();
  workers_.reset();
  health_.reset();
  ASSERT_EQ(jobd_->Stop(), 0);
  ASSERT_TRUE(WaitFor([&] { return absl::Now() > start + absl::Seconds(8); }, absl::Seconds(20)));
  const absl::Time restart = absl::Now();
  jobd_ = std::make_unique<JobdProcess>(database_->url());
  ASSERT_TRUE(jobd_->running());
  schedules_ = v1::ScheduleService::NewStub(jobd_->channel());
  ASSERT_TRUE(
      WaitFor([&] { return GetSchedule(made.id()).runs_skipped() > 0; }, absl::Seconds(20)));
  const v1::Schedule after = GetSchedule(made.id());
  const std::map<std::string, int> runs = RunsOf(made.id());
  ASSERT_FALSE(runs.empty());
  // The runs made are consecutive seconds from the first one kept; the ones before it were
  // skipped, each counted, and none was made.
  absl::Time first_made;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, runs.begin()->first, &first_made, nullptr));
  EXPECT_EQ(after.runs_skipped(), (first_made - start) / absl::Seconds(1));
  EXPECT_GE(first_made, restart - absl::Seconds(3) - absl::Seconds(1));
  EXPECT_LE(first_made, restart + absl::Seconds(3));
  int i = 0;
  for (const auto& [nominal, count] : runs) {
    EXPECT_EQ(nominal, Rfc3339(first_made + absl::Seconds(i++)));
    EXPECT_EQ(count, 1) << nominal;
  }
  EXPECT_EQ(after.last_skip_reason(), "missed: older than the catch-up window");
  std::cerr << "catch-up: skipped " << after.runs_skipped() << ", made " << runs.size() << "\n";
}

TEST_F(ScheduleTest, PauseResumeTriggerAndBackfill) {
  v1::Schedule s;
  s.set_workspace_id("ws");
  s.set_name("yearly");
  s.mutable_spec()->add_cron("@yearly");
  s.mutable_job()->set_type("report");
  (*s.mutable_job()->mutable_labels())["team"] = "data";
  const v1::Schedule made = Made(s);
  ASSERT_EQ(made.next_run_times_size(), 5);

  // Trigger: one job now, labelled, recorded as the last run.
  v1::TriggerScheduleRequest trigger;
  trigger.set_id(made.id());
  v1::TriggerScheduleResponse triggered;
  ASSERT_TRUE(schedules_->TriggerSchedule(Ctx().get(), trigger, &triggered).ok());
  EXPECT_EQ(triggered.job().type(), "report");
  EXPECT_EQ(triggered.job().labels().at("jobd/schedule"), made.id());
  EXPECT_EQ(triggered.job().labels().at("team"), "data");
  EXPECT_EQ(triggered.job().requested_by(), "schedule:yearly");
  v1::Schedule got = GetSchedule(made.id());
  EXPECT_EQ(got.last_job_id(), triggered.job().id());
  EXPECT_EQ(got.runs_fired(), 1);

  // Pause with a note: no next runs; resume: five again.
  v1::PauseScheduleRequest pause;
  pause.set_id(made.id());
  pause.set_note("migrating the warehouse");
  v1::PauseScheduleResponse paused;
  ASSERT_TRUE(schedules_->PauseSchedule(Ctx().get(), pause, &paused).ok());
  EXPECT_TRUE(paused.schedule().paused());
  EXPECT_EQ(paused.schedule().pause_note(), "migrating the warehouse");
  EXPECT_EQ(paused.schedule().next_run_times_size(), 0);
  v1::ResumeScheduleRequest resume;
  resume.set_id(made.id());
  v1::ResumeScheduleResponse resumed;
  ASSERT_TRUE(schedules_->ResumeSchedule(Ctx().get(), resume, &resumed).ok());
  EXPECT_FALSE(resumed.schedule().paused());
  EXPECT_EQ(resumed.schedule().pause_note(), "");
  ASSERT_EQ(resumed.schedule().next_run_times_size(), 5);

  // Backfill 2020..2023: four runs, each once however often asked.
  v1::BackfillScheduleRequest backfill;
  backfill.set_id(made.id());
  *backfill.mutable_start_time() = ToProtoTime(absl::FromUnixSeconds(1577836800));  // 2020-01-01
  *backfill.mutable_end_time() = ToProtoTime(absl::FromUnixSeconds(1672531200));    // 2023-01-01
  v1::BackfillScheduleResponse first, again;
  ASSERT_TRUE(schedules_->BackfillSchedule(Ctx().get(), backfill, &first).ok());
  ASSERT_EQ(first.jobs_size(), 4);
  EXPECT_EQ(first.jobs(0).labels().at("jobd/scheduled-time"), "2020-01-01T00:00:00Z");
  EXPECT_EQ(first.jobs(3).labels().at("jobd/scheduled-time"), "2023-01-01T00:00:00Z");
  ASSERT_TRUE(schedules_->BackfillSchedule(Ctx().get(), backfill, &again).ok());
  ASSERT_EQ(again.jobs_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(again.jobs(i).id(), first.jobs(i).id());
  EXPECT_EQ(RunsOf(made.id()).size(), 5u);  // the trigger's and four backfilled

  // A range of more than 1,000 runs is refused whole.
  v1::Schedule minutely = s;
  minutely.set_name("minutely");
  minutely.mutable_spec()->set_cron(0, "* * * * *");
  const v1::Schedule made_minutely = Made(minutely);
  backfill.set_id(made_minutely.id());
  grpc::Status too_many = schedules_->BackfillSchedule(Ctx().get(), backfill, &first);
  EXPECT_EQ(too_many.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_many.error_message(),
            "end_time: the range holds more than 1000 runs; backfill in parts");
  EXPECT_EQ(RunsOf(made_minutely.id()).size(), 0u);

  // Runs to come are the schedule's own.
  backfill.set_id(made.id());
  *backfill.mutable_end_time() = ToProtoTime(absl::Now() + absl::Hours(24 * 400));
  grpc::Status future = schedules_->BackfillSchedule(Ctx().get(), backfill, &first);
  EXPECT_EQ(future.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(future.error_message(), "end_time: must not be in the future");
}

TEST_F(ScheduleTest, CallersCannotUseTheLabelsAndKeysOfSchedules) {
  v1::CreateJobRequest request;
  request.set_workspace_id("ws");
  request.set_type("t");
  (*request.mutable_labels())["jobd/schedule"] = "forged";
  v1::CreateJobResponse response;
  grpc::Status labelled = jobs_->CreateJob(Ctx().get(), request, &response);
  EXPECT_EQ(labelled.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(labelled.error_message(),
            "labels: \"jobd/schedule\": keys starting with jobd/ are set by jobd");
  request.clear_labels();
  request.set_idempotency_key("jobd/schedule/x/2026-01-01T00:00:00Z");
  grpc::Status keyed = jobs_->CreateJob(Ctx().get(), request, &response);
  EXPECT_EQ(keyed.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(keyed.error_message(),
            "idempotency_key: must not start with jobd/ (jobd's schedules use those)");
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs"), "0");
}

TEST_F(ScheduleTest, JitterWithinBoundsAndEndTimeHonoured) {
  const absl::Time start = NextWholeSecond(absl::Seconds(2));
  v1::Schedule s = EverySecond("jittered", "jittered");
  s.set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  s.mutable_spec()->mutable_jitter()->set_nanos(500000000);
  *s.mutable_spec()->mutable_start_time() = ToProtoTime(start);
  *s.mutable_spec()->mutable_end_time() = ToProtoTime(start + absl::Seconds(3));
  const v1::Schedule made = Made(s);
  ASSERT_TRUE(WaitFor([&] { return absl::Now() > start + absl::Seconds(6); }, absl::Seconds(15)));
  const std::map<std::string, int> runs = RunsOf(made.id());
  ASSERT_EQ(runs.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(runs.count(Rfc3339(start + absl::Seconds(i))), 1u);
  // Each job was made no earlier than its nominal time (create_time may read a few ms early:
  // see kClockEstimateSlackMs) and within the jitter (plus the scheduler's own delay, under
  // a second here).
  EXPECT_EQ(
      Sql(absl::StrCat("SELECT count(*) FROM jobs WHERE labels->>'jobd/schedule' = '", made.id(),
                       "' AND (create_time < (labels->>'jobd/scheduled-time')::timestamptz"
                       " - interval '5 ms'"
                       " OR create_time > (labels->>'jobd/scheduled-time')::timestamptz"
                       " + interval '1500 ms')")),
      "0");
}

class ScheduleQuotaTest : public ScheduleTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_active_jobs_per_workspace=2"}; }
};

TEST_F(ScheduleQuotaTest, RunsObeyTheWorkspaceQuota) {
  v1::Schedule s = EverySecond("quota", "quota");
  s.set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  const v1::Schedule made = Made(s);
  ASSERT_TRUE(WaitFor([&] { return RunsOf(made.id()).size() >= 2; }, absl::Seconds(10)));
  ASSERT_TRUE(
      WaitFor([&] { return absl::StartsWith(GetSchedule(made.id()).last_skip_reason(), "quota"); },
              absl::Seconds(10)));
  EXPECT_EQ(RunsOf(made.id()).size(), 2u);
  // A place frees up: the waiting run is made.
  v1::CancelJobRequest cancel;
  cancel.set_id(GetSchedule(made.id()).last_job_id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(WaitFor([&] { return RunsOf(made.id()).size() == 3; }, absl::Seconds(5)));
}

TEST_F(ScheduleTest, RefusesBadSchedulesNamingTheField) {
  struct Case {
    std::function<void(v1::Schedule&)> change;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::Schedule& s) { s.mutable_spec()->set_cron(0, "61 * * * *"); },
       StatusCode::INVALID_ARGUMENT, "schedule.spec.cron[0]: minute: 61 is out of range 0-59"},
      {[](v1::Schedule& s) { s.mutable_spec()->set_time_zone("Mars/Base"); },
       StatusCode::INVALID_ARGUMENT, "schedule.spec.time_zone: unknown time zone \"Mars/Base\""},
      {[](v1::Schedule& s) { s.mutable_spec()->clear_cron(); }, StatusCode::INVALID_ARGUMENT,
       "schedule.spec: needs at least one cron expression or interval"},
      {[](v1::Schedule& s) { s.mutable_job()->clear_type(); }, StatusCode::INVALID_ARGUMENT,
       "schedule.job.type: is required (or job.template)"},
      {[](v1::Schedule& s) { (*s.mutable_job()->mutable_labels())["jobd/x"] = "1"; },
       StatusCode::INVALID_ARGUMENT,
       "schedule.job.labels: \"jobd/x\": keys starting with jobd/ are set by jobd"},
      {[](v1::Schedule& s) { s.mutable_job()->set_idempotency_key("k"); },
       StatusCode::INVALID_ARGUMENT, "schedule.job.idempotency_key: must be empty"},
      {[](v1::Schedule& s) { s.set_name("no spaces"); }, StatusCode::INVALID_ARGUMENT,
       "schedule.name: must be 1 to 128 characters of [A-Za-z0-9._-]"},
      {[](v1::Schedule& s) { s.mutable_job()->set_template_("missing"); }, StatusCode::NOT_FOUND,
       "job.template: \"missing\" is neither in workspace \"ws\" nor shared"},
      {[](v1::Schedule& s) { s.set_name("taken"); }, StatusCode::ALREADY_EXISTS,
       "schedule \"taken\" already exists"},
  };
  Made(EverySecond("taken", "t"));
  const std::string before = Sql("SELECT count(*) FROM schedules");
  for (const Case& c : cases) {
    v1::Schedule s = EverySecond("fine", "t");
    s.mutable_spec()->set_cron(0, "0 0 1 1 *");
    c.change(s);
    grpc::Status status = Create(s, nullptr);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_EQ(status.error_message(), c.message);
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM schedules"), before);  // nothing written
}

}  // namespace
}  // namespace jobd::testing
