// JobdClient: a small synchronous C++ client of jobd.v1.JobService and AdminService, used by
// jobctl and by tests. Each call gets a deadline and, when an API key is set, the
// `authorization: Bearer <key>` metadata; gRPC errors come back as absl::Status with the same
// code and message.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"

namespace jobd::client {

struct ClientOptions {
  std::string address = "127.0.0.1:50051";
  // Sent as `authorization: Bearer <api_key>` when non-empty.
  std::string api_key;
  // TLS when set: the CA bundle (PEM) that signed jobd's certificate.
  std::string tls_ca_file;
  // Mutual TLS: this client's certificate chain and key (PEM).
  std::string tls_cert_file, tls_key_file;
  // Deadline of each call.
  absl::Duration timeout = absl::Seconds(30);
};

class JobdClient {
 public:
  // The channel connects lazily: an unreachable server shows up as UNAVAILABLE on the first
  // call. Fails only when a TLS file cannot be read.
  static absl::StatusOr<std::unique_ptr<JobdClient>> Connect(const ClientOptions& options);

  // For callers that bring their own channel (e.g. an in-process server in tests).
  JobdClient(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options);

  absl::StatusOr<v1::CreateJobResponse> CreateJob(const v1::CreateJobRequest& request);
  absl::StatusOr<v1::GetJobResponse> GetJob(const v1::GetJobRequest& request);
  absl::StatusOr<v1::ListJobsResponse> ListJobs(const v1::ListJobsRequest& request);
  absl::StatusOr<v1::CancelJobResponse> CancelJob(const v1::CancelJobRequest& request);
  absl::StatusOr<v1::RetryJobResponse> RetryJob(const v1::RetryJobRequest& request);

  // AdminService (admin keys only).
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(const v1::CreateApiKeyRequest& request);
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const v1::ListApiKeysRequest& request);
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(const v1::RevokeApiKeyRequest& request);

  const ClientOptions& options() const { return options_; }

 private:
  template <typename Stub, typename Request, typename Response>
  using StubMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

  // Runs one unary call with the deadline and credentials of options_.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(Stub& stub, StubMethod<Stub, Request, Response> method,
                                const Request& request);

  ClientOptions options_;
  std::unique_ptr<v1::JobService::Stub> stub_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// Plaintext, or TLS when options.tls_ca_file is set (with a client certificate when
// tls_cert_file is). INVALID_ARGUMENT naming the option when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientOptions& options);
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ClientOptions& options, const grpc::ChannelArguments& args = {});

// A plaintext channel whose every call carries `authorization: Bearer <api_key>` (none when
// empty), for code that uses the generated stubs directly (tests, benchmarks). Do not use it
// under JobdClient or Worker, which add the key to each call themselves.
std::shared_ptr<grpc::Channel> MakeKeyedChannel(const std::string& address,
                                                const std::string& api_key,
                                                const grpc::ChannelArguments& args = {});

// Keeps code and message (both follow google.rpc.Code, so the numbers match).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace jobd::client
