// The in-process event bus: committed job events go from the writers to the watchers of
// this process. Publishing never waits for a watcher: it hands the events to one dispatcher
// thread, which offers them to each watcher's bounded buffer (see docs/EVENTS.md).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/model/job.h"

namespace jobd::core {

// One committed event, shared by every watcher it goes to.
struct BusEvent {
  JobEvent event;
  // The job the event's fields are read over (payload left out); shared by one write's events.
  std::shared_ptr<const Job> job;
  std::optional<JobState> previous_state;  // for WatchJobs' state filter
  // The api layer's encoding of the event, made once however many streams send it.
  mutable std::once_flag encode_once;
  mutable std::shared_ptr<const void> encoded;
  // Its text encoding (the HTTP streams' JSON), made once likewise.
  mutable std::once_flag text_once;
  mutable std::shared_ptr<const std::string> text;
};
using BusEventPtr = std::shared_ptr<const BusEvent>;
// Events of one job from one write (or one read), in sequence order.
using EventBatch = std::vector<BusEventPtr>;

// A watcher as the bus sees it. Every call must return without blocking.
class EventSubscriber {
 public:
  virtual ~EventSubscriber() = default;
  virtual void Deliver(const EventBatch& events) = 0;
  // Events of the job up to `sequence` were dropped on the way here: read them from the table.
  virtual void Behind(const std::string& job_id, int64_t sequence) = 0;
  // Events from other processes may have been lost (the listener connection was lost).
  virtual void FeedInterrupted() = 0;
  // jobd is stopping.
  virtual void Close() = 0;
};

struct EventBusOptions {
  // Events waiting for the dispatcher beyond this are dropped; their watchers are told to
  // read them from the table instead.
  size_t max_queued_events = 100000;
};

class EventBus {
 public:
  explicit EventBus(EventBusOptions options = {});
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // False when the bus is stopped (the subscriber is not registered).
  bool SubscribeJob(const std::string& job_id, std::shared_ptr<EventSubscriber> subscriber);
  void UnsubscribeJob(const std::string& job_id, const EventSubscriber* subscriber);
  bool SubscribeWorkspace(const std::string& workspace_id,
                          std::shared_ptr<EventSubscriber> subscriber);
  void UnsubscribeWorkspace(const std::string& workspace_id, const EventSubscriber* subscriber);

  // Whether a watcher here follows the job or its workspace. A watcher that subscribes
  // after this said no reads the job after subscribing, so it misses nothing.
  bool HasSubscribers(const std::string& job_id, const std::string& workspace_id);

  // Committed events, each batch one job's in sequence order. Returns at once.
  void Publish(std::vector<EventBatch> batches);

  // A new watcher of the job read it at `sequence`: the baseline from which the backstop
  // and remote hints fetch, until events are dispatched here.
  void NoteSequence(const std::string& job_id, int64_t sequence);
  // What to fetch for a hint from another process; none when no watcher here wants it.
  std::optional<EventRange> Wanted(const EventRange& hint);
  // Watched jobs with the latest sequence seen here (jobs not yet seen are left out).
  std::vector<std::pair<std::string, int64_t>> WatchedJobs();
  // Tells every subscriber that events from other processes may have been lost.
  void FeedInterrupted();
  // Closes every subscriber and refuses new ones; joins the dispatcher.
  void Stop();

  size_t job_subscriber_count();

 private:
  using Subscribers = std::vector<std::shared_ptr<EventSubscriber>>;
  struct JobTopic {
    std::shared_ptr<const Subscribers> subscribers;  // copied on change, read without a lock
    int64_t seen_sequence = 0;
  };
  struct Dropped {
    std::string workspace_id;
    int64_t sequence = 0;
  };

  void DispatchLoop();
  void Dispatch(const EventBatch& batch);
  void DispatchDropped(const std::string& job_id, const Dropped& dropped);
  static std::shared_ptr<const Subscribers> With(const std::shared_ptr<const Subscribers>& from,
                                                 std::shared_ptr<EventSubscriber> added);
  static std::shared_ptr<const Subscribers> Without(const std::shared_ptr<const Subscribers>& from,
                                                    const EventSubscriber* removed);

  const EventBusOptions options_;
  std::mutex mu_;  // guards the topics; never held while calling a subscriber
  std::unordered_map<std::string, JobTopic> jobs_;
  std::unordered_map<std::string, std::shared_ptr<const Subscribers>> workspaces_;
  bool stopped_ = false;

  std::mutex queue_mu_;
  std::condition_variable queue_wake_;
  std::deque<EventBatch> queue_;
  size_t queued_events_ = 0;
  std::unordered_map<std::string, Dropped> dropped_;  // job id -> latest dropped event
  bool stopping_ = false;
  std::thread dispatcher_;
};

}  // namespace jobd::core
