// The client library's JobdClient: a method for every RPC of the six services (so that a new
// RPC without one fails here), and the calls against fake services on an in-process channel:
// the key and the deadline on every call, AcquireJobs' deadline over its long poll, the raw and
// the resumable watch streams, and the paging of a job's events.
#include "client/jobd_client.h"

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace jobd::client {
namespace {

using ::testing::ElementsAre;

// ---- a method per RPC ----------------------------------------------------------------------

template <typename Request, typename Response>
using Unary = absl::StatusOr<Response> (JobdClient::*)(const Request&);
template <typename Request, typename Response>
using Streaming = std::unique_ptr<ServerStream<Response>> (JobdClient::*)(const Request&);

template <typename Actual, typename Expected>
constexpr bool Typed() {
  static_assert(std::is_same_v<Actual, Expected>,
                "JobdClient's method must take the RPC's request and return its response");
  return true;
}

struct ClientMethod {
  const char* service;
  const char* method;
  bool server_streaming;
  bool typed;  // always true: a mismatch fails to compile
  // The message names the table typed the method with.
  const char* request;
  const char* response;
};

// Each entry compiles only when JobdClient has the method, with the RPC's types: <Rpc>Request
// and <Rpc>Response, or (UNARY_AS) the messages named, for RPCs that share theirs.
#define UNARY_AS(service, rpc, request, response)                                                  \
  ClientMethod {                                                                                   \
    service, #rpc, /*server_streaming=*/false,                                                     \
        Typed<decltype(&JobdClient::rpc), Unary<v1::request, v1::response>>(), #request, #response \
  }
#define UNARY(service, rpc) UNARY_AS(service, rpc, rpc##Request, rpc##Response)
#define STREAMING(service, rpc)                                                              \
  ClientMethod {                                                                             \
    service, #rpc, /*server_streaming=*/true,                                                \
        Typed<decltype(&JobdClient::rpc), Streaming<v1::rpc##Request, v1::rpc##Response>>(), \
        #rpc "Request", #rpc "Response"                                                      \
  }

// One RPC per line, in the protos' order.
// clang-format off
const ClientMethod kClientMethods[] = {
    UNARY("jobd.v1.JobService", CreateJob),
    UNARY("jobd.v1.JobService", BatchCreateJobs),
    UNARY("jobd.v1.JobService", GetJob),
    UNARY("jobd.v1.JobService", ListJobs),
    UNARY("jobd.v1.JobService", CancelJob),
    UNARY("jobd.v1.JobService", RetryJob),
    STREAMING("jobd.v1.JobService", WatchJob),
    STREAMING("jobd.v1.JobService", WatchJobs),
    UNARY("jobd.v1.JobService", ListJobEvents),
    UNARY("jobd.v1.JobService", GetJobStats),
    UNARY("jobd.v1.JobService", PauseJob),
    UNARY("jobd.v1.JobService", ResumeJob),
    UNARY("jobd.v1.JobService", DeleteJob),
    UNARY_AS("jobd.v1.JobService", BulkCancelJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY_AS("jobd.v1.JobService", BulkRetryJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY_AS("jobd.v1.JobService", BulkPauseJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY_AS("jobd.v1.JobService", BulkResumeJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY_AS("jobd.v1.JobService", BulkDeleteJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY_AS("jobd.v1.JobService", BulkFailJobs, BulkJobsRequest, BulkJobsResponse),
    UNARY("jobd.v1.WorkerService", AcquireJobs),
    UNARY("jobd.v1.WorkerService", ReportProgress),
    UNARY("jobd.v1.WorkerService", CompleteJob),
    UNARY("jobd.v1.WorkerService", FailJob),
    UNARY("jobd.v1.AdminService", CreateApiKey),
    UNARY("jobd.v1.AdminService", ListApiKeys),
    UNARY("jobd.v1.AdminService", RevokeApiKey),
    UNARY("jobd.v1.AdminService", WhoAmI),
    UNARY("jobd.v1.ScheduleService", CreateSchedule),
    UNARY("jobd.v1.ScheduleService", GetSchedule),
    UNARY("jobd.v1.ScheduleService", ListSchedules),
    UNARY("jobd.v1.ScheduleService", UpdateSchedule),
    UNARY("jobd.v1.ScheduleService", DeleteSchedule),
    UNARY("jobd.v1.ScheduleService", PauseSchedule),
    UNARY("jobd.v1.ScheduleService", ResumeSchedule),
    UNARY("jobd.v1.ScheduleService", TriggerSchedule),
    UNARY("jobd.v1.ScheduleService", BackfillSchedule),
    UNARY("jobd.v1.TemplateService", CreateJobTemplate),
    UNARY("jobd.v1.TemplateService", GetJobTemplate),
    UNARY("jobd.v1.TemplateService", ListJobTemplates),
    UNARY("jobd.v1.TemplateService", UpdateJobTemplate),
    UNARY("jobd.v1.TemplateService", DeleteJobTemplate),
    UNARY("jobd.v1.QueueService", ListQueues),
    UNARY("jobd.v1.QueueService", PauseQueue),
    UNARY("jobd.v1.QueueService", ResumeQueue),
    UNARY("jobd.v1.QueueService", SetQueueLimits),
};
// clang-format on

#undef UNARY
#undef UNARY_AS
#undef STREAMING

TEST(JobdClient, HasAMethodForEveryRpc) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> rpcs;
  for (const char* name :
       {v1::JobService::service_full_name(), v1::WorkerService::service_full_name(),
        v1::AdminService::service_full_name(), v1::ScheduleService::service_full_name(),
        v1::TemplateService::service_full_name(), v1::QueueService::service_full_name()}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      rpcs.insert(std::string(name) + "." + method->name());
      bool found = false;
      for (const ClientMethod& m : kClientMethods) {
        if (name != std::string(m.service) || method->name() != m.method) continue;
        found = true;
        EXPECT_TRUE(m.typed);
        EXPECT_EQ(m.server_streaming, method->server_streaming()) << method->full_name();
        EXPECT_FALSE(method->client_streaming()) << method->full_name();
        // The messages the table typed the method with must be the proto's.
        EXPECT_EQ(method->input_type()->name(), m.request) << method->full_name();
        EXPECT_EQ(method->output_type()->name(), m.response) << method->full_name();
      }
      EXPECT_TRUE(found) << method->full_name() << " has no JobdClient method";
    }
  }
  for (const ClientMethod& m : kClientMethods) {
    EXPECT_EQ(rpcs.count(std::string(m.service) + "." + m.method), 1u)
        << m.service << "." << m.method << " is not an RPC";
  }
  EXPECT_EQ(rpcs.size(), std::size(kClientMethods));
}

// ---- calls against fake services -----------------------------------------------------------

v1::JobEvent Event(int64_t sequence, v1::JobState state) {
  v1::JobEvent event;
  event.set_job_id("j1");
  event.set_sequence(sequence);
  event.set_kind(sequence == 1 ? v1::JOB_EVENT_KIND_SNAPSHOT : v1::JOB_EVENT_KIND_PROGRESS);
  event.mutable_job()->set_id("j1");
  event.mutable_job()->set_state(state);
  return event;
}

std::string Authorization(const grpc::ServerContext& context) {
  auto it = context.client_metadata().find("authorization");
  if (it == context.client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// WatchJob: #1 RUNNING, #2 SUCCEEDED after the requested sequence. ListJobEvents: pages of
// one event, #1..#3. BulkCancelJobs: as many matched as ids, every one changed in one chunk.
class FakeJobService : public v1::JobService::Service {
 public:
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::WatchJobResponse>* writer) override {
    Record(*context, request->has_after_sequence() ? request->after_sequence() : -1);
    if (request->id() != "j1") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such job");
    const v1::JobEvent events[] = {Event(1, v1::JOB_STATE_RUNNING),
                                   Event(2, v1::JOB_STATE_SUCCEEDED)};
    for (const v1::JobEvent& event : events) {
      if (request->has_after_sequence() && event.sequence() <= request->after_sequence()) continue;
      v1::WatchJobResponse response;
      *response.mutable_event() = event;
      writer->Write(response);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListJobEvents(grpc::ServerContext* context, const v1::ListJobEventsRequest* request,
                             v1::ListJobEventsResponse* response) override {
    const int64_t next = request->page_token().empty() ? 1 : std::stoll(request->page_token());
    *response->add_events() = Event(next, v1::JOB_STATE_RUNNING);
    if (next < 3) response->set_next_page_token(std::to_string(next + 1));
    return grpc::Status::OK;
  }

  grpc::Status BulkCancelJobs(grpc::ServerContext* context, const v1::BulkJobsRequest* request,
                              v1::BulkJobsResponse* response) override {
    Record(*context, -1);
    response->set_matched(request->ids_size());
    response->set_changed(request->dry_run() ? 0 : request->ids_size());
    response->set_dry_run(request->dry_run());
    response->set_chunks(request->dry_run() ? 0 : 1);
    return grpc::Status::OK;
  }

  void Record(const grpc::ServerContext& context, int64_t after) {
    std::lock_guard<std::mutex> lock(mu);
    authorizations.push_back(Authorization(context));
    afters.push_back(after);
  }

  std::mutex mu;  // std, not absl: visible to ThreadSanitizer
  std::vector<std::string> authorizations ABSL_GUARDED_BY(mu);
  std::vector<int64_t> afters ABSL_GUARDED_BY(mu);  // -1: no after_sequence
};

// AcquireJobs answers at once and records the call's deadline and key.
class FakeWorkerService : public v1::WorkerService::Service {
 public:
  grpc::Status AcquireJobs(grpc::ServerContext* context, const v1::AcquireJobsRequest* request,
                           v1::AcquireJobsResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    deadline = absl::FromChrono(context->deadline());
    authorization = Authorization(*context);
    return grpc::Status::OK;
  }

  std::mutex mu;  // std, not absl: visible to ThreadSanitizer
  absl::Time deadline ABSL_GUARDED_BY(mu);
  std::string authorization ABSL_GUARDED_BY(mu);
};

// PauseSchedule and GetJobTemplate answer at once and record each call's deadline and key.
class FakeScheduleAndTemplateServices {
 public:
  class Schedules : public v1::ScheduleService::Service {
   public:
    explicit Schedules(FakeScheduleAndTemplateServices& calls) : calls_(calls) {}
    grpc::Status PauseSchedule(grpc::ServerContext* context,
                               const v1::PauseScheduleRequest* request,
                               v1::PauseScheduleResponse* response) override {
      calls_.Record(*context, request->id());
      response->mutable_schedule()->set_id(request->id());
      response->mutable_schedule()->set_paused(true);
      response->mutable_schedule()->set_pause_note(request->note());
      return grpc::Status::OK;
    }

   private:
    FakeScheduleAndTemplateServices& calls_;
  };
  class Templates : public v1::TemplateService::Service {
   public:
    explicit Templates(FakeScheduleAndTemplateServices& calls) : calls_(calls) {}
    grpc::Status GetJobTemplate(grpc::ServerContext* context,
                                const v1::GetJobTemplateRequest* request,
                                v1::GetJobTemplateResponse* response) override {
      calls_.Record(*context, request->id());
      if (request->id() != "t1") {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "template nope not found");
      }
      response->mutable_job_template()->set_id("t1");
      return grpc::Status::OK;
    }

   private:
    FakeScheduleAndTemplateServices& calls_;
  };

  void Record(const grpc::ServerContext& context, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    ids.push_back(id);
    authorizations.push_back(Authorization(context));
    deadlines.push_back(absl::FromChrono(context.deadline()));
  }

  Schedules schedules{*this};
  Templates templates{*this};
  std::mutex mu;  // std, not absl: visible to ThreadSanitizer
  std::vector<std::string> ids ABSL_GUARDED_BY(mu);
  std::vector<std::string> authorizations ABSL_GUARDED_BY(mu);
  std::vector<absl::Time> deadlines ABSL_GUARDED_BY(mu);
};

// SetQueueLimits answers the queue with the limits asked for, and records the key.
class FakeQueueService : public v1::QueueService::Service {
 public:
  grpc::Status SetQueueLimits(grpc::ServerContext* context,
                              const v1::SetQueueLimitsRequest* request,
                              v1::SetQueueLimitsResponse* response) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      authorization = Authorization(*context);
    }
    v1::Queue& queue = *response->mutable_queue();
    queue.set_workspace_id(request->workspace_id());
    queue.set_type(request->type());
    if (request->has_max_running()) queue.set_max_running(request->max_running());
    return grpc::Status::OK;
  }

  std::mutex mu;  // std, not absl: visible to ThreadSanitizer
  std::string authorization ABSL_GUARDED_BY(mu);
};

class JobdClientCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&jobs_);
    builder.RegisterService(&workers_);
    builder.RegisterService(&more_.schedules);
    builder.RegisterService(&more_.templates);
    builder.RegisterService(&queues_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.api_key = "jobd_test";
    options.timeout = absl::Seconds(10);
    client_ = std::make_unique<JobdClient>(server_->InProcessChannel({}), options);
  }
  void TearDown() override { server_->Shutdown(); }

  FakeJobService jobs_;
  FakeWorkerService workers_;
  FakeScheduleAndTemplateServices more_;
  FakeQueueService queues_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<JobdClient> client_;
};

TEST_F(JobdClientCalls, AcquireJobsWaitsForItsLongPollPlusTheTimeoutWithTheKey) {
  v1::AcquireJobsRequest request;
  request.mutable_wait()->set_seconds(20);
  const absl::Time before = absl::Now();
  ASSERT_TRUE(client_->AcquireJobs(request).ok());
  const absl::Time after = absl::Now();
  std::lock_guard<std::mutex> lock(workers_.mu);
  // 10 s timeout + 20 s wait; gRPC's clock conversions may move the deadline by a few us.
  const absl::Duration slack = absl::Milliseconds(50);
  EXPECT_GE(workers_.deadline, before + absl::Seconds(30) - slack);
  EXPECT_LE(workers_.deadline, after + absl::Seconds(30) + slack);
  EXPECT_EQ(workers_.authorization, "Bearer jobd_test");
}

TEST_F(JobdClientCalls, ScheduleAndTemplateCallsCarryTheKeyAndTheTimeout) {
  v1::PauseScheduleRequest pause;
  pause.set_id("s1");
  pause.set_note("holiday");
  const absl::Time before = absl::Now();
  absl::StatusOr<v1::PauseScheduleResponse> paused = client_->PauseSchedule(pause);
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->schedule().pause_note(), "holiday");
  v1::GetJobTemplateRequest get;
  get.set_id("t1");
  absl::StatusOr<v1::GetJobTemplateResponse> got = client_->GetJobTemplate(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->job_template().id(), "t1");
  get.set_id("nope");
  EXPECT_EQ(client_->GetJobTemplate(get).status(), absl::NotFoundError("template nope not found"));
  const absl::Time after = absl::Now();

  std::lock_guard<std::mutex> lock(more_.mu);
  EXPECT_THAT(more_.ids, ElementsAre("s1", "t1", "nope"));
  EXPECT_THAT(more_.authorizations,
              ElementsAre("Bearer jobd_test", "Bearer jobd_test", "Bearer jobd_test"));
  const absl::Duration slack = absl::Milliseconds(50);
  for (absl::Time deadline : more_.deadlines) {  // options.timeout: 10 s
    EXPECT_GE(deadline, before + absl::Seconds(10) - slack);
    EXPECT_LE(deadline, after + absl::Seconds(10) + slack);
  }
}

TEST_F(JobdClientCalls, BulkAndQueueCallsReachTheirServicesWithTheKey) {
  v1::BulkJobsRequest bulk;
  bulk.set_workspace_id("ws");
  bulk.add_ids("j1");
  bulk.add_ids("j2");
  absl::StatusOr<v1::BulkJobsResponse> cancelled = client_->BulkCancelJobs(bulk);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->matched(), 2);
  EXPECT_EQ(cancelled->changed(), 2);
  EXPECT_EQ(cancelled->chunks(), 1);
  // Not implemented by the fake: the call went to JobService.BulkRetryJobs, not elsewhere.
  EXPECT_EQ(client_->BulkRetryJobs(bulk).status().code(), absl::StatusCode::kUnimplemented);

  v1::SetQueueLimitsRequest limits;
  limits.set_workspace_id("ws");
  limits.set_type("import.csv");
  limits.set_max_running(4);
  absl::StatusOr<v1::SetQueueLimitsResponse> set = client_->SetQueueLimits(limits);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->queue().type(), "import.csv");
  EXPECT_EQ(set->queue().max_running(), 4);
  EXPECT_FALSE(set->queue().has_max_starts_per_second());
  EXPECT_EQ(client_->ListQueues({}).status().code(), absl::StatusCode::kUnimplemented);
  {
    std::lock_guard<std::mutex> lock(queues_.mu);
    EXPECT_EQ(queues_.authorization, "Bearer jobd_test");
  }
  std::lock_guard<std::mutex> lock(jobs_.mu);
  EXPECT_THAT(jobs_.authorizations, ElementsAre("Bearer jobd_test"));
}

TEST_F(JobdClientCalls, ErrorsKeepTheirCode) {
  // Not implemented by the fake: the code and message come through as absl::Status.
  absl::StatusOr<v1::GetJobStatsResponse> stats = client_->GetJobStats({});
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(JobdClientCalls, WatchJobStreamsUntilTheEnd) {
  v1::WatchJobRequest request;
  request.set_id("j1");
  std::unique_ptr<ServerStream<v1::WatchJobResponse>> stream = client_->WatchJob(request);
  std::vector<int64_t> sequences;
  v1::WatchJobResponse response;
  while (stream->Read(&response)) sequences.push_back(response.event().sequence());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_THAT(sequences, ElementsAre(1, 2));

  request.set_id("nope");
  stream = client_->WatchJob(request);
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish(), absl::NotFoundError("no such job"));
  std::lock_guard<std::mutex> lock(jobs_.mu);
  EXPECT_THAT(jobs_.authorizations, ElementsAre("Bearer jobd_test", "Bearer jobd_test"));
}

TEST_F(JobdClientCalls, WatchJobResumableFollowsTheJobToItsEnd) {
  std::vector<int64_t> sequences;
  WatchHooks hooks;
  hooks.on_event = [&](const v1::JobEvent& event) { sequences.push_back(event.sequence()); };
  WatchOptions options;
  options.job_id = "j1";
  WatchOutcome outcome = client_->WatchJobResumable(options, hooks);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.final_state, v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(outcome.last_sequence, 2);
  EXPECT_THAT(sequences, ElementsAre(1, 2));

  sequences.clear();
  options.after_sequence = 1;
  outcome = client_->WatchJobResumable(options, hooks);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_THAT(sequences, ElementsAre(2));
  std::lock_guard<std::mutex> lock(jobs_.mu);
  EXPECT_THAT(jobs_.afters, ElementsAre(-1, 1));
}

TEST_F(JobdClientCalls, ListAllJobEventsFollowsThePages) {
  std::vector<int64_t> sequences;
  absl::Status status = client_->ListAllJobEvents(
      "j1", 1, [&](const v1::JobEvent& event) { sequences.push_back(event.sequence()); });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3));
}

}  // namespace
}  // namespace jobd::client
