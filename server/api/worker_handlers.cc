#include "server/api/worker_handlers.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"

namespace jobd::api {

namespace {

void FinishResultToProto(const std::string& job_id, const absl::StatusOr<Job>& result,
                         v1::FinishResult* out) {
  out->set_job_id(job_id);
  out->set_code(static_cast<int32_t>(result.status().code()));
  out->set_message(std::string(result.status().message()));
  if (result.ok()) out->set_state(ToProto(result->state));
}

// gRPC clients refuse answers over 4 MiB unless told otherwise, and a refused answer would
// strand its jobs until their leases ran out. Jobs past this go back to the queue instead;
// the first always goes out (payload and checkpoint are bounded well below it).
constexpr size_t kAnswerBudgetBytes = (4 << 20) - (64 << 10);

// Adds the leased jobs that fit the answer after `used` bytes; returns those that do not.
std::vector<Job> AddLeased(std::vector<Job> jobs, absl::Time now, size_t used,
                           google::protobuf::RepeatedPtrField<v1::LeasedJob>* out) {
  for (size_t i = 0; i < jobs.size(); ++i) {
    v1::LeasedJob* leased = out->Add();
    ToProto(jobs[i], now, leased);
    // The field's tag and length prefix: at most 6 bytes.
    used += leased->ByteSizeLong() + 6;
    if (i > 0 && used > kAnswerBudgetBytes) {
      out->RemoveLast();
      return std::vector<Job>(std::make_move_iterator(jobs.begin() + static_cast<ptrdiff_t>(i)),
                              std::make_move_iterator(jobs.end()));
    }
  }
  return {};
}

}  // namespace

void WorkerHandlers::AcquireJobs(UnaryCall call, const core::Principal& caller,
                                 const v1::AcquireJobsRequest* request,
                                 v1::AcquireJobsResponse* response) {
  const bool finishing = request->completed_size() > 0 || request->failed_size() > 0;
  std::optional<core::AcquireCommand> command;
  if (!finishing || request->max_jobs() != 0) {
    absl::StatusOr<core::AcquireCommand> parsed = FromProto(*request);
    if (!parsed.ok()) return call.Finish(parsed.status(), "");
    command = std::move(*parsed);
    command->cancelled = [call] { return call.cancelled(); };
    command->on_cancel = [call](std::function<void()> cancelled) {
      call.SetOnCancel(std::move(cancelled));
    };
    command->still_authorized = [call, caller] { return call.admission().StillValid(caller); };
    command->call_deadline = call.deadline();
    // The store leases what its estimate (stored sizes) puts at 7/8 of the budget: jobs whose
    // payloads do not compress are then never leased only to go back.
    command->max_answer_bytes = static_cast<int64_t>(kAnswerBudgetBytes / 8 * 7);
  }
  if (finishing) {
    std::vector<core::FinishCommand> finished;
    finished.reserve(request->completed_size() + request->failed_size());
    for (int i = 0; i < request->completed_size(); ++i) {
      const v1::CompleteJobRequest& r = request->completed(i);
      const std::string field = absl::StrCat("completed[", i, "].result");
      absl::StatusOr<std::string> result = StructToJson(r.result(), field.c_str());
      if (!result.ok()) return call.Finish(result.status(), "");
      finished.push_back({r.job_id(), r.lease_token(), true, std::move(*result), "", true});
    }
    for (const v1::FailJobRequest& r : request->failed()) {
      finished.push_back({r.job_id(), r.lease_token(), false, "", r.error_message(),
                          r.has_retryable() ? r.retryable() : true});
    }
    return workers_.FinishAndAcquire(
        caller, std::move(finished), request->completed_size(), std::move(command),
        [this, call, request, response](absl::StatusOr<core::FinishAndAcquireResult> out) mutable {
          if (!out.ok()) return call.Finish(out.status(), "");
          for (size_t i = 0; i < out->finished.size(); ++i) {
            const int index = static_cast<int>(i);
            const bool completed = index < request->completed_size();
            FinishResultToProto(
                completed ? request->completed(index).job_id()
                          : request->failed(index - request->completed_size()).job_id(),
                out->finished[i], completed ? response->add_completed() : response->add_failed());
          }
          std::vector<Job> over = AddLeased(std::move(out->leased), workers_.clock().Now(),
                                            response->ByteSizeLong(), response->mutable_jobs());
          workers_.HandBack(std::move(over),
                            [call]() mutable { call.Finish(absl::OkStatus(), ""); });
        });
  }
  workers_.AcquireJobs(
      caller, std::move(*command),
      [this, call, response](absl::StatusOr<std::vector<Job>> jobs) mutable {
        if (!jobs.ok()) return call.Finish(jobs.status(), "");
        std::vector<Job> over =
            AddLeased(std::move(*jobs), workers_.clock().Now(), 0, response->mutable_jobs());
        std::string job_id = response->jobs_size() == 1 ? response->jobs(0).job().id() : "";
        workers_.HandBack(std::move(over), [call, job_id = std::move(job_id)]() mutable {
          call.Finish(absl::OkStatus(), job_id);
        });
      });
}

void WorkerHandlers::ReportProgress(UnaryCall call, const core::Principal& caller,
                                    const v1::ReportProgressRequest* request,
                                    v1::ReportProgressResponse* response) {
  absl::StatusOr<core::ProgressReport> report = FromProto(*request);
  if (!report.ok()) return call.Finish(report.status(), request->job_id());
  workers_.ReportProgress(
      caller, request->job_id(), request->lease_token(), std::move(*report),
      [call, request, response](absl::StatusOr<core::ProgressResult> result) mutable {
        if (result.ok()) ToProto(*result, response);
        call.Finish(result.status(), request->job_id());
      });
}

void WorkerHandlers::CompleteJob(UnaryCall call, const core::Principal& caller,
                                 const v1::CompleteJobRequest* request,
                                 v1::CompleteJobResponse* response) {
  absl::StatusOr<std::string> result = StructToJson(request->result(), "result");
  if (!result.ok()) return call.Finish(result.status(), request->job_id());
  workers_.CompleteJob(caller, request->job_id(), request->lease_token(), std::move(*result),
                       FinishWithJob(call, request->job_id(), response->mutable_job()));
}

void WorkerHandlers::FailJob(UnaryCall call, const core::Principal& caller,
                             const v1::FailJobRequest* request, v1::FailJobResponse* response) {
  const bool retryable = request->has_retryable() ? request->retryable() : true;
  workers_.FailJob(caller, request->job_id(), request->lease_token(), request->error_message(),
                   retryable, FinishWithJob(call, request->job_id(), response->mutable_job()));
}

std::function<void(absl::StatusOr<Job>)> WorkerHandlers::FinishWithJob(UnaryCall call,
                                                                       std::string job_id,
                                                                       v1::Job* out) {
  return [this, call, job_id = std::move(job_id), out](absl::StatusOr<Job> job) mutable {
    if (job.ok()) ToProto(*job, workers_.clock().Now(), /*include_payload=*/true, out);
    call.Finish(job.status(), job_id);
  };
}

}  // namespace jobd::api
