#include "client/jobd_client.h"

#include <utility>

namespace jobd::client {

std::unique_ptr<JobdClient> JobdClient::Connect(const std::string& address) {
  ClientOptions options;
  options.address = address;
  return Connect(options);
}

std::unique_ptr<JobdClient> JobdClient::Connect(const ClientOptions& options) {
  return std::make_unique<JobdClient>(
      grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials()), options);
}

JobdClient::JobdClient(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options)
    : options_(std::move(options)), stub_(v1::JobService::NewStub(std::move(channel))) {}

template <typename Request, typename Response>
absl::StatusOr<Response> JobdClient::Call(StubMethod<Request, Response> method,
                                          const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.api_key);
  }
  Response response;
  grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::CreateJobResponse> JobdClient::CreateJob(const v1::CreateJobRequest& request) {
  return Call(&v1::JobService::Stub::CreateJob, request);
}

absl::StatusOr<v1::GetJobResponse> JobdClient::GetJob(const v1::GetJobRequest& request) {
  return Call(&v1::JobService::Stub::GetJob, request);
}

absl::StatusOr<v1::ListJobsResponse> JobdClient::ListJobs(const v1::ListJobsRequest& request) {
  return Call(&v1::JobService::Stub::ListJobs, request);
}

absl::StatusOr<v1::CancelJobResponse> JobdClient::CancelJob(const v1::CancelJobRequest& request) {
  return Call(&v1::JobService::Stub::CancelJob, request);
}

absl::StatusOr<v1::RetryJobResponse> JobdClient::RetryJob(const v1::RetryJobRequest& request) {
  return Call(&v1::JobService::Stub::RetryJob, request);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace jobd::client
