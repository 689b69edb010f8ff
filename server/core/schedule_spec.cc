#include "server/core/schedule_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace jobd::core {
namespace {

constexpr size_t kMaxCrons = 10;
constexpr size_t kMaxIntervals = 10;
constexpr size_t kMaxExpressionBytes = 256;
constexpr size_t kMaxTimeZoneBytes = 64;
constexpr absl::Duration kMaxEvery = absl::Hours(24 * 366);
constexpr absl::Duration kMaxJitter = absl::Hours(24);
// The Gregorian calendar repeats every 400 years, so a cron without a match within 400 years
// has none at all; a shorter horizon would lose rare but real runs (February 29 on a Sunday
// can be 40 years apart).
constexpr int64_t kHorizonYears = 400;

// Times outside these bounds are not searched (keeps civil and Duration arithmetic finite).
constexpr absl::Time kMinTime = absl::FromUnixSeconds(-62135596800);  // 0001-01-01Z
constexpr absl::Time kMaxTime = absl::FromUnixSeconds(221845392000);  // 9000-01-01Z

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  const char* name;
  int min;
  int max;                   // largest value accepted
  int open_max;              // where `*` and `a/n` end (day-of-week: 6, as 7 repeats Sunday)
  const char* const* names;  // value min + i, or nullptr
  int name_count;
  const char* name_kind;  // for "is not a number or ..."
  bool day_field;         // accepts `?`
};

const Field kSecond = {"second", 0, 59, 59, nullptr, 0, nullptr, false};
const Field kMinute = {"minute", 0, 59, 59, nullptr, 0, nullptr, false};
const Field kHour = {"hour", 0, 23, 23, nullptr, 0, nullptr, false};
const Field kDayOfMonth = {"day-of-month", 1, 31, 31, nullptr, 0, nullptr, true};
const Field kMonth = {"month", 1, 12, 12, kMonthNames, 12, "month name", false};
const Field kDayOfWeek = {"day-of-week", 0, 7, 6, kDayNames, 7, "day name", true};

absl::Status FieldError(const Field& field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field.name, ": ", message));
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text), "\"");
}

// A number or (where the field has them) a name. `range_end`: day-of-week SUN ending a range
// means 7, so that FRI-SUN reads as intended.
absl::StatusOr<int> ParseValue(const Field& field, absl::string_view token, bool range_end) {
  if (!token.empty() &&
      std::all_of(token.begin(), token.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    int value = 0;
    if (token.size() > 6 || !absl::SimpleAtoi(token, &value) || value < field.min ||
        value > field.max) {
      return FieldError(field, absl::StrCat(token, " is out of range ", field.min, "-", field.max));
    }
    return value;
  }
  for (int i = 0; i < field.name_count; ++i) {
    if (absl::EqualsIgnoreCase(token, field.names[i])) {
      const int value = field.min + i;
      return range_end && &field == &kDayOfWeek && value == 0 ? 7 : value;
    }
  }
  return FieldError(field,
                    absl::StrCat(Quote(token), " is not a number", field.name_kind ? " or " : "",
                                 field.name_kind ? field.name_kind : ""));
}

// One field: a comma-separated list of `*`, `?`, a, a-b, each optionally with /step.
absl::StatusOr<uint64_t> ParseField(const Field& field, absl::string_view text) {
  uint64_t bits = 0;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) return FieldError(field, absl::StrCat("empty item in ", Quote(text)));
    const size_t slash = item.find('/');
    const absl::string_view base = item.substr(0, slash);
    const bool has_step = slash != absl::string_view::npos;
    const absl::string_view step_text = has_step ? item.substr(slash + 1) : absl::string_view();
    if (base.empty() || (has_step && (step_text.empty() || absl::StrContains(step_text, '/')))) {
      return FieldError(field, absl::StrCat("malformed item ", Quote(item)));
    }
    int lo = 0;
    int hi = 0;
    if (base == "*" || (field.day_field && base == "?")) {
      if (base == "?" && has_step) {
        return FieldError(field, absl::StrCat("malformed item ", Quote(item)));
      }
      lo = field.min;
      hi = field.open_max;
    } else if (const size_t dash = base.find('-'); dash != absl::string_view::npos) {
      const absl::string_view first = base.substr(0, dash);
      const absl::string_view last = base.substr(dash + 1);
      if (first.empty() || last.empty()) {
        return FieldError(field, absl::StrCat("malformed item ", Quote(item)));
      }
      absl::StatusOr<int> a = ParseValue(field, first, false);
      if (!a.ok()) return a.status();
      absl::StatusOr<int> b = ParseValue(field, last, true);
      if (!b.ok()) return b.status();
      if (*a > *b) return FieldError(field, absl::StrCat("range ", Quote(base), " is reversed"));
      lo = *a;
      hi = *b;
    } else {
      absl::StatusOr<int> a = ParseValue(field, base, false);
      if (!a.ok()) return a.status();
      lo = *a;
      hi = has_step ? std::max(*a, field.open_max) : *a;
    }
    int step = 1;
    if (has_step) {
      const int span = field.open_max - field.min + 1;
      const bool digits = std::all_of(step_text.begin(), step_text.end(),
                                      [](char c) { return absl::ascii_isdigit(c); });
      if (!digits) {
        return FieldError(field, absl::StrCat("step ", Quote(step_text), " in ", Quote(item),
                                              " is not a number"));
      }
      if (step_text.size() > 6 || !absl::SimpleAtoi(step_text, &step) || step < 1 || step > span) {
        return FieldError(field, absl::StrCat("step ", step_text, " in ", Quote(item),
                                              " is out of range 1-", span));
      }
    }
    for (int v = lo; v <= hi; v += step) {
      bits |= uint64_t{1} << (&field == &kDayOfWeek && v == 7 ? 0 : v);
    }
  }
  return bits;
}

// The smallest set bit >= from, or -1.
int NextBit(uint64_t bits, int from) {
  if (from > 63) return -1;
  const uint64_t rest = bits & (~uint64_t{0} << from);
  return rest == 0 ? -1 : __builtin_ctzll(rest);
}

bool HasBit(uint64_t bits, int value) { return (bits >> value) & 1; }

bool StartsStar(absl::string_view field) {
  return !field.empty() && (field[0] == '*' || field[0] == '?');
}

// IANA names only: LoadTimeZone would also read absolute paths, "../" escapes and
// "localtime" (the server's own zone), none of which a client may name.
bool IsSafeZoneName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxTimeZoneBytes || name == "localtime") return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

// The instant a matching wall-clock time fires at (see the DST rules in the header).
absl::Time Resolve(const absl::TimeZone& zone, absl::CivilSecond wall) {
  const absl::TimeZone::TimeInfo info = zone.At(wall);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

// The first run of `interval` after `after` (or at it when `inclusive`).
absl::Time IntervalNext(const IntervalSpec& interval, absl::Time after, bool inclusive) {
  absl::Duration rem;
  absl::IDivDuration(after - absl::UnixEpoch() - interval.offset, interval.every, &rem);
  if (rem < absl::ZeroDuration()) rem += interval.every;  // floor, not truncation
  const absl::Time at_or_before = after - rem;
  return inclusive && rem == absl::ZeroDuration() ? at_or_before : at_or_before + interval.every;
}

uint64_t Fnv1a(uint64_t hash, unsigned char byte) { return (hash ^ byte) * 1099511628211ULL; }

}  // namespace

bool CompiledSpec::Cron::DayMatches(absl::CivilDay day) const {
  const bool dom = HasBit(days_of_month, day.day());
  // absl::Weekday counts from Monday = 0; cron from Sunday = 0.
  const bool dow = HasBit(days_of_week, (static_cast<int>(absl::GetWeekday(day)) + 1) % 7);
  return day_or ? dom || dow : dom && dow;
}

// Field by field, largest first: a mismatch jumps to the next candidate of that field with
// all smaller fields reset, so years are crossed in a few hundred steps at most.
std::optional<absl::CivilSecond> CompiledSpec::Cron::NextMatch(absl::CivilSecond from,
                                                               int64_t year_limit) const {
  absl::CivilSecond c = from;
  while (c.year() <= year_limit) {
    if (!HasBit(months, c.month())) {
      const int month = NextBit(months, c.month());
      c = month < 0 ? absl::CivilSecond(c.year() + 1, 1, 1) : absl::CivilSecond(c.year(), month, 1);
      continue;
    }
    if (!DayMatches(absl::CivilDay(c))) {
      if (day_or) {  // either field may match: no shortcut, but a week always has a match
        c = absl::CivilSecond(absl::CivilDay(c) + 1);
        continue;
      }
      // Both must match: only the days in days_of_month are candidates.
      const int last_day = (absl::CivilDay(absl::CivilMonth(c) + 1) - 1).day();
      const int day = NextBit(days_of_month, c.day() + 1);
      c = day < 0 || day > last_day ? absl::CivilSecond(absl::CivilMonth(c) + 1)
                                    : absl::CivilSecond(c.year(), c.month(), day);
      continue;
    }
    if (!HasBit(hours, c.hour())) {
      const int hour = NextBit(hours, c.hour());
      c = hour < 0 ? absl::CivilSecond(absl::CivilDay(c) + 1)
                   : absl::CivilSecond(c.year(), c.month(), c.day(), hour, 0, 0);
      continue;
    }
    if (!HasBit(minutes, c.minute())) {
      const int minute = NextBit(minutes, c.minute());
      c = minute < 0 ? absl::CivilSecond(absl::CivilHour(c) + 1)
                     : absl::CivilSecond(c.year(), c.month(), c.day(), c.hour(), minute, 0);
      continue;
    }
    if (!HasBit(seconds, c.second())) {
      const int second = NextBit(seconds, c.second());
      c = second < 0
              ? absl::CivilSecond(absl::CivilMinute(c) + 1)
              : absl::CivilSecond(c.year(), c.month(), c.day(), c.hour(), c.minute(), second);
      continue;
    }
    return c;
  }
  return std::nullopt;
}

absl::StatusOr<CompiledSpec::Cron> CompiledSpec::ParseCron(absl::string_view expression) {
  if (expression.size() > kMaxExpressionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("longer than ", kMaxExpressionBytes, " bytes"));
  }
  absl::string_view text = absl::StripAsciiWhitespace(expression);
  if (text.empty()) return absl::InvalidArgumentError("is empty");
  if (text[0] == '@') {
    static const std::pair<const char*, const char*> kMacros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    const auto* macro = std::find_if(std::begin(kMacros), std::end(kMacros), [&](const auto& m) {
      return absl::EqualsIgnoreCase(text, m.first);
    });
    if (macro == std::end(kMacros)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown macro ", Quote(text)));
    }
    text = macro->second;
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
  if (fields.size() != 5 && fields.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat("expected 5 or 6 fields, got ", fields.size()));
  }
  if (fields.size() == 5) fields.insert(fields.begin(), "0");
  const Field* const kFields[] = {&kSecond, &kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
  uint64_t bits[6];
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<uint64_t> parsed = ParseField(*kFields[i], fields[i]);
    if (!parsed.ok()) return parsed.status();
    bits[i] = *parsed;
  }
  Cron cron;
  cron.seconds = bits[0];
  cron.minutes = bits[1];
  cron.hours = bits[2];
  cron.days_of_month = bits[3];
  cron.months = bits[4];
  cron.days_of_week = bits[5];
  cron.day_or = !StartsStar(fields[3]) && !StartsStar(fields[5]);
  return cron;
}

absl::StatusOr<CompiledSpec> CompiledSpec::Compile(const ScheduleSpec& spec) {
  if (spec.cron.size() > kMaxCrons) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.cron: at most ", kMaxCrons, " expressions, got ", spec.cron.size()));
  }
  if (spec.intervals.size() > kMaxIntervals) {
    return absl::InvalidArgumentError(absl::StrCat("spec.intervals: at most ", kMaxIntervals,
                                                   " intervals, got ", spec.intervals.size()));
  }
  if (spec.cron.empty() && spec.intervals.empty()) {
    return absl::InvalidArgumentError("spec: needs at least one cron expression or interval");
  }
  CompiledSpec compiled;
  for (size_t i = 0; i < spec.cron.size(); ++i) {
    const std::string path = absl::StrCat("spec.cron[", i, "]: ");
    absl::StatusOr<Cron> cron = ParseCron(spec.cron[i]);
    if (!cron.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, cron.status().message()));
    }
    // Civil matching only, so any start and zone give the same verdict.
    if (!cron->NextMatch(absl::CivilSecond(2000, 1, 1), 2000 + kHorizonYears)) {
      return absl::InvalidArgumentError(absl::StrCat(path, "never matches (e.g. February 30)"));
    }
    compiled.crons_.push_back(*cron);
  }
  for (size_t i = 0; i < spec.intervals.size(); ++i) {
    const IntervalSpec& interval = spec.intervals[i];
    const std::string path = absl::StrCat("spec.intervals[", i, "].");
    if (interval.every < absl::Seconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat(path, "every: must be at least 1s"));
    }
    if (interval.every > kMaxEvery) {
      return absl::InvalidArgumentError(absl::StrCat(path, "every: must be at most 366 days"));
    }
    if (interval.offset < absl::ZeroDuration() || interval.offset >= interval.every) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, "offset: must be at least 0 and less than every"));
    }
    compiled.intervals_.push_back(interval);
  }
  if (!spec.time_zone.empty()) {
    if (!IsSafeZoneName(spec.time_zone) || !absl::LoadTimeZone(spec.time_zone, &compiled.zone_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("spec.time_zone: unknown time zone ",
                       Quote(absl::string_view(spec.time_zone).substr(0, kMaxTimeZoneBytes))));
    }
  } else {
    compiled.zone_ = absl::UTCTimeZone();
  }
  if (spec.start_time && spec.end_time && *spec.end_time <= *spec.start_time) {
    return absl::InvalidArgumentError("spec.end_time: must be after start_time");
  }
  if (spec.jitter < absl::ZeroDuration() || spec.jitter > kMaxJitter) {
    return absl::InvalidArgumentError("spec.jitter: must be between 0 and 24h");
  }
  compiled.start_time_ = spec.start_time;
  compiled.end_time_ = spec.end_time;
  compiled.jitter_ = spec.jitter;
  return compiled;
}

std::optional<absl::Time> CompiledSpec::CronNext(const Cron& cron, absl::Time after,
                                                 bool inclusive) const {
  // Runs are whole seconds, so "at or after t" is "after t - 1s" for a whole-second t.
  if (inclusive && after == absl::FromUnixSeconds(absl::ToUnixSeconds(after))) {
    after -= absl::Seconds(1);
  }
  const absl::CivilSecond now = zone_.At(after).cs;
  absl::CivilSecond from = now + 1;
  const absl::TimeZone::TimeInfo info = zone_.At(now);
  if (info.kind == absl::TimeZone::TimeInfo::REPEATED && after >= info.trans) {
    // In the second pass of a repeated hour: its wall-clock times fired in the first pass.
    from = zone_.At(info.trans - absl::Seconds(1)).cs + 1;
  }
  const int64_t year_limit = from.year() + kHorizonYears;
  // Wall-clock order is instant order under the rules in the header, so the loop normally
  // ends at its first match; it guards the cases where a match still resolves <= after.
  while (std::optional<absl::CivilSecond> wall = cron.NextMatch(from, year_limit)) {
    const absl::Time t = Resolve(zone_, *wall);
    if (t > after) return t;
    from = *wall + 1;
  }
  return std::nullopt;
}

std::optional<absl::Time> CompiledSpec::NextAfter(absl::Time after) const {
  if (after < kMinTime) after = kMinTime;
  if (end_time_ && after >= *end_time_) return std::nullopt;
  bool inclusive = false;  // start_time itself may be a run
  if (start_time_ && after < *start_time_) {
    after = *start_time_;
    inclusive = true;
  }
  if (after >= kMaxTime) return std::nullopt;
  std::optional<absl::Time> best;
  for (const Cron& cron : crons_) {
    const std::optional<absl::Time> t = CronNext(cron, after, inclusive);
    if (t && (!best || *t < *best)) best = t;
  }
  for (const IntervalSpec& interval : intervals_) {
    const absl::Time t = IntervalNext(interval, after, inclusive);
    if (!best || t < *best) best = t;
  }
  if (best && end_time_ && *best > *end_time_) return std::nullopt;
  return best;
}

std::vector<absl::Time> CompiledSpec::Next(absl::Time after, int n) const {
  std::vector<absl::Time> times;
  while (static_cast<int>(times.size()) < n) {
    const std::optional<absl::Time> t = NextAfter(after);
    if (!t) break;
    times.push_back(*t);
    after = *t;
  }
  return times;
}

absl::Duration CompiledSpec::JitterFor(absl::string_view seed, absl::Time nominal) const {
  const int64_t range_ms = absl::ToInt64Milliseconds(jitter_);
  if (range_ms <= 0) return absl::ZeroDuration();
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (char c : seed) hash = Fnv1a(hash, static_cast<unsigned char>(c));
  const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(nominal));
  for (int i = 0; i < 8; ++i) hash = Fnv1a(hash, static_cast<unsigned char>(millis >> (8 * i)));
  // FNV's low bits mix poorly (the lowest is a plain parity) and the modulo below reads them;
  // the MurmurHash3 finalizer spreads the high bits down.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  hash *= 0xc4ceb9fe1a85ec53ULL;
  hash ^= hash >> 33;
  return absl::Milliseconds(static_cast<int64_t>(hash % static_cast<uint64_t>(range_ms)));
}

}  // namespace jobd::core
