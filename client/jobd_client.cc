#include "client/jobd_client.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <grpcpp/support/client_interceptor.h>

#include "absl/strings/str_cat.h"
#include "client/paging.h"

namespace jobd::client {

namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Adds the key to every call's initial metadata.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string& key) : header_("Bearer " + key) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(std::string key) : key_(std::move(key)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(key_);
  }

 private:
  const std::string key_;
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeKeyedChannel(const std::string& address,
                                                const std::string& api_key,
                                                const grpc::ChannelArguments& args) {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!api_key.empty()) factories.push_back(std::make_unique<BearerInterceptorFactory>(api_key));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(factories));
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientOptions& options) {
  if (options.tls_ca_file.empty()) {
    if (!options.tls_cert_file.empty()) {
      return absl::InvalidArgumentError("tls_cert_file: needs tls_ca_file (mutual TLS is TLS)");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file and tls_key_file: give both or neither");
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadPem(options.tls_ca_file, "tls_ca_file");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *ca;
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(options.tls_cert_file, "tls_cert_file");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(options.tls_key_file, "tls_key_file");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options,
                                                           const grpc::ChannelArguments& args) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options);
  if (!credentials.ok()) return credentials.status();
  return grpc::CreateCustomChannel(options.address, *credentials, args);
}

grpc::ChannelArguments QuickReconnectArgs() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also takes it as the connect timeout (default
  // 20 s), and at 100 ms a loaded jobd's handshake failed ("timed out before receiving
  // SETTINGS frame").
  return args;
}

absl::StatusOr<std::unique_ptr<JobdClient>> JobdClient::Connect(const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(options, QuickReconnectArgs());
  if (!channel.ok()) return channel.status();
  return std::make_unique<JobdClient>(*channel, options);
}

JobdClient::JobdClient(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      jobs_(v1::JobService::NewStub(channel_)),
      workers_(v1::WorkerService::NewStub(channel_)),
      admin_(v1::AdminService::NewStub(channel_)),
      schedules_(v1::ScheduleService::NewStub(channel_)),
      templates_(v1::TemplateService::NewStub(channel_)),
      queues_(v1::QueueService::NewStub(channel_)) {}

void JobdClient::AddCredentials(grpc::ClientContext& context) const {
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.api_key);
  }
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> JobdClient::Call(Stub& stub, StubMethod<Stub, Request, Response> method,
                                          const Request& request, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  AddCredentials(context);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

// ---- JobService ----------------------------------------------------------------------------

absl::StatusOr<v1::CreateJobResponse> JobdClient::CreateJob(const v1::CreateJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::CreateJob, request);
}

absl::StatusOr<v1::BatchCreateJobsResponse> JobdClient::BatchCreateJobs(
    const v1::BatchCreateJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BatchCreateJobs, request);
}

absl::StatusOr<v1::GetJobResponse> JobdClient::GetJob(const v1::GetJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::GetJob, request);
}

absl::StatusOr<v1::ListJobsResponse> JobdClient::ListJobs(const v1::ListJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::ListJobs, request);
}

absl::StatusOr<v1::CancelJobResponse> JobdClient::CancelJob(const v1::CancelJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::CancelJob, request);
}

absl::StatusOr<v1::RetryJobResponse> JobdClient::RetryJob(const v1::RetryJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::RetryJob, request);
}

absl::StatusOr<v1::ListJobEventsResponse> JobdClient::ListJobEvents(
    const v1::ListJobEventsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::ListJobEvents, request);
}

absl::StatusOr<v1::GetJobStatsResponse> JobdClient::GetJobStats(
    const v1::GetJobStatsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::GetJobStats, request);
}

absl::StatusOr<v1::PauseJobResponse> JobdClient::PauseJob(const v1::PauseJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::PauseJob, request);
}

absl::StatusOr<v1::ResumeJobResponse> JobdClient::ResumeJob(const v1::ResumeJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::ResumeJob, request);
}

absl::StatusOr<v1::DeleteJobResponse> JobdClient::DeleteJob(const v1::DeleteJobRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::DeleteJob, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkCancelJobs(
    const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkCancelJobs, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkRetryJobs(const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkRetryJobs, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkPauseJobs(const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkPauseJobs, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkResumeJobs(
    const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkResumeJobs, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkDeleteJobs(
    const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkDeleteJobs, request);
}

absl::StatusOr<v1::BulkJobsResponse> JobdClient::BulkFailJobs(const v1::BulkJobsRequest& request) {
  return Call(*jobs_, &v1::JobService::Stub::BulkFailJobs, request);
}

template <typename Request, typename Response>
std::unique_ptr<ServerStream<Response>> JobdClient::OpenStream(
    StreamMethod<Request, Response> method, const Request& request) {
  std::unique_ptr<ServerStream<Response>> stream(new ServerStream<Response>());
  AddCredentials(stream->context_);
  stream->reader_ = ((*jobs_).*method)(&stream->context_, request);
  return stream;
}

std::unique_ptr<ServerStream<v1::WatchJobResponse>> JobdClient::WatchJob(
    const v1::WatchJobRequest& request) {
  return OpenStream(&v1::JobService::Stub::WatchJob, request);
}

std::unique_ptr<ServerStream<v1::WatchJobsResponse>> JobdClient::WatchJobs(
    const v1::WatchJobsRequest& request) {
  return OpenStream(&v1::JobService::Stub::WatchJobs, request);
}

// ---- WorkerService -------------------------------------------------------------------------

absl::StatusOr<v1::AcquireJobsResponse> JobdClient::AcquireJobs(
    const v1::AcquireJobsRequest& request) {
  // The server may hold the call for `wait` before it answers; the deadline must outlast that.
  const absl::Duration wait =
      absl::Seconds(request.wait().seconds()) + absl::Nanoseconds(request.wait().nanos());
  return Call(*workers_, &v1::WorkerService::Stub::AcquireJobs, request,
              options_.timeout + std::max(wait, absl::ZeroDuration()));
}

absl::StatusOr<v1::ReportProgressResponse> JobdClient::ReportProgress(
    const v1::ReportProgressRequest& request) {
  return Call(*workers_, &v1::WorkerService::Stub::ReportProgress, request);
}

absl::StatusOr<v1::CompleteJobResponse> JobdClient::CompleteJob(
    const v1::CompleteJobRequest& request) {
  return Call(*workers_, &v1::WorkerService::Stub::CompleteJob, request);
}

absl::StatusOr<v1::FailJobResponse> JobdClient::FailJob(const v1::FailJobRequest& request) {
  return Call(*workers_, &v1::WorkerService::Stub::FailJob, request);
}

// ---- AdminService --------------------------------------------------------------------------

absl::StatusOr<v1::CreateApiKeyResponse> JobdClient::CreateApiKey(
    const v1::CreateApiKeyRequest& request) {
  return Call(*admin_, &v1::AdminService::Stub::CreateApiKey, request);
}

absl::StatusOr<v1::ListApiKeysResponse> JobdClient::ListApiKeys(
    const v1::ListApiKeysRequest& request) {
  return Call(*admin_, &v1::AdminService::Stub::ListApiKeys, request);
}

absl::StatusOr<v1::RevokeApiKeyResponse> JobdClient::RevokeApiKey(
    const v1::RevokeApiKeyRequest& request) {
  return Call(*admin_, &v1::AdminService::Stub::RevokeApiKey, request);
}

absl::StatusOr<v1::WhoAmIResponse> JobdClient::WhoAmI(const v1::WhoAmIRequest& request) {
  return Call(*admin_, &v1::AdminService::Stub::WhoAmI, request);
}

// ---- ScheduleService -----------------------------------------------------------------------

absl::StatusOr<v1::CreateScheduleResponse> JobdClient::CreateSchedule(
    const v1::CreateScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::CreateSchedule, request);
}

absl::StatusOr<v1::GetScheduleResponse> JobdClient::GetSchedule(
    const v1::GetScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::GetSchedule, request);
}

absl::StatusOr<v1::ListSchedulesResponse> JobdClient::ListSchedules(
    const v1::ListSchedulesRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::ListSchedules, request);
}

absl::StatusOr<v1::UpdateScheduleResponse> JobdClient::UpdateSchedule(
    const v1::UpdateScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::UpdateSchedule, request);
}

absl::StatusOr<v1::DeleteScheduleResponse> JobdClient::DeleteSchedule(
    const v1::DeleteScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::DeleteSchedule, request);
}

absl::StatusOr<v1::PauseScheduleResponse> JobdClient::PauseSchedule(
    const v1::PauseScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::PauseSchedule, request);
}

absl::StatusOr<v1::ResumeScheduleResponse> JobdClient::ResumeSchedule(
    const v1::ResumeScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::ResumeSchedule, request);
}

absl::StatusOr<v1::TriggerScheduleResponse> JobdClient::TriggerSchedule(
    const v1::TriggerScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::TriggerSchedule, request);
}

absl::StatusOr<v1::BackfillScheduleResponse> JobdClient::BackfillSchedule(
    const v1::BackfillScheduleRequest& request) {
  return Call(*schedules_, &v1::ScheduleService::Stub::BackfillSchedule, request);
}

// ---- TemplateService -----------------------------------------------------------------------

absl::StatusOr<v1::CreateJobTemplateResponse> JobdClient::CreateJobTemplate(
    const v1::CreateJobTemplateRequest& request) {
  return Call(*templates_, &v1::TemplateService::Stub::CreateJobTemplate, request);
}

absl::StatusOr<v1::GetJobTemplateResponse> JobdClient::GetJobTemplate(
    const v1::GetJobTemplateRequest& request) {
  return Call(*templates_, &v1::TemplateService::Stub::GetJobTemplate, request);
}

absl::StatusOr<v1::ListJobTemplatesResponse> JobdClient::ListJobTemplates(
    const v1::ListJobTemplatesRequest& request) {
  return Call(*templates_, &v1::TemplateService::Stub::ListJobTemplates, request);
}

absl::StatusOr<v1::UpdateJobTemplateResponse> JobdClient::UpdateJobTemplate(
    const v1::UpdateJobTemplateRequest& request) {
  return Call(*templates_, &v1::TemplateService::Stub::UpdateJobTemplate, request);
}

absl::StatusOr<v1::DeleteJobTemplateResponse> JobdClient::DeleteJobTemplate(
    const v1::DeleteJobTemplateRequest& request) {
  return Call(*templates_, &v1::TemplateService::Stub::DeleteJobTemplate, request);
}

// ---- QueueService --------------------------------------------------------------------------

absl::StatusOr<v1::ListQueuesResponse> JobdClient::ListQueues(
    const v1::ListQueuesRequest& request) {
  return Call(*queues_, &v1::QueueService::Stub::ListQueues, request);
}

absl::StatusOr<v1::PauseQueueResponse> JobdClient::PauseQueue(
    const v1::PauseQueueRequest& request) {
  return Call(*queues_, &v1::QueueService::Stub::PauseQueue, request);
}

absl::StatusOr<v1::ResumeQueueResponse> JobdClient::ResumeQueue(
    const v1::ResumeQueueRequest& request) {
  return Call(*queues_, &v1::QueueService::Stub::ResumeQueue, request);
}

absl::StatusOr<v1::SetQueueLimitsResponse> JobdClient::SetQueueLimits(
    const v1::SetQueueLimitsRequest& request) {
  return Call(*queues_, &v1::QueueService::Stub::SetQueueLimits, request);
}

// ---- built on the calls --------------------------------------------------------------------

namespace {

// A WatchJob call as the resumable watch reads it: events instead of responses.
class WatchJobEventStream : public EventStream {
 public:
  explicit WatchJobEventStream(std::unique_ptr<ServerStream<v1::WatchJobResponse>> stream)
      : stream_(std::move(stream)) {}

  bool Read(v1::JobEvent* event) override {
    v1::WatchJobResponse response;
    if (!stream_->Read(&response)) return false;
    *event = std::move(*response.mutable_event());
    return true;
  }
  absl::Status Finish() override { return stream_->Finish(); }

 private:
  std::unique_ptr<ServerStream<v1::WatchJobResponse>> stream_;
};

}  // namespace

StreamOpener JobdClient::JobEventStreams() {
  return [this](const v1::WatchJobRequest& request) -> std::unique_ptr<EventStream> {
    return std::make_unique<WatchJobEventStream>(WatchJob(request));
  };
}

WatchOutcome JobdClient::WatchJobResumable(const WatchOptions& options, const WatchHooks& hooks) {
  return WatchJobEvents(JobEventStreams(), options, hooks);
}

absl::Status JobdClient::ListAllJobEvents(
    const std::string& job_id, int page_size,
    const std::function<void(const v1::JobEvent&)>& on_event) {
  v1::ListJobEventsRequest request;
  request.set_id(job_id);
  request.set_page_size(page_size);
  return ForEachPage(
      std::move(request), [this](const v1::ListJobEventsRequest& r) { return ListJobEvents(r); },
      [&on_event](const v1::ListJobEventsResponse& page) {
        for (const v1::JobEvent& event : page.events()) on_event(event);
        return absl::OkStatus();
      });
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace jobd::client
