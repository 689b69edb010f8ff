// JobdClient: the synchronous C++ client of jobd. It covers every RPC of jobd.v1.JobService,
// WorkerService, AdminService, ScheduleService, TemplateService and QueueService, plus the
// resumable watch of one job (client/resumable_watch.h) and the paging of a job's events; jobctl,
// the tests and the benchmarks use it. Each unary call gets a deadline and, when an API key is
// set, the `authorization: Bearer <key>` metadata; gRPC errors come back as absl::Status with the
// same code and message. The Worker (client/worker.h) builds on the same options and channel
// helpers.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/resumable_watch.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/queue_service.grpc.pb.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "jobd/v1/template_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"

namespace jobd::client {

struct ClientOptions {
  std::string address = "127.0.0.1:50051";
  // Sent as `authorization: Bearer <api_key>` when non-empty.
  std::string api_key;
  // TLS when set: the CA bundle (PEM) that signed jobd's certificate.
  std::string tls_ca_file;
  // Mutual TLS: this client's certificate chain and key (PEM).
  std::string tls_cert_file, tls_key_file;
  // Deadline of each unary call (AcquireJobs adds its request's `wait`); streams have none.
  absl::Duration timeout = absl::Seconds(30);
};

// Keeps code and message (both follow google.rpc.Code, so the numbers match).
absl::Status FromGrpcStatus(const grpc::Status& status);

// One server-streaming call (WatchJob, WatchJobs): Read until it returns false, then Finish
// once for the call's status. It has no deadline (a watch may last hours): Cancel() ends it
// from any thread, and destroying it before Finish cancels it too.
template <typename Response>
class ServerStream {
 public:
  ~ServerStream() {
    if (!finished_) {
      context_.TryCancel();
      reader_->Finish();
    }
  }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  bool Read(Response* response) { return reader_->Read(response); }
  absl::Status Finish() {
    finished_ = true;
    return FromGrpcStatus(reader_->Finish());
  }
  void Cancel() { context_.TryCancel(); }

 private:
  friend class JobdClient;
  ServerStream() = default;

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Response>> reader_;
  bool finished_ = false;
};

class JobdClient {
 public:
  // The channel (MakeChannel with QuickReconnectArgs) connects lazily: an unreachable server
  // shows up as UNAVAILABLE on the first call. Fails only when a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<JobdClient>> Connect(const ClientOptions& options);

  // For callers that bring their own channel (e.g. an in-process server in tests).
  JobdClient(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options);

  // ---- JobService ----
  absl::StatusOr<v1::CreateJobResponse> CreateJob(const v1::CreateJobRequest& request);
  absl::StatusOr<v1::BatchCreateJobsResponse> BatchCreateJobs(
      const v1::BatchCreateJobsRequest& request);
  absl::StatusOr<v1::GetJobResponse> GetJob(const v1::GetJobRequest& request);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::CancelJobResponse> CancelJob(const v1::CancelJobRequest& request);
  absl::StatusOr<v1::RetryJobResponse> RetryJob(const v1::RetryJobRequest& request);
  absl::StatusOr<v1::ListJobEventsResponse> ListJobEvents(const v1::ListJobEventsRequest& request);
  absl::StatusOr<v1::GetJobStatsResponse> GetJobStats(const v1::GetJobStatsRequest& request);
  absl::StatusOr<v1::PauseJobResponse> PauseJob(const v1::PauseJobRequest& request);
  absl::StatusOr<v1::ResumeJobResponse> ResumeJob(const v1::ResumeJobRequest& request);
  absl::StatusOr<v1::DeleteJobResponse> DeleteJob(const v1::DeleteJobRequest& request);
  // The bulk operations: every job of a workspace that matches a filter (or a list of ids),
  // changed in chunks on the server; each call has the usual deadline (options().timeout).
  absl::StatusOr<v1::BulkJobsResponse> BulkCancelJobs(const v1::BulkJobsRequest& request);
  absl::StatusOr<v1::BulkJobsResponse> BulkRetryJobs(const v1::BulkJobsRequest& request);
  absl::StatusOr<v1::BulkJobsResponse> BulkPauseJobs(const v1::BulkJobsRequest& request);
  absl::StatusOr<v1::BulkJobsResponse> BulkResumeJobs(const v1::BulkJobsRequest& request);
  absl::StatusOr<v1::BulkJobsResponse> BulkDeleteJobs(const v1::BulkJobsRequest& request);
  absl::StatusOr<v1::BulkJobsResponse> BulkFailJobs(const v1::BulkJobsRequest& request);
  // One WatchJob / WatchJobs call as it comes, with no resuming (see WatchJobResumable).
  std::unique_ptr<ServerStream<v1::WatchJobResponse>> WatchJob(const v1::WatchJobRequest& request);
  std::unique_ptr<ServerStream<v1::WatchJobsResponse>> WatchJobs(
      const v1::WatchJobsRequest& request);

  // ---- WorkerService (worker and admin keys) ----
  // The deadline is the request's `wait` (the long poll) plus options().timeout.
  absl::StatusOr<v1::AcquireJobsResponse> AcquireJobs(const v1::AcquireJobsRequest& request);
  absl::StatusOr<v1::ReportProgressResponse> ReportProgress(
      const v1::ReportProgressRequest& request);
  absl::StatusOr<v1::CompleteJobResponse> CompleteJob(const v1::CompleteJobRequest& request);
  absl::StatusOr<v1::FailJobResponse> FailJob(const v1::FailJobRequest& request);

  // ---- AdminService (admin keys only) ----
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(const v1::CreateApiKeyRequest& request);
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const v1::ListApiKeysRequest& request);
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(const v1::RevokeApiKeyRequest& request);
  // The calling key (every role may ask).
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI(const v1::WhoAmIRequest& request);

  // ---- ScheduleService (members change their workspace's, viewers read) ----
  absl::StatusOr<v1::CreateScheduleResponse> CreateSchedule(
      const v1::CreateScheduleRequest& request);
  absl::StatusOr<v1::GetScheduleResponse> GetSchedule(const v1::GetScheduleRequest& request);
  absl::StatusOr<v1::ListSchedulesResponse> ListSchedules(const v1::ListSchedulesRequest& request);
  absl::StatusOr<v1::UpdateScheduleResponse> UpdateSchedule(
      const v1::UpdateScheduleRequest& request);
  absl::StatusOr<v1::DeleteScheduleResponse> DeleteSchedule(
      const v1::DeleteScheduleRequest& request);
  absl::StatusOr<v1::PauseScheduleResponse> PauseSchedule(const v1::PauseScheduleRequest& request);
  absl::StatusOr<v1::ResumeScheduleResponse> ResumeSchedule(
      const v1::ResumeScheduleRequest& request);
  absl::StatusOr<v1::TriggerScheduleResponse> TriggerSchedule(
      const v1::TriggerScheduleRequest& request);
  absl::StatusOr<v1::BackfillScheduleResponse> BackfillSchedule(
      const v1::BackfillScheduleRequest& request);

  // ---- TemplateService (shared templates: admins change, everyone reads) ----
  absl::StatusOr<v1::CreateJobTemplateResponse> CreateJobTemplate(
      const v1::CreateJobTemplateRequest& request);
  absl::StatusOr<v1::GetJobTemplateResponse> GetJobTemplate(
      const v1::GetJobTemplateRequest& request);
  absl::StatusOr<v1::ListJobTemplatesResponse> ListJobTemplates(
      const v1::ListJobTemplatesRequest& request);
  absl::StatusOr<v1::UpdateJobTemplateResponse> UpdateJobTemplate(
      const v1::UpdateJobTemplateRequest& request);
  absl::StatusOr<v1::DeleteJobTemplateResponse> DeleteJobTemplate(
      const v1::DeleteJobTemplateRequest& request);

  // ---- QueueService (a queue is a workspace's job type) ----
  absl::StatusOr<v1::ListQueuesResponse> ListQueues(const v1::ListQueuesRequest& request);
  absl::StatusOr<v1::PauseQueueResponse> PauseQueue(const v1::PauseQueueRequest& request);
  absl::StatusOr<v1::ResumeQueueResponse> ResumeQueue(const v1::ResumeQueueRequest& request);
  absl::StatusOr<v1::SetQueueLimitsResponse> SetQueueLimits(
      const v1::SetQueueLimitsRequest& request);

  // ---- built on the calls above ----
  // Follows one job until it ends, across dropped connections and jobd restarts, handing each
  // event to hooks.on_event once and in order: WatchJobEvents over WatchJob streams.
  WatchOutcome WatchJobResumable(const WatchOptions& options, const WatchHooks& hooks);
  // The WatchJob streams WatchJobResumable reads, for callers that run WatchJobEvents
  // themselves. Valid while this client lives.
  StreamOpener JobEventStreams();
  // Every page of ListJobEvents, oldest first, each event handed to on_event as its page
  // comes; page_size 0 is the server's default. Each page is one call with its own deadline.
  absl::Status ListAllJobEvents(const std::string& job_id, int page_size,
                                const std::function<void(const v1::JobEvent&)>& on_event);

  const ClientOptions& options() const { return options_; }
  // The channel of every call, e.g. to run a Worker on the same connection.
  const std::shared_ptr<grpc::ChannelInterface>& channel() const { return channel_; }

 private:
  template <typename Stub, typename Request, typename Response>
  using StubMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  // Runs one unary call with the credentials of options_ and a deadline of `timeout`.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub& stub, StubMethod<Stub, Request, Response> method,
                                const Request& request, absl::Duration timeout);
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub& stub, StubMethod<Stub, Request, Response> method,
                                const Request& request) {
    return Call(stub, method, request, options_.timeout);
  }
  // Opens one server-streaming JobService call with the credentials of options_, no deadline.
  template <typename Request, typename Response>
  using StreamMethod = std::unique_ptr<grpc::ClientReader<Response>> (v1::JobService::Stub::*)(
      grpc::ClientContext*, const Request&);
  template <typename Request, typename Response>
  std::unique_ptr<ServerStream<Response>> OpenStream(StreamMethod<Request, Response> method,
                                                     const Request& request);
  void AddCredentials(grpc::ClientContext& context) const;

  ClientOptions options_;
  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::ScheduleService::Stub> schedules_;
  std::unique_ptr<v1::TemplateService::Stub> templates_;
  std::unique_ptr<v1::QueueService::Stub> queues_;
};

// Plaintext, or TLS when options.tls_ca_file is set (with a client certificate when
// tls_cert_file is). INVALID_ARGUMENT naming the option when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientOptions& options);
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options,
                                                           const grpc::ChannelArguments& args = {});

// Channel arguments under which gRPC tries to reconnect every 100 ms to 2 s (its default grows
// to 2 minutes), so that a watch resumes soon after jobd is back.
grpc::ChannelArguments QuickReconnectArgs();

// A plaintext channel whose every call carries `authorization: Bearer <api_key>` (none when
// empty), for code that uses the generated stubs directly (tests, benchmarks). Do not use it
// under JobdClient or Worker, which add the key to each call themselves.
std::shared_ptr<grpc::Channel> MakeKeyedChannel(const std::string& address,
                                                const std::string& api_key,
                                                const grpc::ChannelArguments& args = {});

}  // namespace jobd::client
