#include "server/api/control_convert.h"

#include "server/api/convert.h"

namespace jobd::api {

absl::StatusOr<core::BulkJobsCommand> FromProto(core::BulkAction action,
                                                const v1::BulkJobsRequest& r) {
  core::BulkJobsCommand c;
  c.action = action;
  c.filter.workspace_id = r.workspace_id();
  for (int state : r.filter().states()) {
    absl::StatusOr<JobState> s = FromProto(static_cast<v1::JobState>(state), "filter.states");
    if (!s.ok()) return s.status();
    c.filter.states.push_back(*s);
  }
  c.filter.type = r.filter().type();
  c.filter.labels.insert(r.filter().labels().begin(), r.filter().labels().end());
  if (r.filter().has_created_before()) {
    absl::StatusOr<absl::Time> t = ReadTime(r.filter().created_before(), "filter.created_before");
    if (!t.ok()) return t.status();
    c.filter.created_before = *t;
  }
  if (r.filter().has_created_after()) {
    absl::StatusOr<absl::Time> t = ReadTime(r.filter().created_after(), "filter.created_after");
    if (!t.ok()) return t.status();
    c.filter.created_after = *t;
  }
  c.filter.ids.assign(r.ids().begin(), r.ids().end());
  c.dry_run = r.dry_run();
  c.reason = r.reason();
  return c;
}

void ToProto(const core::BulkJobsResult& result, v1::BulkJobsResponse* out) {
  out->set_matched(result.matched);
  out->set_changed(result.changed);
  out->set_dry_run(result.dry_run);
  out->set_chunks(result.chunks);
}

void ToProto(const QueueSettings& s, v1::Queue* out) {
  out->set_workspace_id(s.workspace_id);
  out->set_type(s.type);
  out->set_paused(s.paused);
  if (s.max_running) out->set_max_running(*s.max_running);
  if (s.max_starts_per_second) out->set_max_starts_per_second(*s.max_starts_per_second);
  out->set_burst(s.burst);
  if (s.update_time) SetTime(*s.update_time, out->mutable_update_time());
}

void ToProto(const QueueInfo& info, absl::Time now, v1::Queue* out) {
  ToProto(info.settings, out);
  for (const auto& [state, count] : info.counts) {
    v1::JobStateCount* c = out->add_state_counts();
    c->set_state(ToProto(state));
    c->set_count(count);
  }
  if (info.oldest_queued_since) {
    SetDuration(std::max(absl::ZeroDuration(), now - *info.oldest_queued_since),
                out->mutable_oldest_queued_age());
  }
}

QueueSettings FromProto(const v1::SetQueueLimitsRequest& r) {
  QueueSettings s;
  s.workspace_id = r.workspace_id();
  s.type = r.type();
  if (r.has_max_running()) s.max_running = r.max_running();
  if (r.has_max_starts_per_second()) s.max_starts_per_second = r.max_starts_per_second();
  s.burst = r.burst();
  return s;
}

}  // namespace jobd::api
