// Schedule specs: cron grammar against known answers (UTC), intervals, bounds, unions, jitter
// and the refusals. Time zones and daylight saving: schedule_spec_dst_test.cc.
#include "server/core/schedule_spec.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace jobd::core {
namespace {

absl::Time T(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << error;
  return t;
}

std::string Format(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::vector<std::string> Format(const std::vector<absl::Time>& times) {
  std::vector<std::string> out;
  for (absl::Time t : times) out.push_back(Format(t));
  return out;
}

CompiledSpec MustCompile(const ScheduleSpec& spec) {
  absl::StatusOr<CompiledSpec> compiled = CompiledSpec::Compile(spec);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return *std::move(compiled);
}

CompiledSpec Cron(std::vector<std::string> cron) {
  ScheduleSpec spec;
  spec.cron = std::move(cron);
  return MustCompile(spec);
}

struct KnownAnswer {
  const char* cron;
  const char* after;
  std::vector<std::string> want;  // the next times, in order
};

TEST(CompiledSpec, CronKnownAnswersUtc) {
  const KnownAnswer cases[] = {
      {"* * * * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"}},
      {"* * * * *", "2026-01-01T00:00:30.5Z", {"2026-01-01T00:01:00Z"}},
      {"*/15 * * * *",
       "2026-01-01T00:07:00Z",
       {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:00:00Z"}},
      // Ranges, lists, stepped ranges, a/n.
      {"0 9-11,14 * * *",
       "2026-01-01T10:30:00Z",
       {"2026-01-01T11:00:00Z", "2026-01-01T14:00:00Z", "2026-01-02T09:00:00Z"}},
      {"5-20/5 * * * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z",
        "2026-01-01T00:20:00Z", "2026-01-01T01:05:00Z"}},
      {"10/20 * * * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z",
        "2026-01-01T01:10:00Z"}},
      {"0 0 1,15 * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-15T00:00:00Z"}},
      // Names, case-insensitive. 2026-01-02 is a Friday.
      {"0 9 * * MON-FRI",
       "2026-01-02T10:00:00Z",
       {"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z", "2026-01-07T09:00:00Z",
        "2026-01-08T09:00:00Z", "2026-01-09T09:00:00Z", "2026-01-12T09:00:00Z"}},
      {"0 0 1 JAN,jul *", "2026-01-01T00:00:00Z", {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
      {"0 12 * Feb-Mar sat",
       "2026-02-20T00:00:00Z",
       {"2026-02-21T12:00:00Z", "2026-02-28T12:00:00Z", "2026-03-07T12:00:00Z"}},
      // Six fields: seconds first.
      {"30 */20 * * * *",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:00:30Z", "2026-01-01T00:20:30Z", "2026-01-01T00:40:30Z",
        "2026-01-01T01:00:30Z"}},
      {"*/10 * * * * *", "2026-01-01T00:00:55Z", {"2026-01-01T00:01:00Z", "2026-01-01T00:01:10Z"}},
      // Macros. 2026-01-01 is a Thursday.
      {"@yearly", "2026-03-01T00:00:00Z", {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
      {"@annually", "2026-01-01T00:00:00Z", {"2027-01-01T00:00:00Z"}},
      {"@monthly", "2026-01-31T12:00:00Z", {"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}},
      {"@weekly", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
      {"@daily", "2026-01-01T00:00:00Z", {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"}},
      {"@MIDNIGHT", "2026-01-01T23:59:59Z", {"2026-01-02T00:00:00Z"}},
      {"@hourly", "2026-01-01T00:00:00Z", {"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}},
      // Both day fields restricted: either matches (Fridays, and the 13th, a Tuesday).
      {"0 0 13 * FRI",
       "2026-01-01T00:00:00Z",
       {"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
        "2026-01-16T00:00:00Z", "2026-01-23T00:00:00Z", "2026-01-30T00:00:00Z"}},
      // A day field starting with * is unrestricted: both must match (odd days and Friday).
      {"0 0 */2 * FRI",
       "2026-01-01T00:00:00Z",
       {"2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z", "2026-02-13T00:00:00Z"}},
      {"0 0 13 * ?", "2026-01-01T00:00:00Z", {"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"}},
      // 0 and 7 are Sunday; FRI-SUN wraps to Sunday.
      {"0 0 * * 7", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
      {"0 0 * * 0", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
      {"0 0 * * 5-7",
       "2026-01-01T00:00:00Z",
       {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
        "2026-01-09T00:00:00Z"}},
      {"0 0 * * FRI-SUN",
       "2026-01-01T00:00:00Z",
       {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
        "2026-01-09T00:00:00Z"}},
      // Month ends: the 31st skips 30-day months and February.
      {"0 0 31 * *",
       "2026-01-31T00:00:00Z",
       {"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
        "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z",
        "2027-01-31T00:00:00Z"}},
      // Leap days; 2100 is not a leap year.
      {"0 0 29 2 *",
       "2025-01-01T00:00:00Z",
       {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}},
      {"0 0 29 2 *", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
      // February 29 on a Sunday (day-of-week starts with *, so both day fields must match):
      // 40 years apart across 2100, far beyond a 10-year search.
      {"0 0 29 2 */7", "2088-03-01T00:00:00Z", {"2128-02-29T00:00:00Z"}},
      // Day-of-month starts with *, so both day fields must match: February 1 (or 29) on a
      // Sunday. February 1 is a Sunday 11 years apart.
      {"0 0 */28 2 */7",
       "2088-03-01T00:00:00Z",
       {"2093-02-01T00:00:00Z", "2099-02-01T00:00:00Z", "2105-02-01T00:00:00Z"}},
      {"0 0 */31 2 */7", "2015-02-02T00:00:00Z", {"2026-02-01T00:00:00Z", "2032-02-01T00:00:00Z"}},
      // Year rollover.
      {"59 23 31 12 *", "2026-12-31T23:59:00Z", {"2027-12-31T23:59:00Z"}},
      {"0 * * * *", "2026-12-31T23:30:00Z", {"2027-01-01T00:00:00Z", "2027-01-01T01:00:00Z"}},
      {"0 0 1 1 *", "2026-12-31T23:59:59Z", {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
  };
  for (const KnownAnswer& c : cases) {
    SCOPED_TRACE(c.cron);
    const CompiledSpec spec = Cron({c.cron});
    EXPECT_EQ(Format(spec.Next(T(c.after), static_cast<int>(c.want.size()))), c.want)
        << "after " << c.after;
    EXPECT_EQ(Format(*spec.NextAfter(T(c.after))), c.want[0]);
  }
}

TEST(CompiledSpec, IntervalsRunAtEpochPlusOffset) {
  ScheduleSpec spec;
  spec.intervals = {{absl::Hours(1), absl::Minutes(15)}};
  EXPECT_EQ(Format(MustCompile(spec).Next(T("2026-01-01T00:00:00Z"), 3)),
            (std::vector<std::string>{"2026-01-01T00:15:00Z", "2026-01-01T01:15:00Z",
                                      "2026-01-01T02:15:00Z"}));
  // Strictly after: a run time gives the next one.
  EXPECT_EQ(Format(*MustCompile(spec).NextAfter(T("2026-01-01T00:15:00Z"))),
            "2026-01-01T01:15:00Z");

  spec.intervals = {{absl::Seconds(90), absl::ZeroDuration()}};
  EXPECT_EQ(MustCompile(spec).Next(absl::FromUnixSeconds(100), 2),
            (std::vector<absl::Time>{absl::FromUnixSeconds(180), absl::FromUnixSeconds(270)}));
  // Before the epoch too.
  EXPECT_EQ(MustCompile(spec).NextAfter(absl::FromUnixSeconds(-100)), absl::FromUnixSeconds(-90));

  // Every 7 days from the epoch (a Thursday): Thursdays at 00:00Z, 2026-01-01 being one.
  spec.intervals = {{absl::Hours(24 * 7), absl::ZeroDuration()}};
  EXPECT_EQ(Format(MustCompile(spec).Next(T("2026-01-01T00:00:00Z"), 2)),
            (std::vector<std::string>{"2026-01-08T00:00:00Z", "2026-01-15T00:00:00Z"}));
}

TEST(CompiledSpec, StartAndEndAreInclusive) {
  ScheduleSpec spec;
  spec.cron = {"0 * * * *"};
  spec.start_time = T("2026-01-01T03:00:00Z");
  spec.end_time = T("2026-01-01T05:00:00Z");
  const CompiledSpec compiled = MustCompile(spec);
  EXPECT_EQ(Format(compiled.Next(T("2026-01-01T00:00:00Z"), 10)),
            (std::vector<std::string>{"2026-01-01T03:00:00Z", "2026-01-01T04:00:00Z",
                                      "2026-01-01T05:00:00Z"}));
  EXPECT_EQ(compiled.NextAfter(T("2026-01-01T05:00:00Z")), std::nullopt);
  EXPECT_EQ(compiled.NextAfter(T("2027-01-01T00:00:00Z")), std::nullopt);
  // Strictly after still holds at start_time itself.
  EXPECT_EQ(Format(*compiled.NextAfter(T("2026-01-01T03:00:00Z"))), "2026-01-01T04:00:00Z");

  spec.start_time = T("2026-01-01T03:30:00Z");
  EXPECT_EQ(Format(*MustCompile(spec).NextAfter(T("2026-01-01T00:00:00Z"))),
            "2026-01-01T04:00:00Z");

  ScheduleSpec interval;
  interval.intervals = {{absl::Minutes(10), absl::ZeroDuration()}};
  interval.start_time = T("2026-01-01T00:20:00Z");
  EXPECT_EQ(Format(*MustCompile(interval).NextAfter(T("2026-01-01T00:00:00Z"))),
            "2026-01-01T00:20:00Z");
  interval.start_time = T("2026-01-01T00:20:00.001Z");
  EXPECT_EQ(Format(*MustCompile(interval).NextAfter(T("2026-01-01T00:00:00Z"))),
            "2026-01-01T00:30:00Z");
}

TEST(CompiledSpec, UnionHasNoDuplicates) {
  ScheduleSpec spec;
  spec.cron = {"0 * * * *", "*/30 * * * *"};
  spec.intervals = {{absl::Minutes(20), absl::ZeroDuration()}};
  EXPECT_EQ(Format(MustCompile(spec).Next(T("2026-01-01T00:00:00Z"), 6)),
            (std::vector<std::string>{"2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z",
                                      "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z",
                                      "2026-01-01T01:20:00Z", "2026-01-01T01:30:00Z"}));
}

TEST(CompiledSpec, NextIsCheapForRareCrons) {
  const CompiledSpec spec = Cron({"0 0 29 2 *", "0 0 31 12 *"});
  EXPECT_EQ(spec.Next(T("2025-01-01T00:00:00Z"), 0).size(), 0u);
  const std::vector<absl::Time> times = spec.Next(T("2025-01-01T00:00:00Z"), 1000);
  ASSERT_EQ(times.size(), 1000u);  // ~800 years: field-wise jumps, not second steps
  EXPECT_EQ(Format(times[1]), "2026-12-31T00:00:00Z");
  EXPECT_EQ(Format(times[3]), "2028-02-29T00:00:00Z");
}

TEST(CompiledSpec, JitterIsDeterministicAndBounded) {
  ScheduleSpec spec;
  spec.cron = {"* * * * *"};
  EXPECT_EQ(MustCompile(spec).JitterFor("seed", T("2026-01-01T00:00:00Z")), absl::ZeroDuration());

  spec.jitter = absl::Minutes(10);
  const CompiledSpec compiled = MustCompile(spec);
  const absl::Time t0 = T("2026-01-01T00:00:00Z");
  std::set<int64_t> by_time;
  std::set<int64_t> by_seed;
  for (int i = 0; i < 200; ++i) {
    const absl::Time nominal = t0 + absl::Minutes(i);
    const absl::Duration d = compiled.JitterFor("schedule-1", nominal);
    EXPECT_EQ(d, compiled.JitterFor("schedule-1", nominal));
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LT(d, absl::Minutes(10));
    EXPECT_EQ(d, absl::Milliseconds(absl::ToInt64Milliseconds(d)));
    by_time.insert(absl::ToInt64Milliseconds(d));
    by_seed.insert(absl::ToInt64Milliseconds(compiled.JitterFor(absl::StrCat("schedule-", i), t0)));
  }
  // Pinned: a stored next_fire_time must not move when the code is rebuilt.
  EXPECT_EQ(compiled.JitterFor("schedule-1", t0), absl::Milliseconds(452497));
  EXPECT_EQ(compiled.JitterFor("", t0 + absl::Minutes(1)), absl::Milliseconds(303429));
  EXPECT_GT(by_time.size(), 190u);
  EXPECT_GT(by_seed.size(), 190u);
  // Spread over the whole range, not bunched at one end.
  EXPECT_LT(*by_time.begin(), 60 * 1000);
  EXPECT_GT(*by_time.rbegin(), 540 * 1000);

  // A tiny jitter still gives a spread (the low bits of the hash are mixed).
  spec.jitter = absl::Milliseconds(2);
  const CompiledSpec small = MustCompile(spec);
  std::set<int64_t> values;
  for (int i = 0; i < 20; ++i) {
    values.insert(absl::ToInt64Milliseconds(small.JitterFor("s", t0 + absl::Minutes(i))));
  }
  EXPECT_EQ(values, (std::set<int64_t>{0, 1}));
}

absl::Status CompileError(std::vector<std::string> cron, const std::string& time_zone = "") {
  ScheduleSpec spec;
  spec.cron = std::move(cron);
  spec.time_zone = time_zone;
  return CompiledSpec::Compile(spec).status();
}

TEST(CompiledSpec, RefusesBadCronWithFieldAndToken) {
  const std::pair<const char*, const char*> cases[] = {
      {"61 * * * *", "spec.cron[0]: minute: 61 is out of range 0-59"},
      {"0 24 * * *", "spec.cron[0]: hour: 24 is out of range 0-23"},
      {"0 0 0 * *", "spec.cron[0]: day-of-month: 0 is out of range 1-31"},
      {"0 0 1 13 *", "spec.cron[0]: month: 13 is out of range 1-12"},
      {"0 0 * * 8", "spec.cron[0]: day-of-week: 8 is out of range 0-7"},
      {"60 0 * * * *", "spec.cron[0]: second: 60 is out of range 0-59"},
      {"*/0 * * * *", "spec.cron[0]: minute: step 0 in \"*/0\" is out of range 1-60"},
      {"0 */25 * * *", "spec.cron[0]: hour: step 25 in \"*/25\" is out of range 1-24"},
      {"5-1 * * * *", "spec.cron[0]: minute: range \"5-1\" is reversed"},
      {"0 0 * * FRI-MON", "spec.cron[0]: day-of-week: range \"FRI-MON\" is reversed"},
      {"1,,2 * * * *", "spec.cron[0]: minute: empty item in \"1,,2\""},
      {"1, * * * *", "spec.cron[0]: minute: empty item in \"1,\""},
      {"0 0 * FOO *", "spec.cron[0]: month: \"FOO\" is not a number or month name"},
      {"0 0 * * FOO", "spec.cron[0]: day-of-week: \"FOO\" is not a number or day name"},
      {"FOO * * * *", "spec.cron[0]: minute: \"FOO\" is not a number"},
      {"? * * * *", "spec.cron[0]: minute: \"?\" is not a number"},
      {"*/x * * * *", "spec.cron[0]: minute: step \"x\" in \"*/x\" is not a number"},
      {"-5 * * * *", "spec.cron[0]: minute: malformed item \"-5\""},
      {"*/ * * * *", "spec.cron[0]: minute: malformed item \"*/\""},
      {"1/2/3 * * * *", "spec.cron[0]: minute: malformed item \"1/2/3\""},
      {"* * * *", "spec.cron[0]: expected 5 or 6 fields, got 4"},
      {"* * * * * * *", "spec.cron[0]: expected 5 or 6 fields, got 7"},
      {"", "spec.cron[0]: is empty"},
      {"   ", "spec.cron[0]: is empty"},
      {"@every5", "spec.cron[0]: unknown macro \"@every5\""},
      {"@daily 1", "spec.cron[0]: unknown macro \"@daily 1\""},
      {"0 0 30 2 *", "spec.cron[0]: never matches (e.g. February 30)"},
      {"0 0 31 4 *", "spec.cron[0]: never matches (e.g. February 30)"},
      {"0 0 30,31 2 *", "spec.cron[0]: never matches (e.g. February 30)"},
  };
  for (const auto& [cron, message] : cases) {
    SCOPED_TRACE(cron);
    const absl::Status status = CompileError({cron});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), message);
  }
  // The index names the expression; the leap day is fine.
  EXPECT_EQ(CompileError({"0 0 29 2 *", "* * * *"}).message(),
            "spec.cron[1]: expected 5 or 6 fields, got 4");
  EXPECT_EQ(CompileError({std::string(257, '*')}).message(), "spec.cron[0]: longer than 256 bytes");
  EXPECT_EQ(CompileError(std::vector<std::string>(11, "* * * * *")).message(),
            "spec.cron: at most 10 expressions, got 11");
}

TEST(CompiledSpec, RefusesBadSpecFields) {
  EXPECT_EQ(CompileError({"* * * * *"}, "Mars/Base").message(),
            "spec.time_zone: unknown time zone \"Mars/Base\"");
  // Only IANA names: no paths, no server-local zone.
  for (const char* zone : {"/etc/localtime", "../../../etc/localtime", "localtime",
                           "file:/usr/share/zoneinfo/UTC", "Europe//Berlin"}) {
    EXPECT_EQ(CompileError({"* * * * *"}, zone).message(),
              absl::StrCat("spec.time_zone: unknown time zone \"", zone, "\""));
  }
  EXPECT_TRUE(CompileError({"* * * * *"}, "Europe/Berlin").ok());
  EXPECT_TRUE(CompileError({"* * * * *"}, "UTC").ok());

  ScheduleSpec spec;
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec: needs at least one cron expression or interval");
  spec.intervals = {{absl::Milliseconds(999), absl::ZeroDuration()}};
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.intervals[0].every: must be at least 1s");
  spec.intervals = {{absl::Hours(1), absl::ZeroDuration()},
                    {absl::Hours(24 * 367), absl::ZeroDuration()}};
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.intervals[1].every: must be at most 366 days");
  spec.intervals = {{absl::Hours(1), absl::Hours(1)}};
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.intervals[0].offset: must be at least 0 and less than every");
  spec.intervals = {{absl::Hours(1), absl::Seconds(-1)}};
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.intervals[0].offset: must be at least 0 and less than every");
  spec.intervals = std::vector<IntervalSpec>(11, {absl::Hours(1), absl::ZeroDuration()});
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.intervals: at most 10 intervals, got 11");

  spec.intervals = {{absl::Hours(1), absl::ZeroDuration()}};
  spec.start_time = T("2026-01-01T00:00:00Z");
  spec.end_time = spec.start_time;
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.end_time: must be after start_time");
  spec.end_time.reset();
  spec.jitter = absl::Hours(24) + absl::Seconds(1);
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.jitter: must be between 0 and 24h");
  spec.jitter = -absl::Seconds(1);
  EXPECT_EQ(CompiledSpec::Compile(spec).status().message(),
            "spec.jitter: must be between 0 and 24h");
  spec.jitter = absl::Hours(24);
  EXPECT_TRUE(CompiledSpec::Compile(spec).ok());
}

}  // namespace
}  // namespace jobd::core
