// JobContext: what a handler reports (progress, messages, a checkpoint) until the Worker sends
// it, and the cancel or pause the Worker hears of; and CleanText for text the server takes.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/worker.h"

namespace jobd::client {
namespace {

// The server's limit on messages per report, and how many a context keeps while the server
// cannot be reached.
constexpr size_t kMaxMessagesPerReport = 100;
constexpr size_t kMaxPendingMessages = 1000;

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string CleanText(absl::string_view text, size_t max_bytes) {
  static constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  while (!text.empty()) {
    const size_t n = text[0] == '\0' ? 0 : Utf8SequenceLength(text);
    const absl::string_view piece = n > 0 ? text.substr(0, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece.data(), piece.size());
    text.remove_prefix(n > 0 ? n : 1);
  }
  return out;
}

JobContext::JobContext(v1::LeasedJob leased) : leased_(std::move(leased)) {
  // A heartbeat always carries progress, so it starts from what the job already shows.
  percent_ = leased_.job().progress_percent();
  message_ = leased_.job().progress_message();
}

void JobContext::Progress(float percent, std::string message) {
  absl::MutexLock lock(&mu_);
  percent_ = std::clamp(percent, 0.0f, 100.0f);
  message_ = CleanText(message, kMaxMessageTextBytes);
  dirty_ = true;
}

void JobContext::Log(v1::MessageLevel level, std::string text) {
  v1::JobMessage m;
  m.set_level(level);
  m.set_text(CleanText(text, kMaxMessageTextBytes));
  absl::MutexLock lock(&mu_);
  // The oldest go: a program's last lines usually say the most.
  if (messages_.size() >= kMaxPendingMessages) {
    messages_.pop_front();
    ++dropped_messages_;
  }
  messages_.push_back(std::move(m));
  dirty_ = true;
}

void JobContext::SaveCheckpoint(google::protobuf::Struct checkpoint) {
  absl::MutexLock lock(&mu_);
  checkpoint_ = std::move(checkpoint);
  dirty_ = true;
}

void JobContext::Pending(bool* dirty, bool* full_batch) const {
  absl::MutexLock lock(&mu_);
  *dirty = dirty_;
  *full_batch = messages_.size() >= kMaxMessagesPerReport;
}

bool JobContext::Cancelled() const {
  absl::MutexLock lock(&mu_);
  return !cancel_reason_.empty();
}

bool JobContext::Paused() const {
  absl::MutexLock lock(&mu_);
  return paused_;
}

bool JobContext::PausedWithUnsentCheckpoint() const {
  absl::MutexLock lock(&mu_);
  return paused_ && checkpoint_.has_value();
}

bool JobContext::WaitCancelled(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto cancelled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !cancel_reason_.empty(); };
  return mu_.AwaitWithTimeout(absl::Condition(&cancelled), timeout);
}

JobContext::Report JobContext::TakeReport() {
  Report report;
  report.request.set_job_id(job().id());
  report.request.set_lease_token(leased_.lease_token());
  absl::MutexLock lock(&mu_);
  report.request.set_progress_percent(percent_);
  report.request.set_progress_message(message_);
  if (dropped_messages_ > 0) {
    v1::JobMessage* note = report.request.add_messages();
    note->set_level(v1::MESSAGE_LEVEL_WARNING);
    note->set_text(absl::StrCat(dropped_messages_, " earlier messages dropped: more than ",
                                kMaxPendingMessages, " were waiting to be sent"));
    dropped_messages_ = 0;
  }
  while (!messages_.empty() &&
         static_cast<size_t>(report.request.messages_size()) < kMaxMessagesPerReport) {
    *report.request.add_messages() = std::move(messages_.front());
    messages_.pop_front();
  }
  if (checkpoint_) {
    *report.request.mutable_checkpoint() = std::move(*checkpoint_);
    checkpoint_.reset();
  }
  report.dirty = dirty_;
  dirty_ = !messages_.empty();  // the rest goes with the next report
  return report;
}

void JobContext::Restore(Report report) {
  absl::MutexLock lock(&mu_);
  // Back in front, in order, as far as the cap allows (the oldest go first).
  for (int i = report.request.messages_size() - 1; i >= 0 && messages_.size() < kMaxPendingMessages;
       --i) {
    messages_.push_front(std::move(*report.request.mutable_messages(i)));
  }
  if (report.request.has_checkpoint() && !checkpoint_) {
    checkpoint_ = std::move(*report.request.mutable_checkpoint());
  }
  dirty_ = dirty_ || report.dirty;
}

void JobContext::Cancel(std::string why) {
  absl::MutexLock lock(&mu_);
  if (cancel_reason_.empty()) cancel_reason_ = std::move(why);
}

void JobContext::Pause() {
  absl::MutexLock lock(&mu_);
  if (!cancel_reason_.empty()) return;
  cancel_reason_ = "job paused";
  paused_ = true;
}

std::string JobContext::CancelReason() const {
  absl::MutexLock lock(&mu_);
  return cancel_reason_;
}

// --- Worker ----------------------------------------------------------------------------------

}  // namespace jobd::client
