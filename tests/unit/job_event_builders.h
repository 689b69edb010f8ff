// Jobs and events as the API shows them, for the tests of what consumes a watch (the client
// library's resumable watch, jobctl's rendering).
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "jobd/v1/job.pb.h"
#include "tests/support/proto_time.h"
#include "tests/support/test_clock.h"

namespace jobd::test_events {

using test::kNow;

inline google::protobuf::Timestamp At(absl::Time t) { return test::ToProtoTime(t); }

inline v1::Job Job(v1::JobState state, float percent, const std::string& message = "") {
  v1::Job job;
  job.set_id("j1");
  job.set_state(state);
  job.set_progress_percent(percent);
  job.set_progress_message(message);
  job.set_attempt(1);
  return job;
}

inline v1::JobEvent Event(int64_t sequence, v1::JobEventKind kind, const v1::Job& job) {
  v1::JobEvent event;
  event.set_job_id("j1");
  event.set_sequence(sequence);
  event.set_kind(kind);
  *event.mutable_job() = job;
  event.mutable_job()->set_sequence(sequence);
  return event;
}

inline v1::JobEvent Progress(int64_t sequence, v1::JobState state = v1::JOB_STATE_RUNNING) {
  return Event(sequence, v1::JOB_EVENT_KIND_PROGRESS, Job(state, 10));
}

inline v1::JobEvent Message(int64_t sequence, v1::MessageLevel level, const std::string& text) {
  v1::JobEvent event = Event(sequence, v1::JOB_EVENT_KIND_MESSAGE, Job(v1::JOB_STATE_RUNNING, 10));
  event.mutable_message()->set_level(level);
  event.mutable_message()->set_text(text);
  return event;
}

}  // namespace jobd::test_events
