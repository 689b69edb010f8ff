// Notification payloads (ParseEventHints / FormatEventHints) and EventFetcher over the fake
// store: hints of other processes' writes become bus events, the backstop finds what no hint
// named, big ranges are read in pages.
#include "server/core/event_fetcher.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/core/event_bus.h"
#include "tests/support/fake_job_store.h"
#include "tests/unit/event_test_util.h"

namespace jobd::core {
namespace {

using namespace event_testing;  // the fake store and helpers of the event tests

// ---- Payloads ----

TEST(EventHints, FormatThenParseIsTheIdentity) {
  const std::vector<EventRange> ranges = {{NewJobId(absl::Now()), 0, 1},
                                          {NewJobId(absl::Now()), 3, 5},
                                          {NewJobId(absl::Now()), 41, 1234567890123}};
  const std::vector<std::string> payloads = FormatEventHints(ranges);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], absl::StrCat(ranges[0].job_id, ":0-1,", ranges[1].job_id, ":3-5,",
                                      ranges[2].job_id, ":41-1234567890123"));
  EXPECT_EQ(ParseEventHints(payloads[0]), ranges);
}

TEST(EventHints, NothingToFormatGivesNoPayload) {
  EXPECT_TRUE(FormatEventHints({}).empty());
  EXPECT_TRUE(ParseEventHints("").empty());
}

TEST(EventHints, PayloadsRespectTheSizeLimit) {
  std::vector<EventRange> ranges;
  for (int i = 0; i < 1000; ++i) ranges.push_back({NewJobId(absl::Now()), i, i + 1 + i % 7});
  for (size_t max_bytes : {size_t{100}, size_t{300}, size_t{7900}}) {
    const std::vector<std::string> payloads = FormatEventHints(ranges, max_bytes);
    ASSERT_GT(payloads.size(), 1u) << max_bytes;
    std::vector<EventRange> parsed;
    for (const std::string& payload : payloads) {
      EXPECT_LE(payload.size(), max_bytes);
      EXPECT_FALSE(payload.empty());
      for (EventRange& r : ParseEventHints(payload)) parsed.push_back(std::move(r));
    }
    EXPECT_EQ(parsed, ranges) << "every range once, in order, max_bytes " << max_bytes;
  }
  // The default fits PostgreSQL's 8000-byte NOTIFY payload.
  for (const std::string& payload : FormatEventHints(ranges)) EXPECT_LE(payload.size(), 7900u);
}

TEST(EventHints, MalformedEntriesAreSkipped) {
  const std::string a = NewJobId(absl::Now());
  const std::string b = NewJobId(absl::Now());
  const std::string payload = absl::StrJoin(
      {
          absl::StrCat("not-a-uuid:1-2"),     // bad id
          absl::StrCat(a.substr(1), ":1-2"),  // id one character short
          absl::StrCat(a, ":0-1"),            // good
          a,                                  // no range
          absl::StrCat(a, ":"),               // empty range
          absl::StrCat(a, ":5"),              // no last
          absl::StrCat(a, ":5-5"),            // last == after
          absl::StrCat(a, ":6-5"),            // last < after
          absl::StrCat(a, ":-1-5"),           // negative after
          absl::StrCat(a, ":x-5"),            // not a number
          absl::StrCat(a, ":1-2-3"),          // one dash too many
          std::string(),                      // empty entry
          absl::StrCat(b, ":4-9"),            // good
      },
      ",");
  EXPECT_EQ(ParseEventHints(payload), (std::vector<EventRange>{{a, 0, 1}, {b, 4, 9}}));
}

// ---- EventFetcher ----

class EventFetcherTest : public ::testing::Test {
 protected:
  // Only CheckNow() runs the backstop.
  void SetUp() override { fetcher_.Start(); }

  // A job with `events` events (CREATED, then RUNNING, then PROGRESS), written without
  // publishing: as another process would have written them.
  Job JobWithEvents(int events, const std::string& workspace_id = "ws1") {
    const Job job = Create(store_, NewJob(workspace_id));
    if (events >= 2) Apply(store_, job.id, ToState(JobState::kRunning));
    for (int i = 3; i <= events; ++i) Apply(store_, job.id, Progress(static_cast<float>(i)));
    return *store_.GetJob(job.id);
  }

  std::shared_ptr<RecordingSubscriber> WatchJob(const std::string& id, int64_t seen) {
    auto probe = std::make_shared<RecordingSubscriber>();
    EXPECT_TRUE(bus_.SubscribeJob(id, probe));
    bus_.NoteSequence(id, seen);
    return probe;
  }

  FakeJobStore store_;
  EventBus bus_;
  EventFetcher fetcher_{store_, bus_, absl::Hours(1)};
};

TEST_F(EventFetcherTest, HintedEventsOfAWatchedJobArePublished) {
  const Job job = JobWithEvents(3);
  auto probe = WatchJob(job.id, 1);
  fetcher_.Hint({{job.id, 1, 3}});
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 2; }));

  EXPECT_EQ(probe->events(), (std::vector<Written>{{job.id, EventKind::kStateChanged, 2},
                                                   {job.id, EventKind::kProgress, 3}}));
  const auto batches = probe->batches();
  ASSERT_EQ(batches.size(), 1u) << "one job's events of one read are one batch";
  EXPECT_EQ(batches[0][0]->previous_state, JobState::kQueued);
  EXPECT_EQ(batches[0][1]->previous_state, JobState::kRunning);
  EXPECT_EQ(batches[0][1]->job->sequence, 3);
  EXPECT_EQ(batches[0][1]->job->payload_json, "");
  EXPECT_EQ(store_.read_requests(), (std::vector<std::vector<EventRange>>{{{job.id, 1, 3}}}));
  EXPECT_EQ(bus_.WatchedJobs(), (std::vector<std::pair<std::string, int64_t>>{{job.id, 3}}));
}

TEST_F(EventFetcherTest, RangesOfOneJobInOneHintAreMerged) {
  const Job job = JobWithEvents(4);
  auto probe = WatchJob(job.id, 1);
  fetcher_.Hint({{job.id, 2, 3}, {job.id, 1, 2}, {job.id, 3, 4}});
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 3; }));
  EXPECT_EQ(store_.read_requests(), (std::vector<std::vector<EventRange>>{{{job.id, 1, 4}}}));
}

TEST_F(EventFetcherTest, HintsNobodyWantsAreNotRead) {
  const Job unwatched = JobWithEvents(2);
  const Job watched = JobWithEvents(2);
  auto probe = WatchJob(watched.id, 1);
  fetcher_.Hint({{unwatched.id, 1, 2}});
  fetcher_.Hint({{watched.id, 1, 2}});
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 1; }));
  for (const auto& request : store_.read_requests()) {
    for (const EventRange& range : request) EXPECT_NE(range.job_id, unwatched.id);
  }
  // Seen already: no read either.
  const size_t reads = store_.read_events_calls();
  fetcher_.Hint({{watched.id, 0, 2}});
  fetcher_.Hint({{watched.id, 1, 2}});
  const Job other = JobWithEvents(2);
  auto other_probe = WatchJob(other.id, 1);
  fetcher_.Hint({{other.id, 1, 2}});  // a marker: read after the two above were dropped
  ASSERT_TRUE(WaitFor([&] { return other_probe->event_count() == 1; }));
  EXPECT_EQ(store_.read_events_calls(), reads + 1);
  EXPECT_EQ(probe->event_count(), 1u);
}

TEST_F(EventFetcherTest, WorkspaceWatchersGetRemoteEventsOfAnyJob) {
  const Job job = JobWithEvents(2, "ws1");
  auto probe = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus_.SubscribeWorkspace("ws1", probe));
  fetcher_.Hint({{job.id, 1, 2}});
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 1; }));
  EXPECT_EQ(probe->events(), (std::vector<Written>{{job.id, EventKind::kStateChanged, 2}}));
  EXPECT_EQ(probe->batches()[0][0]->job->workspace_id, "ws1");
}

TEST_F(EventFetcherTest, BackstopFindsEventsNoHintNamed) {
  const Job job = JobWithEvents(3);
  const Job current = JobWithEvents(2);
  auto probe = WatchJob(job.id, 1);
  auto current_probe = WatchJob(current.id, 2);  // up to date: nothing to read
  fetcher_.CheckNow();
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() == 2; }));
  EXPECT_EQ(probe->events(), (std::vector<Written>{{job.id, EventKind::kStateChanged, 2},
                                                   {job.id, EventKind::kProgress, 3}}));
  EXPECT_EQ(store_.read_requests(), (std::vector<std::vector<EventRange>>{{{job.id, 1, 3}}}));
  EXPECT_EQ(current_probe->event_count(), 0u);
}

TEST_F(EventFetcherTest, LongRangesAreReadInPages) {
  const Job job = JobWithEvents(2501);
  auto probe = WatchJob(job.id, 1);
  fetcher_.Hint({{job.id, 1, 2501}});
  ASSERT_TRUE(WaitFor([&] { return probe->event_count() >= 2500; }));
  const std::vector<Written> events = probe->events();
  ASSERT_EQ(events.size(), 2500u);
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].sequence, static_cast<int64_t>(i) + 2) << i;
  }
  EXPECT_EQ(store_.read_requests(),
            (std::vector<std::vector<EventRange>>{{{job.id, 1, 2501}}, {{job.id, 2001, 2501}}}));
}

// One fetch round over 2,002 events (more than one page of 2,000): P's 1,999, then Q's
// terminal write (SUCCEEDED at 3, MESSAGE 4 and 5). The page would end after Q's SUCCEEDED;
// Q's events are left to the next page instead, so its terminal write arrives whole.
TEST_F(EventFetcherTest, AFullPageNeverSplitsTheWriteOfItsLastJob) {
  Job p = Create(store_, NewJob());
  Job q = Create(store_, NewJob());
  if (q.id < p.id) std::swap(p, q);                  // read in id order: P's events first
  Apply(store_, p.id, ToState(JobState::kRunning));  // 2
  for (int i = 3; i <= 2000; ++i) Apply(store_, p.id, Progress(static_cast<float>(i % 100)));
  Apply(store_, q.id, ToState(JobState::kRunning));  // 2
  Apply(store_, q.id,
        ToState(JobState::kSucceeded, kStateChanged,
                {{MessageLevel::kInfo, "a"}, {MessageLevel::kInfo, "b"}}));  // 3, 4, 5
  auto p_probe = WatchJob(p.id, 1);
  auto q_probe = WatchJob(q.id, 2);
  fetcher_.Hint({{p.id, 1, 2000}, {q.id, 2, 5}});
  ASSERT_TRUE(WaitFor([&] {
    return p_probe->event_count() == 1999 && q_probe->event_count() == 3;
  })) << p_probe->event_count()
      << " " << q_probe->event_count();

  const auto q_batches = q_probe->batches();
  ASSERT_EQ(q_batches.size(), 1u) << "the terminal write came in pieces: "
                                  << ::testing::PrintToString(q_probe->events());
  EXPECT_EQ(
      q_probe->events(),
      (std::vector<Written>{{q.id, kStateChanged, 3}, {q.id, kMessage, 4}, {q.id, kMessage, 5}}));
  const std::vector<Written> p_events = p_probe->events();
  for (size_t i = 0; i < p_events.size(); ++i) {
    ASSERT_EQ(p_events[i].sequence, static_cast<int64_t>(i) + 2) << i;
  }
  std::vector<std::vector<EventRange>> requests = store_.read_requests();
  ASSERT_EQ(requests.size(), 2u) << ::testing::PrintToString(requests);
  std::sort(requests[0].begin(), requests[0].end(),
            [](const EventRange& a, const EventRange& b) { return a.job_id < b.job_id; });
  EXPECT_EQ(requests[0], (std::vector<EventRange>{{p.id, 1, 2000}, {q.id, 2, 5}}));
  EXPECT_EQ(requests[1], (std::vector<EventRange>{{q.id, 2, 5}})) << "Q again from its start";
}

TEST_F(EventFetcherTest, StopIsIdempotent) {
  fetcher_.Stop();
  fetcher_.Stop();
  fetcher_.Hint({{NewJobId(absl::Now()), 0, 1}});  // queued, never read
  EXPECT_EQ(store_.read_events_calls(), 0u);
}

}  // namespace
}  // namespace jobd::core
