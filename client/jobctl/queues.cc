#include "client/jobctl/queues.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/args.h"
#include "client/jobctl/output.h"

namespace jobd::jobctl {
namespace {

constexpr int kMaxLimit = 100000;  // QueueService's bound on every limit

int64_t CountOf(const v1::Queue& queue, v1::JobState state) {
  for (const v1::JobStateCount& c : queue.state_counts()) {
    if (c.state() == state) return c.count();
  }
  return 0;
}

std::string MaxRunning(const v1::Queue& queue) {
  return queue.has_max_running() ? absl::StrCat(queue.max_running()) : "-";
}

std::string OldestQueued(const v1::Queue& queue) {
  return queue.has_oldest_queued_age() ? FormatCompact(FromProto(queue.oldest_queued_age())) : "-";
}

// For the responses that are `{ Queue queue = 1; }`.
template <typename Response>
int PrintQueue(const absl::StatusOr<Response>& response, Output output) {
  return PrintResponse(response, output,
                       [](const Response& r) { return FormatQueue(r.queue(), absl::Now()); });
}

}  // namespace

v1::ListQueuesRequest BuildListQueues(const QueueFlags& flags) {
  v1::ListQueuesRequest request;
  request.set_workspace_id(flags.workspace);
  return request;
}

absl::StatusOr<v1::SetQueueLimitsRequest> BuildSetQueueLimits(const QueueFlags& flags) {
  v1::SetQueueLimitsRequest request = QueueRequest<v1::SetQueueLimitsRequest>(flags);
  const std::string range = absl::StrCat("must be 1 to ", kMaxLimit);
  if (flags.max_running) {
    if (*flags.max_running < 1 || *flags.max_running > kMaxLimit) {
      return absl::InvalidArgumentError(absl::StrCat("--max-running: ", range));
    }
    request.set_max_running(*flags.max_running);
  }
  if (flags.rate) {
    // Written so that NaN fails too.
    if (!(*flags.rate > 0 && *flags.rate <= kMaxLimit)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--rate: must be more than 0 and at most ", kMaxLimit, " per second"));
    }
    request.set_max_starts_per_second(*flags.rate);
  }
  if (flags.burst) {
    if (!flags.rate) return absl::InvalidArgumentError("--burst: only with --rate");
    if (*flags.burst < 1 || *flags.burst > kMaxLimit) {
      return absl::InvalidArgumentError(absl::StrCat("--burst: ", range));
    }
    request.set_burst(*flags.burst);
  }
  return request;
}

std::string FormatRate(const v1::Queue& queue) {
  if (!queue.has_max_starts_per_second()) return "-";
  std::string out = absl::StrCat(queue.max_starts_per_second(), "/s");
  if (queue.burst() > 0) absl::StrAppend(&out, " (burst ", queue.burst(), ")");
  return out;
}

std::string FormatQueueTable(const google::protobuf::RepeatedPtrField<v1::Queue>& queues) {
  std::vector<Row> rows = {{"TYPE", "PAUSED", "MAX RUNNING", "RATE", "QUEUED", "RUNNING",
                            "PAUSED JOBS", "OLDEST QUEUED"}};
  for (const v1::Queue& q : queues) {
    rows.push_back({q.type(), q.paused() ? "yes" : "no", MaxRunning(q), FormatRate(q),
                    absl::StrCat(CountOf(q, v1::JOB_STATE_QUEUED)),
                    absl::StrCat(CountOf(q, v1::JOB_STATE_RUNNING)),
                    absl::StrCat(CountOf(q, v1::JOB_STATE_PAUSED)), OldestQueued(q)});
  }
  return FormatTable(rows);
}

std::string FormatQueue(const v1::Queue& q, absl::Time now) {
  std::vector<std::string> counts;
  for (const v1::JobStateCount& c : q.state_counts()) {
    counts.push_back(absl::StrCat(StateName(c.state()), " ", c.count()));
  }
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"workspace", OrUnset(q.workspace_id())},
      {"type", OrUnset(q.type())},
      {"paused", q.paused() ? "yes" : "no"},
      {"max_running", MaxRunning(q)},
      {"rate", FormatRate(q)},
      {"jobs", counts.empty() ? "-" : absl::StrJoin(counts, ", ")},
      {"oldest_queued", OldestQueued(q)},
      {"updated", q.has_update_time() ? FormatTime(q.update_time(), now) : "-"},
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : fields) rows.push_back({absl::StrCat(key, ":"), value});
  return FormatTable(rows);
}

int RunQueues(client::JobdClient& client, QueueCommand command, const QueueFlags& flags,
              Output output) {
  switch (command) {
    case QueueCommand::kList:
      return PrintResponse(
          client.ListQueues(BuildListQueues(flags)), output,
          [](const v1::ListQueuesResponse& r) { return FormatQueueTable(r.queues()); });
    case QueueCommand::kPause:
      return PrintQueue(client.PauseQueue(QueueRequest<v1::PauseQueueRequest>(flags)), output);
    case QueueCommand::kResume:
      return PrintQueue(client.ResumeQueue(QueueRequest<v1::ResumeQueueRequest>(flags)), output);
    case QueueCommand::kLimits: {
      absl::StatusOr<v1::SetQueueLimitsRequest> request = BuildSetQueueLimits(flags);
      if (!request.ok()) return UsageError(request.status());
      return PrintQueue(client.SetQueueLimits(*request), output);
    }
  }
  return kExitUsage;
}

}  // namespace jobd::jobctl
