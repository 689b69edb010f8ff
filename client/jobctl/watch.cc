#include "client/jobctl/watch.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <sys/ioctl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "client/jobctl/args.h"
#include "client/jobctl/output.h"
#include "client/resumable_watch.h"

namespace jobd::jobctl {
namespace {

constexpr int kBarCells = 20;
constexpr int kDefaultTerminalWidth = 80;
// Below this a bar is useless anyway; keeps the arithmetic away from zero.
constexpr int kMinBarWidth = 20;
constexpr absl::Duration kBarTick = absl::Seconds(1);

// Control characters as C escapes (\n, \t, \x1b), so that one event stays one line and
// cannot move the cursor; other bytes, UTF-8 included, are kept.
std::string EscapeControl(absl::string_view text, bool quoting) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else if (quoting && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", EscapeControl(text, /*quoting=*/true), "\"");
}

// Columns of UTF-8 text, counting each code point as one (wide characters are rare in
// progress messages; being off by a few there only shortens the bar's line).
int Columns(absl::string_view text) {
  int n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The first `columns` code points of UTF-8 text (never half a character).
std::string TakeColumns(absl::string_view text, int columns) {
  size_t end = 0;
  int taken = 0;
  while (end < text.size()) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80) {
      if (taken == columns) break;
      ++taken;
    }
    ++end;
  }
  return std::string(text.substr(0, end));
}

// Shortened to `columns` with "..." when it does not fit.
std::string Truncate(absl::string_view text, int columns) {
  if (Columns(text) <= columns) return std::string(text);
  if (columns <= 3) return TakeColumns(text, columns);
  return absl::StrCat(TakeColumns(text, columns - 3), "...");
}

// From start_time (else create_time) to finish_time (else `at`).
std::optional<absl::Duration> Elapsed(const v1::Job& job, absl::Time at) {
  std::optional<absl::Time> start;
  if (job.has_start_time()) {
    start = FromProto(job.start_time());
  } else if (job.has_create_time()) {
    start = FromProto(job.create_time());
  }
  if (!start) return std::nullopt;
  const absl::Time end = job.has_finish_time() ? FromProto(job.finish_time()) : at;
  return end - *start;
}

std::optional<absl::Duration> Remaining(const v1::Job& job, absl::Time at) {
  if (!job.has_estimated_finish_time() || client::IsTerminal(job.state())) return std::nullopt;
  return FromProto(job.estimated_finish_time()) - at;
}

// error_message is the reason of the last failure or of the cancel; while a later attempt
// runs or after success it is history, not news.
bool ShowsError(v1::JobState state) {
  return state == v1::JOB_STATE_SCHEDULED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

// "attempt 2", "elapsed 1m05s", "eta 30s": what the line and the bar show after the percent.
std::vector<std::string> Details(const v1::Job& job, absl::Time at) {
  std::vector<std::string> details;
  if (job.attempt() > 1) details.push_back(absl::StrCat("attempt ", job.attempt()));
  if (std::optional<absl::Duration> e = Elapsed(job, at)) {
    details.push_back(absl::StrCat("elapsed ", FormatElapsed(*e)));
  }
  if (std::optional<absl::Duration> r = Remaining(job, at)) {
    details.push_back(absl::StrCat("eta ", FormatElapsed(*r)));
  }
  return details;
}

int TerminalWidth(FILE* out) {
  struct winsize size {};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kDefaultTerminalWidth;
}

// ANSI: carriage return, then erase to the end of the line.
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

// ---- rendering -----------------------------------------------------------------------------

int ExitCodeForFinalState(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED ? kExitJobSucceeded : kExitJobNotSucceeded;
}

std::string FormatPercent(float percent) {
  const double p = std::clamp(static_cast<double>(percent), 0.0, 100.0);
  double tenths = std::round(p * 10);
  // 99.96 is not done: it must not read 100.
  if (tenths >= 1000 && p < 100) tenths = 999;
  const int64_t t = static_cast<int64_t>(tenths);
  if (t % 10 == 0) return absl::StrCat(t / 10);
  return absl::StrCat(t / 10, ".", t % 10);
}

std::string FormatElapsed(absl::Duration d) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
}

std::string LevelName(v1::MessageLevel level) {
  return std::string(absl::StripPrefix(v1::MessageLevel_Name(level), "MESSAGE_LEVEL_"));
}

std::string FormatEventLine(const v1::JobEvent& event, absl::Time now) {
  std::string line = absl::StrCat("#", event.sequence(), " ");
  if (event.kind() == v1::JOB_EVENT_KIND_MESSAGE) {
    absl::StrAppend(&line, LevelName(event.message().level()), " ", Quote(event.message().text()));
    return line;
  }
  const v1::Job& job = event.job();
  const absl::Time at = event.has_time() ? FromProto(event.time()) : now;
  absl::StrAppend(&line, StateName(job.state()), " ", FormatPercent(job.progress_percent()), "%");
  if (!job.progress_message().empty()) absl::StrAppend(&line, " ", Quote(job.progress_message()));
  for (const std::string& detail : Details(job, at)) absl::StrAppend(&line, " ", detail);
  if (ShowsError(job.state()) && !job.error_message().empty()) {
    absl::StrAppend(&line, " error ", Quote(job.error_message()));
  }
  if (event.kind() == v1::JOB_EVENT_KIND_SNAPSHOT) absl::StrAppend(&line, " (snapshot)");
  if (event.folded_progress_events() > 0) {
    absl::StrAppend(&line, " (", event.folded_progress_events(), " earlier folded in)");
  }
  return line;
}

std::string FormatMessageLine(const v1::JobMessage& message) {
  return absl::StrCat(LevelName(message.level()), " ",
                      EscapeControl(message.text(), /*quoting=*/false));
}

std::string FormatBar(const v1::Job& job, absl::Time now, int width) {
  const int limit = std::max(width, kMinBarWidth) - 1;
  const double p = std::clamp(static_cast<double>(job.progress_percent()), 0.0, 100.0);
  const int filled = static_cast<int>(p / 100 * kBarCells);
  const std::string head =
      absl::StrFormat("%s [%s%s] %4s", StateName(job.state()), std::string(filled, '#'),
                      std::string(kBarCells - filled, '.'),
                      absl::StrCat(FormatPercent(job.progress_percent()), "%"));
  std::string tail;
  for (const std::string& detail : Details(job, now)) absl::StrAppend(&tail, "  ", detail);

  // The message gets what is left; below 4 columns ("x...") it is left out.
  const std::string message = EscapeControl(job.progress_message(), /*quoting=*/false);
  const int room = limit - Columns(head) - Columns(tail) - 1;
  std::string line = head;
  if (!message.empty() && room >= 4) absl::StrAppend(&line, " ", Truncate(message, room));
  absl::StrAppend(&line, tail);
  return Truncate(line, limit);
}

// ---- output --------------------------------------------------------------------------------

WatchPrinter::WatchPrinter(WatchDisplay display, FILE* out) : display_(display), out_(out) {
  if (display_ == WatchDisplay::kBar) ticker_ = std::thread([this] { Tick(); });
}

WatchPrinter::~WatchPrinter() { Finish(); }

void WatchPrinter::Event(const v1::JobEvent& event) {
  switch (display_) {
    case WatchDisplay::kNone:
      return;
    case WatchDisplay::kJson: {
      absl::StatusOr<std::string> json = FormatJsonLine(event);
      if (!json.ok()) return Warning(json.status().ToString());
      absl::MutexLock lock(&mu_);
      std::fprintf(out_, "%s\n", json->c_str());
      std::fflush(out_);
      return;
    }
    case WatchDisplay::kLines: {
      const std::string line = FormatEventLine(event, absl::Now());
      absl::MutexLock lock(&mu_);
      std::fprintf(out_, "%s\n", line.c_str());
      std::fflush(out_);
      return;
    }
    case WatchDisplay::kBar: {
      absl::MutexLock lock(&mu_);
      if (event.has_job()) job_ = event.job();
      if (event.kind() == v1::JOB_EVENT_KIND_MESSAGE) {
        ClearBarLocked();
        std::fprintf(out_, "%s\n", FormatMessageLine(event.message()).c_str());
      }
      DrawBarLocked();
      return;
    }
  }
}

void WatchPrinter::Warning(absl::string_view text) {
  absl::MutexLock lock(&mu_);
  // The bar and stderr usually share the terminal: take the bar away, then put it back.
  if (display_ == WatchDisplay::kBar && job_) ClearBarLocked();
  std::fprintf(stderr, "jobctl: %s\n", std::string(text).c_str());
  std::fflush(stderr);
  if (display_ == WatchDisplay::kBar && !finished_) DrawBarLocked();
}

void WatchPrinter::Finish() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    if (display_ == WatchDisplay::kBar && job_) {
      DrawBarLocked();
      std::fputs("\n", out_);
      std::fflush(out_);
    }
  }
  if (ticker_.joinable()) ticker_.join();
}

void WatchPrinter::DrawBarLocked() {
  if (!job_) return;
  std::fprintf(out_, "%s%s", kClearLine,
               FormatBar(*job_, absl::Now(), TerminalWidth(out_)).c_str());
  std::fflush(out_);
}

void WatchPrinter::ClearBarLocked() {
  std::fputs(kClearLine, out_);
  std::fflush(out_);
}

void WatchPrinter::Tick() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&finished_), kBarTick)) DrawBarLocked();
}

WatchDisplay DisplayFor(FILE* out, bool json) {
  if (json) return WatchDisplay::kJson;
  return isatty(fileno(out)) ? WatchDisplay::kBar : WatchDisplay::kLines;
}

}  // namespace jobd::jobctl
