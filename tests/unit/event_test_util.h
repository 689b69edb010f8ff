// Helpers shared by the event tests: waiting for a condition with a deadline, a WatchSink
// that records what a watch writes, an EventSubscriber that records what the bus delivers,
// and job builders and mutations over the fake store (tests/support/fake_job_store.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "db/model/job.h"
#include "db/model/job_store.h"
#include "server/core/event_bus.h"
#include "server/core/executor.h"
#include "server/core/ids.h"
#include "server/core/job_watch.h"
#include "server/core/publishing_job_store.h"
#include "tests/support/fake_job_store.h"

namespace jobd {

// For EXPECT_EQ on ranges (found by ADL, so in EventRange's namespace).
inline bool operator==(const EventRange& a, const EventRange& b) {
  return a.job_id == b.job_id && a.after_sequence == b.after_sequence &&
         a.last_sequence == b.last_sequence;
}
inline std::ostream& operator<<(std::ostream& os, const EventRange& r) {
  return os << r.job_id << ":" << r.after_sequence << "-" << r.last_sequence;
}

}  // namespace jobd

namespace jobd::event_testing {

using fakes::FakeJobStore;

// Polls `condition` every 2 ms; false when it is still false after `timeout`. Every caller
// waits for something that must happen, so the default is generous: a loaded or sanitized
// machine must not fail a test by being slow, and a passing test never waits it out.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return condition();
    absl::SleepFor(absl::Milliseconds(2));
  }
}

// (kind, sequence) of an event, printable in assertion messages.
struct Written {
  std::string job_id;
  EventKind kind;
  int64_t sequence;
  bool operator==(const Written& o) const {
    return job_id == o.job_id && kind == o.kind && sequence == o.sequence;
  }
};
inline std::ostream& operator<<(std::ostream& os, const Written& w) {
  return os << "{" << w.job_id.substr(0, 8) << "… " << EventKindName(w.kind) << " #" << w.sequence
            << "}";
}

// Records a watch's writes and its end. Write completion:
//   kManual: the test calls CompleteOne() (a stalled or slow stream);
//   kInline: WriteDone(true) from inside Write (a stream that is always ready);
//   kAsync:  WriteDone(true) from another thread, soon after Write (like gRPC).
// Also records protocol violations: a Write while one is outstanding, End with a Write
// outstanding, End twice, a Write after End.
class FakeSink : public core::WatchSink {
 public:
  enum class Mode { kManual, kInline, kAsync };
  explicit FakeSink(Mode mode) : mode_(mode) {
    if (mode_ == Mode::kAsync) completer_ = std::make_unique<core::Executor>(1, 100000);
  }
  ~FakeSink() override { completer_.reset(); }  // runs what is queued while *this is whole

  // The watch's WriteDone; set before the watch is opened.
  void Attach(std::function<void(bool)> write_done) { write_done_ = std::move(write_done); }

  void Write(const core::BusEventPtr& event) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (outstanding_) violations_.push_back("Write while a write is outstanding");
      if (end_) violations_.push_back("Write after End");
      outstanding_ = true;
      events_.push_back(event);
    }
    switch (mode_) {
      case Mode::kManual:
        break;
      case Mode::kInline:
        Done();
        break;
      case Mode::kAsync:
        if (!completer_->Post([this] { Done(); })) {
          std::lock_guard<std::mutex> lock(mu_);
          violations_.push_back("the async completer refused a task");
        }
        break;
    }
  }

  void End(const absl::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (end_) violations_.push_back(absl::StrCat("End twice: ", status.ToString()));
    if (outstanding_) violations_.push_back("End with a write outstanding");
    if (!end_) end_ = status;
  }

  // kManual: completes the outstanding write; false when there is none.
  bool CompleteOne(bool ok = true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!outstanding_) return false;
    }
    Done(ok);
    return true;
  }

  Mode mode() const { return mode_; }
  bool outstanding() {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }
  std::vector<core::BusEventPtr> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<Written> written() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Written> out;
    for (const auto& e : events_)
      out.push_back({e->event.job_id, e->event.kind, e->event.sequence});
    return out;
  }
  std::vector<int64_t> sequences() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int64_t> out;
    for (const auto& e : events_) out.push_back(e->event.sequence);
    return out;
  }
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return end_.has_value();
  }
  std::optional<absl::Status> end() {
    std::lock_guard<std::mutex> lock(mu_);
    return end_;
  }
  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }

 private:
  void Done(bool ok = true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      outstanding_ = false;
    }
    write_done_(ok);
  }

  const Mode mode_;
  std::function<void(bool)> write_done_;
  std::mutex mu_;
  bool outstanding_ = false;
  std::vector<core::BusEventPtr> events_;
  std::optional<absl::Status> end_;
  std::vector<std::string> violations_;
  std::unique_ptr<core::Executor> completer_;  // last: stopped first
};

// An EventSubscriber that records everything the bus hands it. With BlockFirstDelivery(),
// its first Deliver waits until Release() (holding the bus's dispatcher).
class RecordingSubscriber : public core::EventSubscriber {
 public:
  void Deliver(const core::EventBatch& events) override {
    std::unique_lock<std::mutex> lock(mu_);
    batches_.push_back(events);
    if (block_first_ && batches_.size() == 1) {
      blocked_ = true;
      wake_.wait(lock, [this] { return released_; });
      blocked_ = false;
    }
  }
  void Behind(const std::string& job_id, int64_t sequence) override {
    std::lock_guard<std::mutex> lock(mu_);
    behind_.emplace_back(job_id, sequence);
  }
  void FeedInterrupted() override { ++feed_interrupted_; }
  void Close() override { ++closed_; }

  void BlockFirstDelivery() {
    std::lock_guard<std::mutex> lock(mu_);
    block_first_ = true;
  }
  bool blocked() {
    std::lock_guard<std::mutex> lock(mu_);
    return blocked_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    wake_.notify_all();
  }

  std::vector<core::EventBatch> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  size_t event_count() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& b : batches_) n += b.size();
    return n;
  }
  std::vector<Written> events() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Written> out;
    for (const auto& b : batches_) {
      for (const auto& e : b) out.push_back({e->event.job_id, e->event.kind, e->event.sequence});
    }
    return out;
  }
  std::vector<std::pair<std::string, int64_t>> behind() {
    std::lock_guard<std::mutex> lock(mu_);
    return behind_;
  }
  int feed_interrupted() const { return feed_interrupted_; }
  int closed() const { return closed_; }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<core::EventBatch> batches_;
  std::vector<std::pair<std::string, int64_t>> behind_;
  bool block_first_ = false;
  bool blocked_ = false;
  bool released_ = false;
  std::atomic<int> feed_interrupted_{0};
  std::atomic<int> closed_{0};
};

// The event kinds, short, for the tests (which `using namespace event_testing;`).
constexpr EventKind kCreated = EventKind::kCreated;
constexpr EventKind kSnapshot = EventKind::kSnapshot;
constexpr EventKind kStateChanged = EventKind::kStateChanged;
constexpr EventKind kProgress = EventKind::kProgress;
constexpr EventKind kMessage = EventKind::kMessage;

// A QUEUED job ready for CreateJobs.
inline Job NewJob(const std::string& workspace_id = "ws1", const std::string& type = "email") {
  Job job;
  job.id = core::NewJobId(absl::Now());
  job.workspace_id = workspace_id;
  job.type = type;
  job.state = JobState::kQueued;
  job.payload_json = R"({"to":"someone"})";
  return job;
}

// Creates the job in `store` (its CREATED event at sequence 1) and returns it.
inline Job Create(JobStore& store, Job job) {
  absl::StatusOr<std::vector<CreatedJob>> created = store.CreateJobs({std::move(job)});
  EXPECT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), 1u);
  return (*created)[0].job;
}

// A mutation to `state` with the given event kind (none: no event) and messages.
inline JobStore::Mutation ToState(JobState state,
                                  std::optional<EventKind> kind = EventKind::kStateChanged,
                                  std::vector<JobMessage> messages = {}) {
  return [=](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
    JobUpdate update;
    update.next = current;
    update.next.state = state;
    update.next.update_time = absl::Now();
    update.event_kind = kind;
    update.messages = messages;
    return std::optional<JobUpdate>(std::move(update));
  };
}

inline JobStore::Mutation Progress(float percent) {
  return [=](const Job& current, absl::Time now) -> absl::StatusOr<std::optional<JobUpdate>> {
    JobUpdate update;
    update.next = current;
    update.next.progress_percent = percent;
    update.next.update_time = absl::Now();
    update.event_kind = EventKind::kProgress;
    return std::optional<JobUpdate>(std::move(update));
  };
}

// Applies the mutation through `store`; returns the job after it.
inline Job Apply(JobStore& store, const std::string& id, const JobStore::Mutation& mutate) {
  absl::StatusOr<Job> job = store.UpdateJob(id, mutate);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? *job : Job{};
}

// The bus event of a job as written (built the way PublishingJobStore builds them).
inline core::BusEventPtr BusEventOf(const Job& job_after, EventKind kind,
                                    std::optional<JobState> previous_state = std::nullopt) {
  auto out = std::make_shared<core::BusEvent>();
  out->event = core::EventFromJob(job_after, kind);
  out->job = core::WatchedJob(job_after);
  out->previous_state = previous_state;
  return out;
}

}  // namespace jobd::event_testing
