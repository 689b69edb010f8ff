#include "server/core/event_bus.h"

#include <algorithm>

namespace jobd::core {

EventBus::EventBus(EventBusOptions options)
    : options_(options), dispatcher_([this] { DispatchLoop(); }) {}

EventBus::~EventBus() { Stop(); }

std::shared_ptr<const EventBus::Subscribers> EventBus::With(
    const std::shared_ptr<const Subscribers>& from, std::shared_ptr<EventSubscriber> added) {
  auto next = from ? std::make_shared<Subscribers>(*from) : std::make_shared<Subscribers>();
  next->push_back(std::move(added));
  return next;
}

std::shared_ptr<const EventBus::Subscribers> EventBus::Without(
    const std::shared_ptr<const Subscribers>& from, const EventSubscriber* removed) {
  if (!from) return nullptr;
  auto next = std::make_shared<Subscribers>();
  next->reserve(from->size());
  for (const auto& subscriber : *from) {
    if (subscriber.get() != removed) next->push_back(subscriber);
  }
  if (next->empty()) return nullptr;
  return next;
}

bool EventBus::SubscribeJob(const std::string& job_id,
                            std::shared_ptr<EventSubscriber> subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return false;
  JobTopic& topic = jobs_[job_id];
  topic.subscribers = With(topic.subscribers, std::move(subscriber));
  return true;
}

void EventBus::UnsubscribeJob(const std::string& job_id, const EventSubscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  it->second.subscribers = Without(it->second.subscribers, subscriber);
  if (!it->second.subscribers) jobs_.erase(it);
}

bool EventBus::SubscribeWorkspace(const std::string& workspace_id,
                                  std::shared_ptr<EventSubscriber> subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return false;
  auto& subscribers = workspaces_[workspace_id];
  subscribers = With(subscribers, std::move(subscriber));
  return true;
}

void EventBus::UnsubscribeWorkspace(const std::string& workspace_id,
                                    const EventSubscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workspaces_.find(workspace_id);
  if (it == workspaces_.end()) return;
  it->second = Without(it->second, subscriber);
  if (!it->second) workspaces_.erase(it);
}

bool EventBus::HasSubscribers(const std::string& job_id, const std::string& workspace_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.count(job_id) > 0 || workspaces_.count(workspace_id) > 0;
}

void EventBus::Publish(std::vector<EventBatch> batches) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) return;
    for (EventBatch& batch : batches) {
      if (batch.empty()) continue;
      if (queued_events_ + batch.size() > options_.max_queued_events) {
        // The dispatcher is far behind: keep only which job fell behind, not the events.
        const BusEvent& last = *batch.back();
        Dropped& dropped = dropped_[last.event.job_id];
        dropped.workspace_id = last.job->workspace_id;
        dropped.sequence = std::max(dropped.sequence, last.event.sequence);
        continue;
      }
      queued_events_ += batch.size();
      queue_.push_back(std::move(batch));
    }
  }
  queue_wake_.notify_one();
}

void EventBus::DispatchLoop() {
  std::deque<EventBatch> batches;
  std::unordered_map<std::string, Dropped> dropped;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !dropped_.empty(); });
      if (stopping_) return;
      batches.swap(queue_);
      dropped.swap(dropped_);
      queued_events_ = 0;
    }
    for (const EventBatch& batch : batches) Dispatch(batch);
    for (const auto& [job_id, drop] : dropped) DispatchDropped(job_id, drop);
    batches.clear();
    dropped.clear();
  }
}

void EventBus::Dispatch(const EventBatch& batch) {
  const BusEvent& last = *batch.back();
  std::shared_ptr<const Subscribers> job_subscribers, workspace_subscribers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto job = jobs_.find(last.event.job_id);
    if (job != jobs_.end()) {
      job->second.seen_sequence = std::max(job->second.seen_sequence, last.event.sequence);
      job_subscribers = job->second.subscribers;
    }
    auto workspace = workspaces_.find(last.job->workspace_id);
    if (workspace != workspaces_.end()) workspace_subscribers = workspace->second;
  }
  if (job_subscribers) {
    for (const auto& subscriber : *job_subscribers) subscriber->Deliver(batch);
  }
  if (workspace_subscribers) {
    for (const auto& subscriber : *workspace_subscribers) subscriber->Deliver(batch);
  }
}

void EventBus::DispatchDropped(const std::string& job_id, const Dropped& dropped) {
  std::shared_ptr<const Subscribers> job_subscribers, workspace_subscribers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto job = jobs_.find(job_id);
    if (job != jobs_.end()) job_subscribers = job->second.subscribers;
    auto workspace = workspaces_.find(dropped.workspace_id);
    if (workspace != workspaces_.end()) workspace_subscribers = workspace->second;
  }
  for (const auto* subscribers : {&job_subscribers, &workspace_subscribers}) {
    if (!*subscribers) continue;
    for (const auto& subscriber : **subscribers) subscriber->Behind(job_id, dropped.sequence);
  }
}

void EventBus::NoteSequence(const std::string& job_id, int64_t sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  auto job = jobs_.find(job_id);
  if (job == jobs_.end()) return;
  // Only a baseline: what one watcher read is not what every watcher of the job was given,
  // so it may not hide events from the fetcher (only Dispatch delivers to all of them).
  int64_t& seen = job->second.seen_sequence;
  seen = seen == 0 ? sequence : std::min(seen, sequence);
}

std::optional<EventRange> EventBus::Wanted(const EventRange& hint) {
  std::lock_guard<std::mutex> lock(mu_);
  auto job = jobs_.find(hint.job_id);
  if (job != jobs_.end()) {
    const int64_t seen = job->second.seen_sequence;
    if (seen >= hint.last_sequence && workspaces_.empty()) return std::nullopt;
    EventRange wanted = hint;
    // Also what was neither seen here nor named by a hint yet.
    if (seen > 0) wanted.after_sequence = std::min(hint.after_sequence, seen);
    return wanted;
  }
  // The workspace of an unwatched job is unknown until it is read.
  if (!workspaces_.empty()) return hint;
  return std::nullopt;
}

std::vector<std::pair<std::string, int64_t>> EventBus::WatchedJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(jobs_.size());
  for (const auto& [job_id, topic] : jobs_) {
    if (topic.seen_sequence > 0) out.emplace_back(job_id, topic.seen_sequence);
  }
  return out;
}

void EventBus::FeedInterrupted() {
  std::vector<std::shared_ptr<const Subscribers>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, topic] : jobs_) all.push_back(topic.subscribers);
    for (const auto& [id, subscribers] : workspaces_) all.push_back(subscribers);
  }
  for (const auto& subscribers : all) {
    for (const auto& subscriber : *subscribers) subscriber->FeedInterrupted();
  }
}

void EventBus::Stop() {
  std::vector<std::shared_ptr<const Subscribers>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (const auto& [id, topic] : jobs_) all.push_back(topic.subscribers);
    for (const auto& [id, subscribers] : workspaces_) all.push_back(subscribers);
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_wake_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (const auto& subscribers : all) {
    for (const auto& subscriber : *subscribers) subscriber->Close();
  }
}

size_t EventBus::job_subscriber_count() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t count = 0;
  for (const auto& [id, topic] : jobs_) count += topic.subscribers->size();
  return count;
}

}  // namespace jobd::core
