#include "client/jobd_client.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <grpcpp/support/client_interceptor.h>

#include "absl/strings/str_cat.h"

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

absl::StatusOr<std::unique_ptr<JobdClient>> JobdClient::Connect(const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return std::make_unique<JobdClient>(*channel, options);
}

JobdClient::JobdClient(std::shared_ptr<grpc::ChannelInterface> channel, ClientOptions options)
    : options_(std::move(options)),
      stub_(v1::JobService::NewStub(channel)),
      admin_(v1::AdminService::NewStub(channel)) {}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> JobdClient::Call(Stub& stub, StubMethod<Stub, Request, Response> method,
                                          const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  if (!options_.api_key.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.api_key);
  }
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::CreateJobResponse> JobdClient::CreateJob(const v1::CreateJobRequest& request) {
  return Call(*stub_, &v1::JobService::Stub::CreateJob, request);
}

absl::StatusOr<v1::GetJobResponse> JobdClient::GetJob(const v1::GetJobRequest& request) {
  return Call(*stub_, &v1::JobService::Stub::GetJob, request);
}

absl::StatusOr<v1::ListJobsResponse> JobdClient::ListJobs(const v1::ListJobsRequest& request) {
  return Call(*stub_, &v1::JobService::Stub::ListJobs, request);
}

absl::StatusOr<v1::CancelJobResponse> JobdClient::CancelJob(const v1::CancelJobRequest& request) {
  return Call(*stub_, &v1::JobService::Stub::CancelJob, request);
}

absl::StatusOr<v1::RetryJobResponse> JobdClient::RetryJob(const v1::RetryJobRequest& request) {
  return Call(*stub_, &v1::JobService::Stub::RetryJob, request);
}

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

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace jobd::client
