#include "server/core/event_fetcher.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/core/ids.h"
#include "server/core/log.h"
#include "server/core/notify_payloads.h"
#include "server/core/publishing_job_store.h"

namespace jobd::core {
namespace {

constexpr int32_t kFetchLimit = 2000;    // events per query
constexpr size_t kBackstopChunk = 1000;  // jobs per sequence query

void Merge(std::unordered_map<std::string, EventRange>& into, const EventRange& range) {
  auto [it, inserted] = into.emplace(range.job_id, range);
  if (inserted) return;
  it->second.after_sequence = std::min(it->second.after_sequence, range.after_sequence);
  it->second.last_sequence = std::max(it->second.last_sequence, range.last_sequence);
}

}  // namespace

std::vector<EventRange> ParseEventHints(const std::string& payload) {
  std::vector<EventRange> out;
  for (absl::string_view entry : absl::StrSplit(payload, ',', absl::SkipEmpty())) {
    // A uuid has dashes too: the id is everything before the last ':'.
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) continue;
    std::string id(entry.substr(0, colon));
    std::pair<absl::string_view, absl::string_view> range =
        absl::StrSplit(entry.substr(colon + 1), absl::MaxSplits('-', 1));
    EventRange parsed;
    if (!IsUuid(id) || !absl::SimpleAtoi(range.first, &parsed.after_sequence) ||
        !absl::SimpleAtoi(range.second, &parsed.last_sequence) || parsed.after_sequence < 0 ||
        parsed.last_sequence <= parsed.after_sequence) {
      continue;
    }
    parsed.job_id = std::move(id);
    out.push_back(std::move(parsed));
  }
  return out;
}

std::vector<std::string> FormatEventHints(const std::vector<EventRange>& ranges, size_t max_bytes) {
  std::vector<std::string> entries;
  entries.reserve(ranges.size());
  for (const EventRange& range : ranges) {
    entries.push_back(
        absl::StrCat(range.job_id, ":", range.after_sequence, "-", range.last_sequence));
  }
  return JoinIntoPayloads(entries, max_bytes);
}

EventFetcher::EventFetcher(JobStore& store, EventBus& bus, absl::Duration poll_interval)
    : store_(store), bus_(bus), poll_interval_(poll_interval) {}

EventFetcher::~EventFetcher() { Stop(); }

void EventFetcher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventFetcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventFetcher::Hint(const std::vector<EventRange>& ranges) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const EventRange& range : ranges) Merge(hints_, range);
  }
  wake_.notify_one();
}

void EventFetcher::CheckNow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_now_ = true;
  }
  wake_.notify_one();
}

void EventFetcher::Loop() {
  absl::Time next_backstop = absl::Now() + poll_interval_;
  for (;;) {
    std::unordered_map<std::string, EventRange> hints;
    bool backstop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, absl::ToChronoMicroseconds(next_backstop - absl::Now()),
                     [this] { return stopping_ || check_now_ || !hints_.empty(); });
      if (stopping_) return;
      hints.swap(hints_);
      backstop = check_now_ || absl::Now() >= next_backstop;
      check_now_ = false;
    }
    if (!hints.empty()) {
      std::vector<EventRange> ranges;
      ranges.reserve(hints.size());
      for (auto& [id, range] : hints) ranges.push_back(std::move(range));
      Fetch(ranges);
    }
    if (backstop) {
      Backstop();
      next_backstop = absl::Now() + poll_interval_;
    }
  }
}

void EventFetcher::Fetch(const std::vector<EventRange>& hints) {
  std::vector<EventRange> wanted;
  for (const EventRange& hint : hints) {
    if (std::optional<EventRange> w = bus_.Wanted(hint)) wanted.push_back(std::move(*w));
  }
  while (!wanted.empty()) {
    absl::StatusOr<std::vector<RecordedEvent>> events = store_.ReadEvents(wanted, kFetchLimit);
    if (!events.ok()) return Failed(events.status());
    if (events->empty()) return;
    // A full page may end inside one write of its last job: leave that job's events to the
    // next page, so a terminal event never arrives without the messages of its write.
    const bool full = events->size() == static_cast<size_t>(kFetchLimit);
    std::optional<EventRange> held_back;
    if (full && events->front().event.job_id != events->back().event.job_id) {
      const std::string last_job = events->back().event.job_id;
      while (events->back().event.job_id == last_job) {
        held_back = EventRange{last_job, events->back().event.sequence - 1, 0};
        events->pop_back();
      }
    }
    std::vector<std::string> ids;
    for (const RecordedEvent& e : *events) {
      if (ids.empty() || ids.back() != e.event.job_id) ids.push_back(e.event.job_id);
    }
    absl::StatusOr<std::vector<Job>> jobs = store_.GetJobs(ids);
    if (!jobs.ok()) return Failed(jobs.status());
    std::unordered_map<std::string, std::shared_ptr<const Job>> bases;
    for (const Job& job : *jobs) bases.emplace(job.id, WatchedJob(job));
    std::vector<EventBatch> batches;
    std::unordered_map<std::string, int64_t> read_up_to;
    for (RecordedEvent& e : *events) {
      read_up_to[e.event.job_id] = e.event.sequence;
      auto base = bases.find(e.event.job_id);
      if (base == bases.end()) continue;  // deleted meanwhile
      auto out = std::make_shared<BusEvent>();
      out->job = base->second;
      out->previous_state = e.previous_state;
      out->event = std::move(e.event);
      if (batches.empty() || batches.back().back()->event.job_id != out->event.job_id) {
        batches.emplace_back();
      }
      batches.back().push_back(std::move(out));
    }
    bus_.Publish(std::move(batches));
    if (!full) return;
    // A full page: go on after what was published.
    if (held_back) read_up_to[held_back->job_id] = held_back->after_sequence;
    std::vector<EventRange> rest;
    for (EventRange& range : wanted) {
      auto read = read_up_to.find(range.job_id);
      if (read != read_up_to.end()) range.after_sequence = read->second;
      if (range.after_sequence < range.last_sequence) rest.push_back(std::move(range));
    }
    wanted.swap(rest);
  }
}

void EventFetcher::Failed(const absl::Status& status) {
  Log(LogLevel::kWarning, "reading events of other processes failed",
      {{"error", std::string(status.message())}});
  // Job watchers get these events from the backstop; workspace watchers cannot, and are told.
  bus_.FeedInterrupted();
}

void EventFetcher::Backstop() {
  std::vector<std::pair<std::string, int64_t>> watched = bus_.WatchedJobs();
  for (size_t start = 0; start < watched.size(); start += kBackstopChunk) {
    const size_t end = std::min(watched.size(), start + kBackstopChunk);
    std::unordered_map<std::string, int64_t> seen;
    std::vector<std::string> ids;
    for (size_t i = start; i < end; ++i) {
      seen.emplace(watched[i].first, watched[i].second);
      ids.push_back(watched[i].first);
    }
    absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> latest =
        store_.GetJobSequences(ids);
    if (!latest.ok()) return;
    std::vector<EventRange> behind;
    for (const auto& [id, sequence] : *latest) {
      auto it = seen.find(id);
      if (it != seen.end() && sequence > it->second) behind.push_back({id, it->second, sequence});
    }
    if (!behind.empty()) Fetch(behind);
  }
}

}  // namespace jobd::core
