// Schedule specs in time zones: wall-clock matching and the daylight-saving rules (a skipped
// time fires once at the transition, a repeated time once at its first occurrence).
// America/New_York: EST UTC-5, EDT UTC-4; 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z),
// 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). Europe/Berlin: CET UTC+1, CEST UTC+2;
// 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z), 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "server/core/schedule_spec.h"

namespace jobd::core {
namespace {

absl::Time DstTime(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << error;
  return t;
}

std::vector<std::string> DstFormat(const std::vector<absl::Time>& times) {
  std::vector<std::string> out;
  for (absl::Time t : times) {
    out.push_back(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()));
  }
  return out;
}

CompiledSpec DstCompile(const ScheduleSpec& spec) {
  absl::StatusOr<CompiledSpec> compiled = CompiledSpec::Compile(spec);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return *std::move(compiled);
}

struct ZonedAnswer {
  const char* zone;
  const char* cron;
  const char* after;
  std::vector<std::string> want;
};

constexpr char kNewYork[] = "America/New_York";
constexpr char kBerlin[] = "Europe/Berlin";

TEST(CompiledSpecDst, KnownAnswers) {
  const ZonedAnswer cases[] = {
      // Spring forward, New York: 02:30 does not exist on 03-08 and fires at 03:00 EDT.
      {kNewYork,
       "30 2 * * *",
       "2026-03-06T12:00:00Z",
       {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
      // Two skipped times collapse into one run.
      {kNewYork,
       "15,45 2 * * *",
       "2026-03-07T12:00:00Z",
       {"2026-03-08T07:00:00Z", "2026-03-09T06:15:00Z", "2026-03-09T06:45:00Z"}},
      // ... and so do a skipped time and the first time after the gap.
      {kNewYork,
       "0 2,3 * * *",
       "2026-03-07T12:00:00Z",
       {"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"}},
      {kNewYork,
       "*/30 * * * *",
       "2026-03-08T06:00:00Z",
       {"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
        "2026-03-08T08:00:00Z"}},
      {kNewYork,
       "* * * * *",
       "2026-03-08T06:58:00Z",
       {"2026-03-08T06:59:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:01:00Z"}},
      // Fall back, New York: 01:30 happens twice on 11-01 and fires at the first (EDT).
      {kNewYork,
       "30 1 * * *",
       "2026-10-31T12:00:00Z",
       {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
      {kNewYork, "30 1 * * *", "2026-11-01T05:30:00Z", {"2026-11-02T06:30:00Z"}},
      {kNewYork, "30 1 * * *", "2026-11-01T05:00:00Z", {"2026-11-01T05:30:00Z"}},
      // From inside the second pass of the repeated hour.
      {kNewYork, "30 1 * * *", "2026-11-01T06:10:00Z", {"2026-11-02T06:30:00Z"}},
      {kNewYork,
       "*/30 * * * *",
       "2026-11-01T06:00:00Z",
       {"2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
      {kNewYork,
       "*/30 * * * *",
       "2026-11-01T04:00:00Z",
       {"2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z",
        "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
      {kNewYork, "0 9 * * *", "2026-01-15T00:00:00Z", {"2026-01-15T14:00:00Z"}},
      {kNewYork, "0 9 * * *", "2026-07-15T00:00:00Z", {"2026-07-15T13:00:00Z"}},
      // Six fields: second resolution through the gap.
      {kNewYork,
       "*/20 59 1,3 * * *",
       "2026-03-08T06:59:30Z",
       {"2026-03-08T06:59:40Z", "2026-03-08T07:59:00Z", "2026-03-08T07:59:20Z"}},
      // Spring forward, Berlin: 02:30 does not exist on 03-29 and fires at 03:00 CEST.
      {kBerlin,
       "30 2 * * *",
       "2026-03-28T12:00:00Z",
       {"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
      {kBerlin,
       "*/30 * * * *",
       "2026-03-29T00:15:00Z",
       {"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
      // Fall back, Berlin: 02:30 happens twice on 10-25 and fires at the first (CEST).
      {kBerlin,
       "30 2 * * *",
       "2026-10-24T12:00:00Z",
       {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
      {kBerlin,
       "*/30 * * * *",
       "2026-10-24T23:45:00Z",
       {"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z",
        "2026-10-25T02:30:00Z"}},
      // 09:00 Berlin is 08:00Z in winter (CET) and 07:00Z in summer (CEST).
      {kBerlin, "0 9 * * *", "2026-01-15T00:00:00Z", {"2026-01-15T08:00:00Z"}},
      {kBerlin, "0 9 * * *", "2026-07-15T00:00:00Z", {"2026-07-15T07:00:00Z"}},
      {kBerlin,
       "0 9 * * *",
       "2026-03-27T12:00:00Z",
       {"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}},
      {kBerlin,
       "0 9 * * *",
       "2026-10-24T12:00:00Z",
       {"2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"}},
      // A half-hour offset without daylight saving.
      {"Asia/Kolkata",
       "0 9 * * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T03:30:00Z", "2026-01-02T03:30:00Z"}},
      // The day boundary is the zone's: 23:30 on 12-31 in New York is 04:30Z on 01-01.
      {kNewYork, "30 23 31 12 *", "2026-06-01T00:00:00Z", {"2027-01-01T04:30:00Z"}},
      {"UTC", "30 23 31 12 *", "2026-06-01T00:00:00Z", {"2026-12-31T23:30:00Z"}},
  };
  for (const ZonedAnswer& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.zone, " ", c.cron, " after ", c.after));
    ScheduleSpec spec;
    spec.cron = {c.cron};
    spec.time_zone = c.zone;
    const CompiledSpec compiled = DstCompile(spec);
    EXPECT_EQ(DstFormat(compiled.Next(DstTime(c.after), static_cast<int>(c.want.size()))), c.want);
  }
}

TEST(CompiledSpecDst, StartTimeInsideTransitions) {
  ScheduleSpec spec;
  spec.time_zone = kNewYork;
  spec.cron = {"30 2 * * *"};
  // Inclusive start at the instant a skipped time fires.
  spec.start_time = DstTime("2026-03-08T07:00:00Z");
  EXPECT_EQ(DstFormat(DstCompile(spec).Next(DstTime("2026-01-01T00:00:00Z"), 2)),
            (std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));

  // A start in the second pass of 01:30 does not bring back the run of the first pass.
  spec.cron = {"30 1 * * *"};
  spec.start_time = DstTime("2026-11-01T06:30:00Z");
  EXPECT_EQ(DstFormat(DstCompile(spec).Next(DstTime("2026-01-01T00:00:00Z"), 1)),
            (std::vector<std::string>{"2026-11-02T06:30:00Z"}));
  spec.start_time = DstTime("2026-11-01T05:30:00Z");
  EXPECT_EQ(DstFormat(DstCompile(spec).Next(DstTime("2026-01-01T00:00:00Z"), 1)),
            (std::vector<std::string>{"2026-11-01T05:30:00Z"}));
}

TEST(CompiledSpecDst, IntervalsIgnoreTheZone) {
  ScheduleSpec spec;
  spec.time_zone = kNewYork;
  spec.intervals = {{absl::Hours(1), absl::ZeroDuration()}};
  EXPECT_EQ(DstFormat(DstCompile(spec).Next(DstTime("2026-03-08T05:30:00Z"), 3)),
            (std::vector<std::string>{"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                                      "2026-03-08T08:00:00Z"}));
}

TEST(CompiledSpecDst, EveryMinuteAcrossAYearIsStrictlyIncreasing) {
  // A whole year of a dense cron through both transitions: strictly increasing times, one per
  // wall-clock minute except that the 60 skipped minutes of March 8 share the run of 03:00.
  ScheduleSpec spec;
  spec.time_zone = kNewYork;
  spec.cron = {"*/1 * * * *"};
  const CompiledSpec compiled = DstCompile(spec);
  const absl::Time start = DstTime("2026-01-01T05:00:00Z");  // 2026-01-01 00:00 EST
  const absl::Time end = DstTime("2027-01-01T05:00:00Z");
  absl::Time t = start;
  int64_t runs = 0;
  while (true) {
    const std::optional<absl::Time> next = compiled.NextAfter(t);
    ASSERT_TRUE(next.has_value());
    ASSERT_GT(*next, t);
    if (*next > end) break;
    t = *next;
    ++runs;
  }
  EXPECT_EQ(runs, 365 * 1440 - 60);
}

}  // namespace
}  // namespace jobd::core
