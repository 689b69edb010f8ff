// Schedule specs: checks a ScheduleSpec and computes its nominal run times (cron expressions
// matched against wall-clock time in the spec's zone, plus absolute intervals).
//
// Cron: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, or a
// macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly). Vixie day rule:
// when neither day field starts with `*` (or `?`), a day matches if either field matches.
// Day-of-week 0 and 7 are Sunday (SUN ending a range is 7: FRI-SUN); open-ended forms (`*`,
// `a/n`) run to 6 so Sunday is not doubled. Resolution is 1 s.
//
// Daylight saving (so that a transition neither loses nor doubles a run):
// - A wall-clock time that does not exist (spring-forward gap) fires once at the transition
//   instant, the first real instant after the gap. All skipped times of one gap collapse into
//   that one run, together with a run at the first wall-clock time after the gap.
// - A wall-clock time that happens twice (fall-back) fires once, at its first occurrence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "db/model/schedule.h"

namespace jobd::core {

class CompiledSpec {
 public:
  // Checks and compiles. Errors are InvalidArgument, the message starting with the field path
  // ("spec.cron[0]: minute: 61 is out of range 0-59").
  static absl::StatusOr<CompiledSpec> Compile(const ScheduleSpec& spec);

  // The first nominal run time strictly after `after`, within [start_time, end_time]; nullopt
  // when there is none (past end_time). Crons are searched 400 years ahead, a whole cycle of
  // the calendar, so rare ones (February 29 on a Sunday) are not lost.
  std::optional<absl::Time> NextAfter(absl::Time after) const;
  // Up to n next times strictly after `after`, ascending.
  std::vector<absl::Time> Next(absl::Time after, int n) const;
  // The delay of the run at `nominal`: deterministic in (seed, nominal), in [0, jitter) with
  // 1 ms resolution; zero when jitter is zero.
  absl::Duration JitterFor(absl::string_view seed, absl::Time nominal) const;

 private:
  // One cron expression as bit sets: bit v set when value v matches.
  struct Cron {
    uint64_t seconds = 0;
    uint64_t minutes = 0;
    uint64_t hours = 0;
    uint64_t days_of_month = 0;  // bits 1-31
    uint64_t months = 0;         // bits 1-12
    uint64_t days_of_week = 0;   // bits 0-6, 0 = Sunday
    bool day_or = false;         // both day fields restricted: either may match

    bool DayMatches(absl::CivilDay day) const;
    // The first matching wall-clock time >= from, up to the end of year_limit.
    std::optional<absl::CivilSecond> NextMatch(absl::CivilSecond from, int64_t year_limit) const;
  };

  CompiledSpec() = default;
  static absl::StatusOr<Cron> ParseCron(absl::string_view expression);
  // The first run of `cron` after `after` (or at it when `inclusive`).
  std::optional<absl::Time> CronNext(const Cron& cron, absl::Time after, bool inclusive) const;

  std::vector<Cron> crons_;
  std::vector<IntervalSpec> intervals_;
  absl::TimeZone zone_;
  std::optional<absl::Time> start_time_;
  std::optional<absl::Time> end_time_;
  absl::Duration jitter_;
};

}  // namespace jobd::core
