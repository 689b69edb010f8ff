// jobctl schedules and templates: every flag into its request field, the update masks, the
// refusals (with their exact messages) and the tables.
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/jobctl/args.h"
#include "client/jobctl/schedules.h"
#include "client/jobctl/templates.h"
#include "tests/support/test_clock.h"
#include "tests/unit/jobctl_test_util.h"

namespace jobd::jobctl {
namespace {

using builder_test::ExpectError;
using builder_test::ExpectProto;
using builder_test::Proto;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// name, a cron expression and a type: the least a create needs.
ScheduleFlags MinimalSchedule() {
  ScheduleFlags flags;
  flags.workspace = "ws";
  flags.name = "nightly";
  flags.cron = {"0 2 * * *"};
  flags.type = "report.build";
  return flags;
}

// ---- schedules create ----------------------------------------------------------------------

TEST(BuildCreateSchedule, EveryFlagGoesToItsField) {
  ScheduleFlags flags;
  flags.workspace = "ws";
  flags.name = "nightly";
  flags.cron = {"0 2 * * *", "@hourly"};
  flags.intervals = {{"--every", "30s"}, {"--offset", "5s"}, {"--every", "1h"}};
  flags.time_zone = "Europe/Berlin";
  flags.start = "2027-01-01T00:00:00Z";
  flags.end = "2027-12-31T23:00:00+01:00";
  flags.jitter = "10s";
  flags.overlap = "buffer-one";
  flags.catchup_window = "1m";
  flags.type = "report.build";
  flags.template_name = "reports";
  flags.payload = R"({"rows": 10})";
  flags.priority = 5;
  flags.labels = {"team=search", "env=prod"};
  flags.paused = true;
  flags.note = "until the migration";
  ExpectProto(BuildCreateSchedule(flags), R"pb(
    schedule {
      workspace_id: "ws"
      name: "nightly"
      spec {
        cron: [ "0 2 * * *", "@hourly" ]
        intervals {
          every { seconds: 30 }
          offset { seconds: 5 }
        }
        intervals { every { seconds: 3600 } }
        time_zone: "Europe/Berlin"
        start_time { seconds: 1798761600 }
        end_time { seconds: 1830290400 }
        jitter { seconds: 10 }
      }
      job {
        type: "report.build"
        template: "reports"
        priority: 5
        payload {
          fields {
            key: "rows"
            value { number_value: 10 }
          }
        }
        labels { key: "env" value: "prod" }
        labels { key: "team" value: "search" }
      }
      overlap_policy: OVERLAP_POLICY_BUFFER_ONE
      catchup_window { seconds: 60 }
      paused: true
      pause_note: "until the migration"
    }
  )pb");
}

TEST(BuildCreateSchedule, FlagsNotGivenStayUnset) {
  ExpectProto(BuildCreateSchedule(MinimalSchedule()), R"pb(
    schedule {
      workspace_id: "ws"
      name: "nightly"
      spec { cron: "0 2 * * *" }
      job { type: "report.build" }
    }
  )pb");
}

TEST(BuildCreateSchedule, ATemplateInsteadOfAType) {
  ScheduleFlags flags = MinimalSchedule();
  flags.type.clear();
  flags.template_name = "reports";
  flags.cron.clear();
  flags.intervals = {{"--every", "15m"}, {"--offset", "0s"}};
  ExpectProto(BuildCreateSchedule(flags), R"pb(
    schedule {
      workspace_id: "ws"
      name: "nightly"
      spec {
        intervals {
          every { seconds: 900 }
          offset {}
        }
      }
      job { template: "reports" }
    }
  )pb");
}

TEST(ParseOverlap, TheFourPolicies) {
  EXPECT_EQ(*ParseOverlap("skip"), v1::OVERLAP_POLICY_SKIP);
  EXPECT_EQ(*ParseOverlap("buffer-one"), v1::OVERLAP_POLICY_BUFFER_ONE);
  EXPECT_EQ(*ParseOverlap("allow-all"), v1::OVERLAP_POLICY_ALLOW_ALL);
  EXPECT_EQ(*ParseOverlap("cancel-other"), v1::OVERLAP_POLICY_CANCEL_OTHER);
  EXPECT_EQ(*ParseOverlap("Cancel_Other"), v1::OVERLAP_POLICY_CANCEL_OTHER);
  for (const char* bad : {"unspecified", "buffer", "", "OVERLAP_POLICY_SKIP"}) {
    ExpectError(ParseOverlap(bad).status(),
                absl::StrCat("--overlap: unknown policy '", bad,
                             "' (use skip, buffer-one, allow-all or cancel-other)"));
  }
}

TEST(BuildCreateSchedule, RefusesMissingFlags) {
  ScheduleFlags flags = MinimalSchedule();
  flags.name.clear();
  ExpectError(BuildCreateSchedule(flags).status(), "--name is required");

  flags = MinimalSchedule();
  flags.cron.clear();
  ExpectError(BuildCreateSchedule(flags).status(), "--cron or --every is required");

  flags = MinimalSchedule();
  flags.type.clear();
  ExpectError(BuildCreateSchedule(flags).status(), "--type is required (or --template)");

  flags = MinimalSchedule();
  flags.note = "why";
  ExpectError(BuildCreateSchedule(flags).status(), "--note: only with --paused");
}

// The create of MinimalSchedule() changed by `set`: its error.
absl::Status CreateWith(const std::function<void(ScheduleFlags&)>& set) {
  ScheduleFlags flags = MinimalSchedule();
  set(flags);
  return BuildCreateSchedule(flags).status();
}

TEST(BuildCreateSchedule, RefusesBadDurationsNamingTheFlag) {
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--every", "soon"}};
              }),
              "--every: 'soon' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--every", "0s"}};
              }),
              "--every: must be positive");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.jitter = "a bit"; }),
              "--jitter: 'a bit' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.catchup_window = "-1m"; }),
              "--catchup-window: must not be negative");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.catchup_window = "1 minute"; }),
              "--catchup-window: '1 minute' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
}

TEST(BuildCreateSchedule, AnOffsetBelongsToTheEveryBeforeIt) {
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--offset", "5m"}, {"--every", "1h"}};
              }),
              "--offset: must follow an --every");
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--offset", "5m"}};
              }),
              "--offset: must follow an --every");
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--every", "1h"}, {"--offset", "5m"}, {"--offset", "6m"}};
              }),
              "--offset: one per --every");
  ExpectError(CreateWith([](ScheduleFlags& f) {
                f.intervals = {{"--every", "1h"}, {"--offset", "-5m"}};
              }),
              "--offset: must not be negative");
}

TEST(BuildCreateSchedule, RefusesBadTimesNamingTheFlag) {
  ExpectError(CreateWith([](ScheduleFlags& f) { f.start = "tomorrow"; }),
              "--start: 'tomorrow' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  // A delay is not a time here, nor is a date.
  ExpectError(CreateWith([](ScheduleFlags& f) { f.end = "1h"; }),
              "--end: '1h' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.end = "2027-01-01"; }),
              "--end: '2027-01-01' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.start = "infinite-future"; }),
              "--start: 'infinite-future' is outside years 1 to 9999");
}

TEST(BuildCreateSchedule, RefusesABadPolicyPayloadOrLabel) {
  ExpectError(CreateWith([](ScheduleFlags& f) { f.overlap = "queue"; }),
              "--overlap: unknown policy 'queue' (use skip, buffer-one, allow-all or "
              "cancel-other)");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.payload = "[1]"; }),
              R"(--payload: must be a JSON object, e.g. '{"rows": 10}')");
  ExpectError(CreateWith([](ScheduleFlags& f) { f.labels = {"team"}; }),
              "--label: 'team' is not key=value");
}

// ---- schedules update ----------------------------------------------------------------------

TEST(BuildUpdateSchedule, EachGroupOfFlagsNamesItsPath) {
  ScheduleFlags flags;
  flags.id = "s1";
  flags.name = "renamed";
  ExpectProto(BuildUpdateSchedule(flags), R"pb(
    schedule { id: "s1" name: "renamed" }
    update_mask { paths: "name" }
  )pb");

  flags = ScheduleFlags();
  flags.id = "s1";
  flags.intervals = {{"--every", "1h"}};
  flags.time_zone = "UTC";
  ExpectProto(BuildUpdateSchedule(flags), R"pb(
    schedule {
      id: "s1"
      spec {
        intervals { every { seconds: 3600 } }
        time_zone: "UTC"
      }
    }
    update_mask { paths: "spec" }
  )pb");

  flags = ScheduleFlags();
  flags.id = "s1";
  flags.template_name = "reports";
  flags.priority = 0;  // given, even if zero
  ExpectProto(BuildUpdateSchedule(flags), R"pb(
    schedule {
      id: "s1"
      job { template: "reports" }
    }
    update_mask { paths: "job" }
  )pb");

  flags = ScheduleFlags();
  flags.id = "s1";
  flags.overlap = "allow-all";
  ExpectProto(BuildUpdateSchedule(flags), R"pb(
    schedule { id: "s1" overlap_policy: OVERLAP_POLICY_ALLOW_ALL }
    update_mask { paths: "overlap_policy" }
  )pb");

  flags = ScheduleFlags();
  flags.id = "s1";
  flags.catchup_window = "0s";
  ExpectProto(BuildUpdateSchedule(flags), R"pb(
    schedule {
      id: "s1"
      catchup_window {}
    }
    update_mask { paths: "catchup_window" }
  )pb");
}

TEST(BuildUpdateSchedule, AllFlagsAllPathsInOrder) {
  ScheduleFlags flags = MinimalSchedule();
  flags.id = "s1";
  flags.jitter = "1s";
  flags.payload = "{}";
  flags.labels = {"a=b"};
  flags.overlap = "cancel-other";
  flags.catchup_window = "2m";
  absl::StatusOr<v1::UpdateScheduleRequest> request = BuildUpdateSchedule(flags);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(request->update_mask().paths(),
              ElementsAre("name", "spec", "job", "overlap_policy", "catchup_window"));
  EXPECT_EQ(request->schedule().workspace_id(), "");  // a schedule keeps its workspace
  EXPECT_EQ(request->schedule().spec().cron(0), "0 2 * * *");
  EXPECT_EQ(request->schedule().spec().jitter().seconds(), 1);
  EXPECT_EQ(request->schedule().job().type(), "report.build");
  EXPECT_EQ(request->schedule().job().labels().at("a"), "b");
  EXPECT_TRUE(request->schedule().job().has_payload());
  EXPECT_EQ(request->schedule().overlap_policy(), v1::OVERLAP_POLICY_CANCEL_OTHER);
  EXPECT_EQ(request->schedule().catchup_window().seconds(), 120);
}

TEST(BuildUpdateSchedule, ReplacingTheSpecOrTheJobNeedsAllOfIt) {
  ScheduleFlags flags;
  flags.id = "s1";
  ExpectError(BuildUpdateSchedule(flags).status(),
              "nothing to update: give --name, --cron, --every, --time-zone, --start, --end, "
              "--jitter, --type, --template, --payload, --priority, --label, --overlap or "
              "--catchup-window");

  flags.time_zone = "Europe/Berlin";
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--time-zone: replaces the whole spec, so --cron or --every is required too");
  flags.time_zone.clear();
  flags.jitter = "5s";
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--jitter: replaces the whole spec, so --cron or --every is required too");
  flags.jitter.clear();
  flags.intervals = {{"--offset", "5s"}};
  ExpectError(BuildUpdateSchedule(flags).status(), "--offset: must follow an --every");
  flags.intervals.clear();

  flags.priority = 3;
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--priority: replaces the whole job, so --type (or --template) is required too");
  flags.priority.reset();
  flags.labels = {"a=b"};
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--label: replaces the whole job, so --type (or --template) is required too");
  flags.labels.clear();

  flags.start = "yesterday";
  flags.cron = {"@daily"};
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--start: 'yesterday' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  flags.start.clear();
  flags.overlap = "never";
  ExpectError(BuildUpdateSchedule(flags).status(),
              "--overlap: unknown policy 'never' (use skip, buffer-one, allow-all or "
              "cancel-other)");
}

// ---- the other schedule commands -----------------------------------------------------------

TEST(ScheduleRequests, ListPauseAndIds) {
  ScheduleFlags flags;
  flags.id = "s1";
  flags.workspace = "ws";
  flags.note = "holiday";
  ExpectProto(absl::StatusOr<v1::ListSchedulesRequest>(BuildListSchedules(flags)),
              R"pb(workspace_id: "ws" page_size: 500)pb");
  ExpectProto(absl::StatusOr<v1::PauseScheduleRequest>(BuildPauseSchedule(flags)),
              R"pb(id: "s1" note: "holiday")pb");
  EXPECT_EQ(ScheduleIdRequest<v1::TriggerScheduleRequest>(flags).id(), "s1");
  EXPECT_EQ(ScheduleIdRequest<v1::DeleteScheduleRequest>(flags).id(), "s1");
}

TEST(BuildBackfillSchedule, TheRangeInRfc3339) {
  ScheduleFlags flags;
  flags.id = "s1";
  flags.start = "2027-01-01T00:00:00Z";
  flags.end = "2027-01-02T00:00:00.5Z";
  ExpectProto(BuildBackfillSchedule(flags), R"pb(
    id: "s1"
    start_time { seconds: 1798761600 }
    end_time { seconds: 1798848000 nanos: 500000000 }
  )pb");

  flags.end = "+1d";
  ExpectError(BuildBackfillSchedule(flags).status(),
              "--end: '+1d' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  flags.end.clear();
  ExpectError(BuildBackfillSchedule(flags).status(), "--end is required");
  flags.start.clear();
  ExpectError(BuildBackfillSchedule(flags).status(), "--start is required");
}

// ---- schedule output -----------------------------------------------------------------------

v1::Schedule ListedSchedule() {
  return Proto<v1::Schedule>(R"pb(
    id: "0190d2a4-1111-7000-8000-000000000001"
    name: "nightly"
    spec {
      cron: "0 2 * * *"
      time_zone: "Europe/Berlin"
      intervals {
        every { seconds: 5400 }
        offset { seconds: 300 }
      }
    }
    job { type: "report.build" }
    next_run_times { seconds: 1800003600 }
    next_run_times { seconds: 1800007200 }
    last_run_time { seconds: 1799996400 }
    runs_fired: 12
    runs_skipped: 3
    paused: true
    pause_note: "holiday"
  )pb");
}

TEST(FormatSpec, CronWithItsZoneThenIntervals) {
  EXPECT_EQ(FormatSpec(ListedSchedule().spec()),
            "0 2 * * * (Europe/Berlin); every 1h30m offset 5m");
  EXPECT_EQ(FormatSpec(Proto<v1::ScheduleSpec>(R"pb(cron: [ "@daily", "@hourly" ])pb")),
            "@daily; @hourly");
  EXPECT_EQ(FormatSpec(v1::ScheduleSpec()), "-");
}

TEST(FormatScheduleTable, OneRowPerSchedule) {
  google::protobuf::RepeatedPtrField<v1::Schedule> schedules;
  *schedules.Add() = ListedSchedule();
  v1::Schedule* fresh = schedules.Add();
  fresh->set_id("0190d2a4-1111-7000-8000-000000000002");
  fresh->set_name("tick");
  *fresh->mutable_spec() = Proto<v1::ScheduleSpec>("intervals { every { seconds: 30 } }");
  // The SPEC column is as wide as its widest cell, 48 characters, plus two.
  const std::string spec_header = "SPEC" + std::string(46, ' ');
  const std::string spec_tick = "every 30s" + std::string(41, ' ');
  EXPECT_EQ(FormatScheduleTable(schedules),
            "ID                                    NAME     " + spec_header +
                "NEXT RUN              LAST RUN              PAUSED  FIRED/SKIPPED\n"
                "0190d2a4-1111-7000-8000-000000000001  nightly  0 2 * * * (Europe/Berlin); "
                "every 1h30m offset 5m  2027-01-15T09:00:00Z  2027-01-15T07:00:00Z  yes     "
                "12/3\n"
                "0190d2a4-1111-7000-8000-000000000002  tick     " +
                spec_tick + "-                     -                     no      0/0\n");
  EXPECT_EQ(FormatScheduleTable({}), "ID  NAME  SPEC  NEXT RUN  LAST RUN  PAUSED  FIRED/SKIPPED\n");
}

TEST(FormatSchedule, KeyValueLines) {
  const std::string text = FormatSchedule(ListedSchedule(), test::kNow);
  EXPECT_THAT(text, HasSubstr("\nspec:              0 2 * * * (Europe/Berlin); every 1h30m "
                              "offset 5m\n"));
  EXPECT_THAT(text, HasSubstr("\ntime_zone:         Europe/Berlin\n"));
  EXPECT_THAT(text, HasSubstr("\njob_type:          report.build\n"));
  EXPECT_THAT(text, HasSubstr("\njob_template:      -\n"));
  EXPECT_THAT(text, HasSubstr("\noverlap:           skip\n"));
  EXPECT_THAT(text, HasSubstr("\npaused:            yes: holiday\n"));
  EXPECT_THAT(text, HasSubstr("\nnext_runs:         2027-01-15T09:00:00Z, 2027-01-15T10:00:00Z\n"));
  EXPECT_THAT(text, HasSubstr("\nlast_run:          2027-01-15T07:00:00Z (1h ago)\n"));
  EXPECT_THAT(text, HasSubstr("\nruns:              12 fired, 3 skipped\n"));
}

// ---- templates -----------------------------------------------------------------------------

TemplateFlags MinimalTemplate() {
  TemplateFlags flags;
  flags.workspace = "ws";
  flags.name = "reports";
  flags.type = "report.build";
  return flags;
}

TEST(BuildCreateTemplate, EveryFlagGoesToItsField) {
  TemplateFlags flags = MinimalTemplate();
  flags.description = "nightly reports";
  flags.payload = R"({"format": "pdf"})";
  flags.schema = R"({"type": "object", "required": ["format"]})";
  flags.priority = 4;
  flags.max_attempts = 5;
  flags.timeout = "30s";
  flags.ttl = "24h";
  flags.labels = {"team=bi"};
  ExpectProto(BuildCreateTemplate(flags), R"pb(
    job_template {
      workspace_id: "ws"
      name: "reports"
      description: "nightly reports"
      defaults {
        type: "report.build"
        payload {
          fields {
            key: "format"
            value { string_value: "pdf" }
          }
        }
        priority: 4
        retry_policy { max_attempts: 5 }
        timeout { seconds: 30 }
        ttl { seconds: 86400 }
        labels { key: "team" value: "bi" }
      }
      payload_schema {
        fields {
          key: "type"
          value { string_value: "object" }
        }
        fields {
          key: "required"
          value { list_value { values { string_value: "format" } } }
        }
      }
    }
  )pb");

  flags = MinimalTemplate();
  flags.workspace.clear();
  flags.shared = true;
  ExpectProto(BuildCreateTemplate(flags), R"pb(
    job_template {
      name: "reports"
      defaults { type: "report.build" }
    }
  )pb");
}

TEST(BuildCreateTemplate, SchemaFromAFile) {
  const std::string path = testing::TempDir() + "/jobctl_schedules_test.schema.json";
  std::ofstream(path) << R"({"type": "object"})"
                      << "\n";
  TemplateFlags flags = MinimalTemplate();
  flags.schema = "@" + path;
  absl::StatusOr<v1::CreateJobTemplateRequest> request = BuildCreateTemplate(flags);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->job_template().payload_schema().fields().at("type").string_value(), "object");
  std::remove(path.c_str());
  ExpectError(BuildCreateTemplate(flags).status(), "--schema: cannot read " + path);
}

TEST(BuildCreateTemplate, Refusals) {
  TemplateFlags flags = MinimalTemplate();
  flags.shared = true;
  ExpectError(BuildCreateTemplate(flags).status(), "--shared: not with --workspace");
  flags.shared = false;
  flags.workspace.clear();
  ExpectError(BuildCreateTemplate(flags).status(), "--workspace is required (or --shared)");

  flags = MinimalTemplate();
  flags.name.clear();
  ExpectError(BuildCreateTemplate(flags).status(), "--name is required");
  flags = MinimalTemplate();
  flags.type.clear();
  ExpectError(BuildCreateTemplate(flags).status(), "--type is required");

  flags = MinimalTemplate();
  flags.timeout = "forever";
  ExpectError(BuildCreateTemplate(flags).status(),
              "--timeout: 'forever' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  flags = MinimalTemplate();
  flags.ttl = "0s";
  ExpectError(BuildCreateTemplate(flags).status(), "--ttl: must be positive");
  flags = MinimalTemplate();
  flags.schema = "[]";
  ExpectError(BuildCreateTemplate(flags).status(),
              R"(--schema: must be a JSON object, e.g. '{"rows": 10}')");
  flags = MinimalTemplate();
  flags.schema = "{";
  absl::Status status = BuildCreateTemplate(flags).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("--schema: not valid JSON: "));
}

TEST(BuildUpdateTemplate, EachGroupOfFlagsNamesItsPath) {
  TemplateFlags flags;
  flags.id = "t1";
  ExpectError(BuildUpdateTemplate(flags).status(),
              "nothing to update: give --name, --description, --type, --payload, --priority, "
              "--max-attempts, --timeout, --ttl, --label or --schema");

  flags.description = "";  // given empty: clears it
  ExpectProto(BuildUpdateTemplate(flags), R"pb(
    job_template { id: "t1" }
    update_mask { paths: "description" }
  )pb");

  flags = TemplateFlags();
  flags.id = "t1";
  flags.schema = "";  // given empty: removes it
  ExpectProto(BuildUpdateTemplate(flags), R"pb(
    job_template { id: "t1" }
    update_mask { paths: "payload_schema" }
  )pb");

  flags = TemplateFlags();
  flags.id = "t1";
  flags.max_attempts = 2;
  ExpectError(BuildUpdateTemplate(flags).status(),
              "--max-attempts: replaces the whole defaults, so --type is required too");
  flags.type = "report.build";
  ExpectProto(BuildUpdateTemplate(flags), R"pb(
    job_template {
      id: "t1"
      defaults {
        type: "report.build"
        retry_policy { max_attempts: 2 }
      }
    }
    update_mask { paths: "defaults" }
  )pb");

  flags.name = "reports2";
  flags.description = "d";
  flags.schema = "{}";
  absl::StatusOr<v1::UpdateJobTemplateRequest> all = BuildUpdateTemplate(flags);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(all->update_mask().paths(),
              ElementsAre("name", "description", "defaults", "payload_schema"));
  EXPECT_TRUE(all->job_template().has_payload_schema());
  EXPECT_EQ(all->job_template().workspace_id(), "");  // a template keeps its workspace
}

TEST(BuildListTemplates, TheWorkspaceOrOnlyTheShared) {
  TemplateFlags flags;
  EXPECT_EQ(BuildListTemplates(flags).workspace_id(), "");
  flags.workspace = "ws";
  EXPECT_EQ(BuildListTemplates(flags).workspace_id(), "ws");
  EXPECT_EQ(BuildListTemplates(flags).page_size(), 500);
}

TEST(FormatTemplateTable, SharedAndTheDescriptionsFirstLine) {
  google::protobuf::RepeatedPtrField<v1::JobTemplate> templates;
  *templates.Add() = Proto<v1::JobTemplate>(R"pb(
    id: "t1"
    workspace_id: "ws"
    name: "reports"
    description: "nightly\nand more"
    defaults { type: "report.build" }
  )pb");
  *templates.Add() = Proto<v1::JobTemplate>(R"pb(
    id: "t2"
    name: "base"
    defaults { type: "noop" }
  )pb");
  v1::JobTemplate* long_one = templates.Add();
  long_one->set_id("t3");
  long_one->set_workspace_id("ws");
  long_one->set_name("long");
  long_one->set_description(std::string(70, 'x'));
  EXPECT_EQ(FormatTemplateTable(templates),
            "ID  WORKSPACE  NAME     TYPE          DESCRIPTION\n"
            "t1  ws         reports  report.build  nightly...\n"
            "t2  shared     base     noop          -\n"
            "t3  ws         long     -             " +
                std::string(57, 'x') + "...\n");
}

TEST(FormatTemplate, KeyValueLines) {
  const v1::JobTemplate shared = Proto<v1::JobTemplate>(R"pb(
    id: "t2"
    name: "base"
    defaults {
      type: "noop"
      retry_policy { max_attempts: 3 }
      ttl { seconds: 3600 }
    }
  )pb");
  const std::string text = FormatTemplate(shared, test::kNow);
  EXPECT_THAT(text, HasSubstr("workspace:       shared\n"));
  EXPECT_THAT(text, HasSubstr("max_attempts:    3\n"));
  EXPECT_THAT(text, HasSubstr("ttl:             1h\n"));
  EXPECT_THAT(text, HasSubstr("timeout:         -\n"));
  EXPECT_THAT(text, HasSubstr("payload_schema:  -\n"));
}

}  // namespace
}  // namespace jobd::jobctl
