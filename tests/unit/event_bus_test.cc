// The in-process event bus (fan-out, Wanted for remote hints, overflow, stop) and
// PublishingJobStore (what each write publishes and announces), over the fake store.
#include "server/core/event_bus.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "server/core/publishing_job_store.h"
#include "tests/support/fake_job_store.h"
#include "tests/unit/event_test_util.h"

namespace jobd::core {
namespace {

using namespace event_testing;  // the fake store and helpers of the event tests

// A job as written at `sequence` (for hand-made bus events).
Job JobAt(const std::string& id, const std::string& workspace_id, int64_t sequence) {
  Job job = NewJob(workspace_id);
  job.id = id;
  job.sequence = sequence;
  return job;
}

// ---- EventBus::Wanted, NoteSequence, WatchedJobs ----

TEST(EventBus, NothingIsWantedWithoutSubscribers) {
  EventBus bus;
  const std::string id = NewJobId(absl::Now());
  EXPECT_FALSE(bus.Wanted({id, 7, 9}).has_value());
  bus.NoteSequence(id, 7);  // an unwatched job: not remembered
  EXPECT_TRUE(bus.WatchedJobs().empty());
  EXPECT_FALSE(bus.Wanted({id, 7, 9}).has_value());
}

TEST(EventBus, AJobSubscriberWantsWhatItHasNotSeen) {
  EventBus bus;
  const std::string id = NewJobId(absl::Now());
  const std::string other = NewJobId(absl::Now());
  auto subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(id, subscriber));
  bus.NoteSequence(id, 7);

  std::optional<EventRange> wanted = bus.Wanted({id, 7, 9});
  ASSERT_TRUE(wanted.has_value());
  EXPECT_EQ(*wanted, (EventRange{id, 7, 9}));
  EXPECT_FALSE(bus.Wanted({id, 3, 5}).has_value()) << "already seen up to 7";
  EXPECT_FALSE(bus.Wanted({id, 6, 7}).has_value());
  // A hint starting past what was seen also fetches the stretch no hint named yet.
  wanted = bus.Wanted({id, 8, 9});
  ASSERT_TRUE(wanted.has_value());
  EXPECT_EQ(*wanted, (EventRange{id, 7, 9}));
  EXPECT_FALSE(bus.Wanted({other, 0, 1}).has_value()) << "nobody watches that job";
}

TEST(EventBus, AWorkspaceSubscriberWantsEveryHint) {
  EventBus bus;
  const std::string watched = NewJobId(absl::Now());
  const std::string unwatched = NewJobId(absl::Now());
  auto job_subscriber = std::make_shared<RecordingSubscriber>();
  auto workspace_subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(watched, job_subscriber));
  bus.NoteSequence(watched, 7);
  ASSERT_TRUE(bus.SubscribeWorkspace("ws1", workspace_subscriber));

  std::optional<EventRange> wanted = bus.Wanted({unwatched, 3, 5});
  ASSERT_TRUE(wanted.has_value());
  EXPECT_EQ(*wanted, (EventRange{unwatched, 3, 5}));
  EXPECT_TRUE(bus.Wanted({watched, 3, 5}).has_value()) << "its workspace may be watched";
  EXPECT_TRUE(bus.Wanted({watched, 7, 9}).has_value());

  bus.UnsubscribeWorkspace("ws1", workspace_subscriber.get());
  EXPECT_FALSE(bus.Wanted({unwatched, 3, 5}).has_value());
  EXPECT_FALSE(bus.Wanted({watched, 3, 5}).has_value());
}

TEST(EventBus, WatchedJobsListsSeenSequences) {
  EventBus bus;
  const std::string a = NewJobId(absl::Now());
  const std::string b = NewJobId(absl::Now());
  auto subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(a, subscriber));
  ASSERT_TRUE(bus.SubscribeJob(b, subscriber));
  EXPECT_TRUE(bus.WatchedJobs().empty()) << "jobs not seen yet are left out";
  bus.NoteSequence(a, 4);
  bus.NoteSequence(a, 2);  // a second watcher read it earlier: the lower baseline wins
  EXPECT_EQ(bus.WatchedJobs(), (std::vector<std::pair<std::string, int64_t>>{{a, 2}}));
  bus.NoteSequence(a, 5);  // what one watcher read hides nothing from the others
  EXPECT_EQ(bus.WatchedJobs(), (std::vector<std::pair<std::string, int64_t>>{{a, 2}}));

  // A dispatched event counts as seen.
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 6), kProgress)}});
  ASSERT_TRUE(WaitFor([&] { return subscriber->event_count() == 1; }));
  EXPECT_EQ(bus.WatchedJobs(), (std::vector<std::pair<std::string, int64_t>>{{a, 6}}));
  EXPECT_EQ(bus.job_subscriber_count(), 2u);
  bus.UnsubscribeJob(a, subscriber.get());
  bus.UnsubscribeJob(b, subscriber.get());
  EXPECT_EQ(bus.job_subscriber_count(), 0u);
  EXPECT_TRUE(bus.WatchedJobs().empty());
}

// ---- Fan-out ----

TEST(EventBus, PublishReachesTheJobsAndWorkspacesSubscribersOnly) {
  EventBus bus;
  const std::string a = NewJobId(absl::Now());
  const std::string b = NewJobId(absl::Now());
  const std::string c = NewJobId(absl::Now());
  auto watches_a = std::make_shared<RecordingSubscriber>();
  auto watches_ws1 = std::make_shared<RecordingSubscriber>();
  auto watches_ws2 = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(a, watches_a));
  ASSERT_TRUE(bus.SubscribeWorkspace("ws1", watches_ws1));
  ASSERT_TRUE(bus.SubscribeWorkspace("ws2", watches_ws2));

  bus.Publish(
      {{BusEventOf(JobAt(a, "ws1", 2), kStateChanged), BusEventOf(JobAt(a, "ws1", 3), kMessage)},
       {BusEventOf(JobAt(b, "ws1", 2), kStateChanged)},
       {},  // empty batches are ignored
       {BusEventOf(JobAt(c, "ws2", 2), kStateChanged)}});
  ASSERT_TRUE(WaitFor([&] { return watches_ws2->event_count() == 1; }));  // dispatched last

  EXPECT_EQ(watches_a->events(), (std::vector<Written>{{a, kStateChanged, 2}, {a, kMessage, 3}}));
  EXPECT_EQ(watches_a->batches().size(), 1u) << "one write's events stay one batch";
  EXPECT_EQ(watches_ws1->events(),
            (std::vector<Written>{{a, kStateChanged, 2}, {a, kMessage, 3}, {b, kStateChanged, 2}}));
  EXPECT_EQ(watches_ws2->events(), (std::vector<Written>{{c, kStateChanged, 2}}));

  // Unsubscribed: no more deliveries.
  bus.UnsubscribeJob(a, watches_a.get());
  bus.UnsubscribeWorkspace("ws1", watches_ws1.get());
  bus.Publish(
      {{BusEventOf(JobAt(a, "ws1", 4), kProgress)}, {BusEventOf(JobAt(c, "ws2", 3), kProgress)}});
  ASSERT_TRUE(WaitFor([&] { return watches_ws2->event_count() == 2; }));
  EXPECT_EQ(watches_a->event_count(), 2u);
  EXPECT_EQ(watches_ws1->event_count(), 3u);
}

TEST(EventBus, FullQueueTellsSubscribersWhichJobFellBehind) {
  EventBus bus(EventBusOptions{/*max_queued_events=*/2});
  const std::string a = NewJobId(absl::Now());
  auto holder = std::make_shared<RecordingSubscriber>();  // holds the dispatcher
  auto workspace = std::make_shared<RecordingSubscriber>();
  holder->BlockFirstDelivery();
  ASSERT_TRUE(bus.SubscribeJob(a, holder));
  ASSERT_TRUE(bus.SubscribeWorkspace("ws1", workspace));

  bus.Publish({{BusEventOf(JobAt(a, "ws1", 2), kStateChanged)}});
  ASSERT_TRUE(WaitFor([&] { return holder->blocked(); }));
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 3), kProgress)}});  // queued
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 4), kProgress)}});  // queued (2 of 2)
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 5), kProgress)}});  // dropped
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 6), kProgress)},
               {BusEventOf(JobAt(a, "ws1", 7), kProgress)}});  // dropped
  holder->Release();
  ASSERT_TRUE(WaitFor([&] { return workspace->behind().size() == 1; }));

  EXPECT_EQ(holder->events(),
            (std::vector<Written>{{a, kStateChanged, 2}, {a, kProgress, 3}, {a, kProgress, 4}}));
  EXPECT_EQ(holder->behind(), (std::vector<std::pair<std::string, int64_t>>{{a, 7}}));
  EXPECT_EQ(workspace->behind(), (std::vector<std::pair<std::string, int64_t>>{{a, 7}}));
  EXPECT_EQ(workspace->event_count(), 3u);

  // The queue has room again.
  bus.Publish({{BusEventOf(JobAt(a, "ws1", 8), kProgress)}});
  ASSERT_TRUE(WaitFor([&] { return workspace->event_count() == 4; }));
}

TEST(EventBus, FeedInterruptedReachesEverySubscriber) {
  EventBus bus;
  auto job_subscriber = std::make_shared<RecordingSubscriber>();
  auto workspace_subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(NewJobId(absl::Now()), job_subscriber));
  ASSERT_TRUE(bus.SubscribeWorkspace("ws1", workspace_subscriber));
  bus.FeedInterrupted();
  EXPECT_EQ(job_subscriber->feed_interrupted(), 1);
  EXPECT_EQ(workspace_subscriber->feed_interrupted(), 1);
}

TEST(EventBus, StopClosesSubscribersAndRefusesNewOnes) {
  EventBus bus;
  const std::string id = NewJobId(absl::Now());
  auto job_subscriber = std::make_shared<RecordingSubscriber>();
  auto workspace_subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(bus.SubscribeJob(id, job_subscriber));
  ASSERT_TRUE(bus.SubscribeWorkspace("ws1", workspace_subscriber));
  bus.Stop();
  EXPECT_EQ(job_subscriber->closed(), 1);
  EXPECT_EQ(workspace_subscriber->closed(), 1);

  auto late = std::make_shared<RecordingSubscriber>();
  EXPECT_FALSE(bus.SubscribeJob(id, late));
  EXPECT_FALSE(bus.SubscribeWorkspace("ws1", late));
  bus.Publish({{BusEventOf(JobAt(id, "ws1", 2), kProgress)}});  // returns; goes nowhere
  bus.Stop();                                                   // idempotent
  EXPECT_EQ(job_subscriber->closed(), 1);
  EXPECT_EQ(job_subscriber->event_count(), 0u);
}

// ---- PublishingJobStore ----

class PublishingJobStoreTest : public ::testing::Test {
 protected:
  PublishingJobStoreTest() { EXPECT_TRUE(bus_.SubscribeWorkspace("ws1", probe_)); }

  std::vector<std::vector<EventRange>> announced() {
    std::lock_guard<std::mutex> lock(mu_);
    return announced_;
  }
  // Waits until the probe got an event of `id` with `sequence`; every batch published before
  // it has been delivered by then.
  bool WaitForEvent(const std::string& id, int64_t sequence) {
    return WaitFor([&] {
      for (const Written& w : probe_->events()) {
        if (w.job_id == id && w.sequence == sequence) return true;
      }
      return false;
    });
  }

  FakeJobStore store_;
  std::shared_ptr<RecordingSubscriber> probe_ = std::make_shared<RecordingSubscriber>();
  std::mutex mu_;
  std::vector<std::vector<EventRange>> announced_;
  EventBus bus_;
  PublishingJobStore publishing_{store_, bus_, [this](const std::vector<EventRange>& ranges) {
                                   std::lock_guard<std::mutex> lock(mu_);
                                   announced_.push_back(ranges);
                                 }};
};

TEST_F(PublishingJobStoreTest, CreateJobsPublishesCreatedJobsOnly) {
  Job holder = NewJob("ws1");
  holder.idempotency_key = "key-1";
  holder = Create(store_, holder);  // not through the publisher

  Job first = NewJob("ws1");
  Job repeat = NewJob("ws1");
  repeat.idempotency_key = "key-1";
  Job second = NewJob("ws1");
  absl::StatusOr<std::vector<CreatedJob>> created = publishing_.CreateJobs({first, repeat, second});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->size(), 3u);
  EXPECT_TRUE((*created)[0].created);
  EXPECT_FALSE((*created)[1].created);
  EXPECT_EQ((*created)[1].job.id, holder.id);
  EXPECT_TRUE((*created)[2].created);

  EXPECT_EQ(announced(),
            (std::vector<std::vector<EventRange>>{{{first.id, 0, 1}, {second.id, 0, 1}}}));
  ASSERT_TRUE(WaitForEvent(second.id, 1));
  EXPECT_EQ(probe_->events(),
            (std::vector<Written>{{first.id, kCreated, 1}, {second.id, kCreated, 1}}));
  const auto batches = probe_->batches();
  ASSERT_EQ(batches.size(), 2u);
  const BusEvent& event = *batches[0][0];
  EXPECT_FALSE(event.previous_state.has_value());
  EXPECT_EQ(event.event.state, JobState::kQueued);
  EXPECT_EQ(event.job->id, first.id);
  EXPECT_EQ(event.job->payload_json, "") << "the bus never carries payloads";
}

TEST_F(PublishingJobStoreTest, UpdateWithAnEventAndTwoMessagesPublishesThreeEvents) {
  const Job job = Create(store_, NewJob("ws1"));
  Apply(store_, job.id, ToState(JobState::kRunning));  // s = 2, unpublished
  const Job after =
      Apply(publishing_, job.id,
            ToState(JobState::kSucceeded, kStateChanged,
                    {{MessageLevel::kInfo, "first"}, {MessageLevel::kError, "second"}}));
  EXPECT_EQ(after.sequence, 5);

  EXPECT_EQ(announced(), (std::vector<std::vector<EventRange>>{{{job.id, 2, 5}}}));
  ASSERT_TRUE(WaitForEvent(job.id, 5));
  const auto batches = probe_->batches();
  ASSERT_EQ(batches.size(), 1u) << "one write, one batch";
  EXPECT_EQ(probe_->events(),
            (std::vector<Written>{
                {job.id, kStateChanged, 3}, {job.id, kMessage, 4}, {job.id, kMessage, 5}}));
  const EventBatch& batch = batches[0];
  EXPECT_EQ(batch[0]->previous_state, JobState::kRunning);
  EXPECT_EQ(batch[1]->previous_state, JobState::kSucceeded);
  EXPECT_EQ(batch[2]->previous_state, JobState::kSucceeded);
  for (const BusEventPtr& e : batch) {
    EXPECT_EQ(e->event.state, JobState::kSucceeded);
    EXPECT_EQ(e->job->sequence, 5) << "the job as written, after the whole write";
  }
  EXPECT_FALSE(batch[0]->event.message.has_value());
  ASSERT_TRUE(batch[1]->event.message.has_value());
  EXPECT_EQ(batch[1]->event.message->text, "first");
  ASSERT_TRUE(batch[2]->event.message.has_value());
  EXPECT_EQ(batch[2]->event.message->text, "second");
  EXPECT_EQ(batch[2]->event.message->level, MessageLevel::kError);

  // The bus's events are the rows the store wrote.
  absl::StatusOr<std::vector<JobEvent>> rows = store_.ListJobEvents(job.id, 2, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*rows)[i].sequence, batch[i]->event.sequence);
    EXPECT_EQ((*rows)[i].kind, batch[i]->event.kind);
  }
}

TEST_F(PublishingJobStoreTest, UpdateWithoutEventOrMessagesPublishesNothing) {
  const Job job = Create(store_, NewJob("ws1"));
  // A bare lease renewal: fields change, no event.
  const Job renewed = Apply(publishing_, job.id, ToState(JobState::kQueued, std::nullopt));
  EXPECT_EQ(renewed.sequence, 1);
  // Nothing to change.
  absl::StatusOr<Job> unchanged = publishing_.UpdateJob(
      job.id, [](const Job&, absl::Time) -> absl::StatusOr<std::optional<JobUpdate>> {
        return std::nullopt;
      });
  ASSERT_TRUE(unchanged.ok());
  // Refused by the rules.
  absl::StatusOr<Job> refused = publishing_.UpdateJob(
      job.id, [](const Job&, absl::Time) -> absl::StatusOr<std::optional<JobUpdate>> {
        return absl::FailedPreconditionError("no");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  // No such job.
  absl::StatusOr<Job> missing =
      publishing_.UpdateJob(NewJobId(absl::Now()), ToState(JobState::kRunning));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(announced().empty());

  Apply(publishing_, job.id, Progress(5));  // a marker: 2
  ASSERT_TRUE(WaitForEvent(job.id, 2));
  EXPECT_EQ(probe_->events(), (std::vector<Written>{{job.id, kProgress, 2}}));
  EXPECT_EQ(announced(), (std::vector<std::vector<EventRange>>{{{job.id, 1, 2}}}));
}

TEST_F(PublishingJobStoreTest, OneUpdateOfTwoJobsPublishesOneBatchPerJob) {
  const Job a = Create(store_, NewJob("ws1"));
  const Job b = Create(store_, NewJob("ws1"));
  absl::StatusOr<std::vector<absl::StatusOr<Job>>> results = publishing_.UpdateJobs(
      {{a.id, ToState(JobState::kRunning)},
       {b.id, ToState(JobState::kCancelled, kStateChanged, {{MessageLevel::kInfo, "why"}})}});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(announced(), (std::vector<std::vector<EventRange>>{{{a.id, 1, 2}, {b.id, 1, 3}}}));
  ASSERT_TRUE(WaitForEvent(b.id, 3));
  const auto batches = probe_->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].size(), 1u);
  EXPECT_EQ(batches[1].size(), 2u);
}

TEST(PublishingHelpers, SnapshotIsTheJobNowWithoutPayload) {
  Job job = NewJob("ws1");
  job.sequence = 9;
  job.state = JobState::kRunning;
  job.progress_percent = 42;
  std::shared_ptr<const Job> watched = WatchedJob(job);
  EXPECT_EQ(watched->payload_json, "");
  EXPECT_EQ(job.payload_json, R"({"to":"someone"})") << "the original is untouched";
  BusEventPtr snapshot = SnapshotEvent(watched);
  EXPECT_EQ(snapshot->event.kind, EventKind::kSnapshot);
  EXPECT_EQ(snapshot->event.sequence, 9);
  EXPECT_EQ(snapshot->event.job_id, job.id);
  EXPECT_EQ(snapshot->event.state, JobState::kRunning);
  EXPECT_FLOAT_EQ(snapshot->event.progress_percent, 42);
  EXPECT_FALSE(snapshot->previous_state.has_value());
  EXPECT_EQ(snapshot->job, watched);
}

}  // namespace
}  // namespace jobd::core
