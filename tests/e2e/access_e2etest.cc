// Access end to end (shared/API.md "Access"): every RPC as every kind of principal against a real
// jobd, from one table that must cover every method of the three services; foreign job ids that
// are NOT_FOUND exactly like unknown ones and change nothing; revocation and new keys seen by
// another jobd process of the same database within a second; health without a key.
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/queue_service.grpc.pb.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "jobd/v1/template_service.grpc.pb.h"
#include "tests/e2e/jobd_fixture.h"
#include "tests/e2e/rpc_log.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;
using Channel = std::shared_ptr<grpc::Channel>;

#define EXPECT_CODE(status, code) EXPECT_EQ((status).error_code(), code) << (status).error_message()

constexpr char kA[] = "A";  // the workspace the jobs are in
constexpr char kB[] = "B";  // another workspace

// The principals of the matrix, in column order.
enum Principal {
  kNoKey,
  kUnknownKey,
  kRevokedKey,
  kExpiredKey,
  kViewerA,
  kMemberA,
  kWorkerA,
  kAdmin,
  kMemberB,
  kPrincipals  // the number of columns
};

constexpr std::array<const char*, kPrincipals> kPrincipalNames = {
    "no key",    "unknown key", "revoked key", "expired key", "viewer(A)",
    "member(A)", "worker(A)",   "admin",       "member(B)"};

std::string CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return "OK";
    case StatusCode::CANCELLED:
      return "CANCELLED";
    case StatusCode::UNKNOWN:
      return "UNKNOWN";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case StatusCode::ABORTED:
      return "ABORTED";
    case StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case StatusCode::INTERNAL:
      return "INTERNAL";
    case StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// "jobd_" and 43 random characters of base64url: shaped like a key, known to no jobd.
std::string RandomKey() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device random;
  std::string key = "jobd_";
  for (int i = 0; i < 43; ++i) key += kAlphabet[random() % 64];
  return key;
}

// A UUIDv7 (time now, random rest) that no job has: what an unknown id looks like.
std::string RandomJobId() {
  std::random_device random;
  const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  const uint64_t r1 = (static_cast<uint64_t>(random()) << 32) | random();
  const uint64_t r2 = (static_cast<uint64_t>(random()) << 32) | random();
  return absl::StrFormat("%08x-%04x-7%03x-%04x-%012x", millis >> 16, millis & 0xffff, r1 & 0xfff,
                         0x8000 | ((r1 >> 12) & 0x3fff), r2 & 0xffffffffffffULL);
}

// A call's status with the job id in its message replaced, to compare two ids' answers.
std::string WithoutId(const grpc::Status& status, const std::string& id) {
  return absl::StrCat(CodeName(status.error_code()), ": ",
                      absl::StrReplaceAll(status.error_message(), {{id, "<id>"}}));
}

// --- Calls as a principal --------------------------------------------------------------------
// Each returns the call's status; `as` is a channel carrying the principal's key (or none).

grpc::Status CreateJobAs(const Channel& as, const std::string& workspace, v1::Job* job = nullptr) {
  v1::CreateJobRequest request;
  request.set_workspace_id(workspace);
  request.set_type("t");
  v1::CreateJobResponse response;
  grpc::Status status = v1::JobService::NewStub(as)->CreateJob(Ctx().get(), request, &response);
  if (job) *job = response.job();
  return status;
}

grpc::Status BatchCreateJobsAs(const Channel& as, const std::string& workspace) {
  v1::BatchCreateJobsRequest request;
  request.set_workspace_id(workspace);
  request.add_requests()->set_type("t");
  request.add_requests()->set_type("u");
  v1::BatchCreateJobsResponse response;
  return v1::JobService::NewStub(as)->BatchCreateJobs(Ctx().get(), request, &response);
}

grpc::Status GetJobAs(const Channel& as, const std::string& id, v1::Job* job = nullptr) {
  v1::GetJobRequest request;
  request.set_id(id);
  v1::GetJobResponse response;
  grpc::Status status = v1::JobService::NewStub(as)->GetJob(Ctx().get(), request, &response);
  if (job) *job = response.job();
  return status;
}

grpc::Status ListJobsAs(const Channel& as, const std::string& workspace) {
  v1::ListJobsRequest request;
  request.set_workspace_id(workspace);
  v1::ListJobsResponse response;
  return v1::JobService::NewStub(as)->ListJobs(Ctx().get(), request, &response);
}

grpc::Status CancelJobAs(const Channel& as, const std::string& id) {
  v1::CancelJobRequest request;
  request.set_id(id);
  request.set_reason("access test");
  v1::CancelJobResponse response;
  return v1::JobService::NewStub(as)->CancelJob(Ctx().get(), request, &response);
}

grpc::Status RetryJobAs(const Channel& as, const std::string& id) {
  v1::RetryJobRequest request;
  request.set_id(id);
  v1::RetryJobResponse response;
  return v1::JobService::NewStub(as)->RetryJob(Ctx().get(), request, &response);
}

// OK when the stream opens with a SNAPSHOT; otherwise the refusal from Finish.
grpc::Status WatchJobAs(const Channel& as, const std::string& id) {
  auto stub = v1::JobService::NewStub(as);
  auto context = Ctx();
  v1::WatchJobRequest request;
  request.set_id(id);
  auto reader = stub->WatchJob(context.get(), request);
  v1::WatchJobResponse response;
  if (!reader->Read(&response)) return reader->Finish();
  const v1::JobEventKind first = response.event().kind();
  context->TryCancel();
  while (reader->Read(&response)) {
  }
  reader->Finish();
  if (first != v1::JOB_EVENT_KIND_SNAPSHOT) {
    return grpc::Status(grpc::StatusCode::UNKNOWN,
                        "the first event was " + v1::JobEventKind_Name(first) + ", no SNAPSHOT");
  }
  return grpc::Status::OK;
}

// OK when the stream delivers an event (it was accepted); otherwise the refusal from Finish.
// WatchJobs has no history to send at once, so `poke` makes a job in `workspace` every 100 ms
// until the stream delivers one or ends: acceptance is shown by an event, not inferred from a
// stream that merely stayed open for a while (a slow refusal would look the same).
grpc::Status WatchJobsAs(const Channel& as, const std::string& workspace,
                         const std::function<void()>& poke) {
  auto stub = v1::JobService::NewStub(as);
  auto context = Ctx(absl::Seconds(30));
  v1::WatchJobsRequest request;
  request.set_workspace_id(workspace);
  auto reader = stub->WatchJobs(context.get(), request);
  std::atomic<bool> delivered{false};
  std::atomic<bool> ended{false};
  std::thread read([&] {
    v1::WatchJobsResponse response;
    if (reader->Read(&response)) delivered = true;
    ended = true;
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!ended && absl::Now() < give_up) {
    poke();  // a job made before the stream subscribed is not its: make another
    WaitFor([&] { return ended.load(); }, absl::Milliseconds(100));
  }
  const bool cancelled = !ended;
  if (cancelled) context->TryCancel();
  read.join();
  if (delivered) {
    context->TryCancel();
    v1::WatchJobsResponse rest;
    while (reader->Read(&rest)) {
    }
    reader->Finish();
    return grpc::Status::OK;
  }
  grpc::Status status = reader->Finish();
  if (cancelled && status.error_code() == StatusCode::CANCELLED) {
    return grpc::Status(StatusCode::UNKNOWN, "neither an event nor a refusal within 10 s");
  }
  if (status.ok()) return grpc::Status(StatusCode::UNKNOWN, "the stream ended with OK at once");
  return status;
}

// Polls `changed` every 10 ms for up to 10 s and returns when the last poll that still saw the
// old state began (`since` when the first poll saw the change already); none when no poll saw
// it. The change took effect after that moment, so a bound on jobd measured to it leaves out
// the test's own polling, which a loaded machine slows.
std::optional<absl::Time> LastBeforeChange(absl::Time since, const std::function<bool()>& changed) {
  absl::Time last = since;
  const absl::Time give_up = since + absl::Seconds(10);
  for (;;) {
    const absl::Time asked = absl::Now();
    if (changed()) return last;
    last = asked;
    if (asked > give_up) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

grpc::Status ListJobEventsAs(const Channel& as, const std::string& id, int* count = nullptr) {
  auto stub = v1::JobService::NewStub(as);
  v1::ListJobEventsRequest request;
  request.set_id(id);
  request.set_page_size(500);
  if (count) *count = 0;
  while (true) {
    v1::ListJobEventsResponse response;
    grpc::Status status = stub->ListJobEvents(Ctx().get(), request, &response);
    if (!status.ok()) return status;
    if (count) *count += response.events_size();
    if (response.next_page_token().empty() || !count) return status;
    request.set_page_token(response.next_page_token());
  }
}

grpc::Status GetJobStatsAs(const Channel& as, const std::string& workspace) {
  v1::GetJobStatsRequest request;
  request.set_workspace_id(workspace);
  v1::GetJobStatsResponse response;
  return v1::JobService::NewStub(as)->GetJobStats(Ctx().get(), request, &response);
}

grpc::Status AcquireJobsAs(const Channel& as, const std::string& workspace, const std::string& type,
                           v1::AcquireJobsResponse* response) {
  v1::AcquireJobsRequest request;
  request.set_workspace_id(workspace);
  request.add_types(type);
  request.set_worker_id("access-test");
  request.set_max_jobs(1);
  return v1::WorkerService::NewStub(as)->AcquireJobs(Ctx().get(), request, response);
}

grpc::Status ReportProgressAs(const Channel& as, const std::string& id, const std::string& lease) {
  v1::ReportProgressRequest request;
  request.set_job_id(id);
  request.set_lease_token(lease);
  request.set_progress_percent(50);
  request.set_progress_message("half way");
  v1::ReportProgressResponse response;
  return v1::WorkerService::NewStub(as)->ReportProgress(Ctx().get(), request, &response);
}

grpc::Status CompleteJobAs(const Channel& as, const std::string& id, const std::string& lease) {
  v1::CompleteJobRequest request;
  request.set_job_id(id);
  request.set_lease_token(lease);
  (*request.mutable_result()->mutable_fields())["ok"].set_bool_value(true);
  v1::CompleteJobResponse response;
  return v1::WorkerService::NewStub(as)->CompleteJob(Ctx().get(), request, &response);
}

grpc::Status FailJobAs(const Channel& as, const std::string& id, const std::string& lease) {
  v1::FailJobRequest request;
  request.set_job_id(id);
  request.set_lease_token(lease);
  request.set_error_message("access test");
  request.set_retryable(true);
  v1::FailJobResponse response;
  return v1::WorkerService::NewStub(as)->FailJob(Ctx().get(), request, &response);
}

grpc::Status CreateApiKeyAs(const Channel& as, const std::string& name,
                            v1::CreateApiKeyResponse* response) {
  v1::CreateApiKeyRequest request;
  request.set_name(name);
  request.set_role(v1::API_KEY_ROLE_VIEWER);
  request.set_workspace_id(kA);
  return v1::AdminService::NewStub(as)->CreateApiKey(Ctx().get(), request, response);
}

grpc::Status ListApiKeysAs(const Channel& as, v1::ListApiKeysResponse* response,
                           const std::string& page_token = "") {
  v1::ListApiKeysRequest request;
  request.set_page_size(500);
  request.set_page_token(page_token);
  return v1::AdminService::NewStub(as)->ListApiKeys(Ctx().get(), request, response);
}

// Schedules and templates: each call on its own fresh object, so that a cell never depends on
// another (a schedule far in the future never fires during the test).
v1::Schedule NewSchedule(const std::string& workspace, const std::string& name) {
  v1::Schedule s;
  s.set_workspace_id(workspace);
  s.set_name(name);
  s.mutable_spec()->add_cron("0 0 1 1 *");
  s.mutable_job()->set_type("t");
  return s;
}

grpc::Status CreateScheduleAs(const Channel& as, const std::string& workspace,
                              const std::string& name, std::string* id = nullptr) {
  v1::CreateScheduleRequest request;
  *request.mutable_schedule() = NewSchedule(workspace, name);
  v1::CreateScheduleResponse response;
  grpc::Status status =
      v1::ScheduleService::NewStub(as)->CreateSchedule(Ctx().get(), request, &response);
  if (id != nullptr) *id = response.schedule().id();
  return status;
}

grpc::Status CreateTemplateAs(const Channel& as, const std::string& workspace,
                              const std::string& name, std::string* id = nullptr) {
  v1::CreateJobTemplateRequest request;
  request.mutable_job_template()->set_workspace_id(workspace);
  request.mutable_job_template()->set_name(name);
  request.mutable_job_template()->mutable_defaults()->set_type("t");
  v1::CreateJobTemplateResponse response;
  grpc::Status status =
      v1::TemplateService::NewStub(as)->CreateJobTemplate(Ctx().get(), request, &response);
  if (id != nullptr) *id = response.job_template().id();
  return status;
}

// A schedule's call by id: `call` gets the stub and the id of a fresh schedule in `workspace`.
template <typename Call>
grpc::Status OnFreshSchedule(const Channel& admin, const Channel& as, const std::string& workspace,
                             const std::string& name, Call call) {
  std::string id;
  grpc::Status made = CreateScheduleAs(admin, workspace, name, &id);
  if (!made.ok()) return grpc::Status(StatusCode::UNKNOWN, "setup: " + made.error_message());
  auto stub = v1::ScheduleService::NewStub(as);
  return call(*stub, id);
}

template <typename Call>
grpc::Status OnFreshTemplate(const Channel& admin, const Channel& as, const std::string& workspace,
                             const std::string& name, Call call) {
  std::string id;
  grpc::Status made = CreateTemplateAs(admin, workspace, name, &id);
  if (!made.ok()) return grpc::Status(StatusCode::UNKNOWN, "setup: " + made.error_message());
  auto stub = v1::TemplateService::NewStub(as);
  return call(*stub, id);
}

grpc::Status RevokeApiKeyAs(const Channel& as, const std::string& id) {
  v1::RevokeApiKeyRequest request;
  request.set_id(id);
  v1::RevokeApiKeyResponse response;
  return v1::AdminService::NewStub(as)->RevokeApiKey(Ctx().get(), request, &response);
}

// GetJob with the key as call metadata, over a keyless channel that is already connected (so a
// measurement does not include connecting).
grpc::Status GetJobWithKey(const Channel& plain, const std::string& key, const std::string& id) {
  auto context = Ctx();
  context->AddMetadata("authorization", "Bearer " + key);
  v1::GetJobRequest request;
  request.set_id(id);
  v1::GetJobResponse response;
  return v1::JobService::NewStub(plain)->GetJob(context.get(), request, &response);
}

// --- The fixture -----------------------------------------------------------------------------

class AccessTest : public JobdTest {
 protected:
  void TearDown() override {
    // jobd's graceful stop waits for connected clients: drop ours first.
    principals_.clear();
    JobdTest::TearDown();
  }

  Channel Admin() { return jobd_->channel(); }

  // A channel to jobd #1 carrying `key` (none when empty).
  Channel Keyed(const std::string& key) { return KeyedChannel(jobd_->address(), key); }

  // A job of workspace A created by the admin: QUEUED.
  std::string QueuedJob(const std::string& type = "t") {
    v1::CreateJobRequest request;
    request.set_workspace_id(kA);
    request.set_type(type);
    v1::CreateJobResponse response;
    grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job().id();
  }

  std::string CancelledJob() {
    const std::string id = QueuedJob();
    grpc::Status status = CancelJobAs(Admin(), id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return id;
  }

  std::string PausedJob() {
    const std::string id = QueuedJob();
    v1::PauseJobRequest request;
    request.set_id(id);
    v1::PauseJobResponse response;
    EXPECT_TRUE(v1::JobService::NewStub(Admin())->PauseJob(Ctx().get(), request, &response).ok());
    return id;
  }

  // A bulk call on workspace A's jobs of a type of their own (one QUEUED job each).
  grpc::Status BulkAs(const Channel& as,
                      grpc::Status (v1::JobService::Stub::*call)(grpc::ClientContext*,
                                                                 const v1::BulkJobsRequest&,
                                                                 v1::BulkJobsResponse*)) {
    const std::string type = UniqueType();
    QueuedJob(type);
    v1::BulkJobsRequest request;
    request.set_workspace_id(kA);
    request.mutable_filter()->set_type(type);
    v1::BulkJobsResponse response;
    auto stub = v1::JobService::NewStub(as);
    return ((*stub).*call)(Ctx().get(), request, &response);
  }

  // A type no other job has, so AcquireJobs of it leases exactly the job made for one cell.
  std::string UniqueType() { return absl::StrCat("cell-", ++types_); }

  // A RUNNING job of workspace A and its current lease, leased through `worker`.
  v1::LeasedJob LeasedJob(const Channel& worker) {
    const std::string type = UniqueType();
    const std::string id = QueuedJob(type);
    v1::AcquireJobsResponse acquired;
    grpc::Status status = AcquireJobsAs(worker, kA, type, &acquired);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (acquired.jobs_size() != 1) {
      ADD_FAILURE() << "AcquireJobs leased " << acquired.jobs_size() << " jobs, not " << id;
      return {};
    }
    EXPECT_EQ(acquired.jobs(0).job().id(), id);
    return acquired.jobs(0);
  }

  // A key made by the admin through AdminService, to be revoked in a cell.
  std::string FreshKeyId() {
    v1::CreateApiKeyResponse response;
    grpc::Status status = CreateApiKeyAs(Admin(), "to-revoke", &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.api_key().id();
  }

  // The key whose secret is `secret`, as ListApiKeys shows it (found by its prefix).
  v1::ApiKey FindKey(const std::string& secret) {
    std::string token;
    do {
      v1::ListApiKeysResponse page;
      grpc::Status status = ListApiKeysAs(Admin(), &page, token);
      if (!status.ok()) {
        ADD_FAILURE() << "ListApiKeys: " << status.error_message();
        return {};
      }
      for (const v1::ApiKey& key : page.api_keys()) {
        if (key.key_prefix() == secret.substr(0, key.key_prefix().size())) return key;
      }
      token = page.next_page_token();
    } while (!token.empty());
    ADD_FAILURE() << "no key with the prefix of " << secret.substr(0, 12);
    return {};
  }

  // Waits until `as` may read `workspace` (jobd learns keys made by `jobd keys` within ~250 ms).
  bool WaitAccepted(const Channel& as, const std::string& workspace) {
    return WaitFor([&] { return GetJobStatsAs(as, workspace).ok(); }, absl::Seconds(10));
  }

  bool WaitRefused(const Channel& as, const std::string& workspace) {
    return WaitFor(
        [&] { return GetJobStatsAs(as, workspace).error_code() == StatusCode::UNAUTHENTICATED; },
        absl::Seconds(10));
  }

  // Makes the nine principals of the matrix; the revoked and expired keys are refused on return.
  void MakePrincipals() {
    const std::string url = database_->url();
    principals_.resize(kPrincipals);
    principals_[kNoKey] = Keyed("");
    principals_[kUnknownKey] = Keyed(RandomKey());
    principals_[kViewerA] = Keyed(CreateApiKey(url, "viewer", "vera", {"--workspace", kA}));
    principals_[kMemberA] = Keyed(CreateApiKey(url, "member", "alice", {"--workspace", kA}));
    principals_[kWorkerA] = Keyed(CreateApiKey(url, "worker", "walter", {"--workspace", kA}));
    principals_[kAdmin] = Keyed(CreateApiKey(url, "admin", "root"));
    principals_[kMemberB] = Keyed(CreateApiKey(url, "member", "bob", {"--workspace", kB}));
    for (Principal p : {kViewerA, kMemberA, kWorkerA, kAdmin}) {
      ASSERT_TRUE(WaitAccepted(principals_[p], kA)) << kPrincipalNames[p] << " never accepted";
    }
    ASSERT_TRUE(WaitAccepted(principals_[kMemberB], kB));

    // Revoked: a member key of A that worked, revoked by the admin through AdminService.
    const std::string revoked = CreateApiKey(url, "member", "rita", {"--workspace", kA});
    principals_[kRevokedKey] = Keyed(revoked);
    ASSERT_TRUE(WaitAccepted(principals_[kRevokedKey], kA));
    const v1::ApiKey revoked_key = FindKey(revoked);
    ASSERT_FALSE(revoked_key.id().empty());
    grpc::Status status = RevokeApiKeyAs(Admin(), revoked_key.id());
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(WaitRefused(principals_[kRevokedKey], kA)) << "the revoked key still works";

    // Expired: a member key of A that expires after 1 s; wait until that time has passed and
    // the key is refused.
    const std::string expiring =
        CreateApiKey(url, "member", "eve", {"--workspace", kA, "--expire_in", "1s"});
    principals_[kExpiredKey] = Keyed(expiring);
    const v1::ApiKey expiring_key = FindKey(expiring);
    ASSERT_TRUE(expiring_key.has_expire_time()) << expiring_key.DebugString();
    const absl::Time expire_time = absl::FromUnixSeconds(expiring_key.expire_time().seconds()) +
                                   absl::Nanoseconds(expiring_key.expire_time().nanos());
    ASSERT_TRUE(WaitFor(
        [&] {
          return absl::Now() > expire_time &&
                 GetJobStatsAs(principals_[kExpiredKey], kA).error_code() ==
                     StatusCode::UNAUTHENTICATED;
        },
        absl::Seconds(10)))
        << "the expired key still works";
    for (Principal p : {kNoKey, kUnknownKey, kRevokedKey, kExpiredKey}) {
      std::cerr << kPrincipalNames[p]
                << " is refused: " << GetJobStatsAs(principals_[p], kA).error_message() << "\n";
    }
  }

  std::vector<Channel> principals_;  // one channel per principal, in column order
  int types_ = 0;
};

// --- 1. The matrix ---------------------------------------------------------------------------

// One RPC: how to call it as a principal with a fresh request whose only problem can be the
// principal, and the code each principal must get (in the column order of Principal).
struct Row {
  std::string service;  // full name, e.g. "jobd.v1.JobService"
  std::string method;
  std::array<StatusCode, kPrincipals> expected;
  std::function<grpc::Status(const Channel& as)> call;
};

TEST_F(AccessTest, AccessMatrix) {
  ASSERT_NO_FATAL_FAILURE(MakePrincipals());
  const std::string read_job = QueuedJob();  // for the calls that only read

  constexpr StatusCode OK = StatusCode::OK;
  constexpr StatusCode UN = StatusCode::UNAUTHENTICATED;
  constexpr StatusCode PD = StatusCode::PERMISSION_DENIED;
  constexpr StatusCode NF = StatusCode::NOT_FOUND;
  const std::string job_service = v1::JobService::service_full_name();
  const std::string worker_service = v1::WorkerService::service_full_name();
  const std::string admin_service = v1::AdminService::service_full_name();
  const std::string schedule_service = v1::ScheduleService::service_full_name();
  const std::string template_service = v1::TemplateService::service_full_name();
  // Calls by id on a fresh schedule or template of workspace A, made by the admin.
  auto on_schedule = [&](const Channel& as, auto call) {
    return OnFreshSchedule(Admin(), as, kA, UniqueType(), call);
  };
  auto on_template = [&](const Channel& as, auto call) {
    return OnFreshTemplate(Admin(), as, kA, UniqueType(), call);
  };
  using ScheduleStub = v1::ScheduleService::Stub;
  using TemplateStub = v1::TemplateService::Stub;
  using JobStub = v1::JobService::Stub;
  const std::string queue_service = v1::QueueService::service_full_name();
  auto by_id = [&](const Channel& as, const std::string& id, auto call) {
    auto stub = v1::JobService::NewStub(as);
    return call(*stub, id);
  };

  // clang-format off
  const std::vector<Row> table = {
    //                              no key   unknown  revoked  expired  viewerA  memberA  workerA  admin    memberB
    {job_service, "CreateJob",      {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return CreateJobAs(as, kA); }},
    {job_service, "BatchCreateJobs", {UN,    UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return BatchCreateJobsAs(as, kA); }},
    {job_service, "GetJob",         {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      NF},
     [&](const Channel& as) { return GetJobAs(as, read_job); }},
    {job_service, "ListJobs",       {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      PD},
     [&](const Channel& as) { return ListJobsAs(as, kA); }},
    {job_service, "CancelJob",      {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return CancelJobAs(as, QueuedJob()); }},
    {job_service, "RetryJob",       {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return RetryJobAs(as, CancelledJob()); }},
    {job_service, "WatchJob",       {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      NF},
     [&](const Channel& as) { return WatchJobAs(as, read_job); }},
    {job_service, "WatchJobs",      {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      PD},
     [&](const Channel& as) { return WatchJobsAs(as, kA, [&] { QueuedJob(); }); }},
    {job_service, "ListJobEvents",  {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      NF},
     [&](const Channel& as) { return ListJobEventsAs(as, read_job); }},
    {job_service, "GetJobStats",    {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      PD},
     [&](const Channel& as) { return GetJobStatsAs(as, kA); }},
    {job_service, "PauseJob",       {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return by_id(as, QueuedJob(), [](JobStub& stub, const std::string& id) {
       v1::PauseJobRequest r; r.set_id(id); v1::PauseJobResponse out;
       return stub.PauseJob(Ctx().get(), r, &out); }); }},
    {job_service, "ResumeJob",      {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return by_id(as, PausedJob(), [](JobStub& stub, const std::string& id) {
       v1::ResumeJobRequest r; r.set_id(id); v1::ResumeJobResponse out;
       return stub.ResumeJob(Ctx().get(), r, &out); }); }},
    {job_service, "DeleteJob",      {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return by_id(as, CancelledJob(), [](JobStub& stub, const std::string& id) {
       v1::DeleteJobRequest r; r.set_id(id); v1::DeleteJobResponse out;
       return stub.DeleteJob(Ctx().get(), r, &out); }); }},
    {job_service, "BulkCancelJobs", {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkCancelJobs); }},
    {job_service, "BulkRetryJobs",  {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkRetryJobs); }},
    {job_service, "BulkPauseJobs",  {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkPauseJobs); }},
    {job_service, "BulkResumeJobs", {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkResumeJobs); }},
    {job_service, "BulkDeleteJobs", {UN,     UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkDeleteJobs); }},
    {job_service, "BulkFailJobs",   {UN,     UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) { return BulkAs(as, &JobStub::BulkFailJobs); }},
    {queue_service, "ListQueues",   {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      PD},
     [&](const Channel& as) {
       v1::ListQueuesRequest r; r.set_workspace_id(kA); v1::ListQueuesResponse out;
       return v1::QueueService::NewStub(as)->ListQueues(Ctx().get(), r, &out); }},
    {queue_service, "PauseQueue",   {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::PauseQueueRequest r; r.set_workspace_id(kA); r.set_type(UniqueType());
       v1::PauseQueueResponse out;
       return v1::QueueService::NewStub(as)->PauseQueue(Ctx().get(), r, &out); }},
    {queue_service, "ResumeQueue",  {UN,     UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::ResumeQueueRequest r; r.set_workspace_id(kA); r.set_type(UniqueType());
       v1::ResumeQueueResponse out;
       return v1::QueueService::NewStub(as)->ResumeQueue(Ctx().get(), r, &out); }},
    {queue_service, "SetQueueLimits", {UN,   UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::SetQueueLimitsRequest r; r.set_workspace_id(kA); r.set_type(UniqueType());
       r.set_max_running(5); v1::SetQueueLimitsResponse out;
       return v1::QueueService::NewStub(as)->SetQueueLimits(Ctx().get(), r, &out); }},
    {worker_service, "AcquireJobs", {UN,     UN,      UN,      UN,      PD,      PD,      OK,      OK,      PD},
     [&](const Channel& as) {
       const std::string type = UniqueType();
       QueuedJob(type);
       v1::AcquireJobsResponse response;
       grpc::Status status = AcquireJobsAs(as, kA, type, &response);
       if (status.ok() && response.jobs_size() != 1) {
         return grpc::Status(StatusCode::UNKNOWN, absl::StrCat("leased ", response.jobs_size(),
                                                               " jobs, not 1"));
       }
       return status;
     }},
    {worker_service, "ReportProgress", {UN,  UN,      UN,      UN,      PD,      PD,      OK,      OK,      PD},
     [&](const Channel& as) {
       const v1::LeasedJob leased = LeasedJob(Admin());
       return ReportProgressAs(as, leased.job().id(), leased.lease_token());
     }},
    {worker_service, "CompleteJob", {UN,     UN,      UN,      UN,      PD,      PD,      OK,      OK,      PD},
     [&](const Channel& as) {
       const v1::LeasedJob leased = LeasedJob(Admin());
       return CompleteJobAs(as, leased.job().id(), leased.lease_token());
     }},
    {worker_service, "FailJob",     {UN,     UN,      UN,      UN,      PD,      PD,      OK,      OK,      PD},
     [&](const Channel& as) {
       const v1::LeasedJob leased = LeasedJob(Admin());
       return FailJobAs(as, leased.job().id(), leased.lease_token());
     }},
    {admin_service, "CreateApiKey", {UN,     UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::CreateApiKeyResponse response;
       return CreateApiKeyAs(as, "made-in-a-cell", &response);
     }},
    {admin_service, "ListApiKeys",  {UN,     UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::ListApiKeysResponse response;
       return ListApiKeysAs(as, &response);
     }},
    {admin_service, "RevokeApiKey", {UN,     UN,      UN,      UN,      PD,      PD,      PD,      OK,      PD},
     [&](const Channel& as) { return RevokeApiKeyAs(as, FreshKeyId()); }},
    {admin_service, "WhoAmI",       {UN,     UN,      UN,      UN,      OK,      OK,      OK,      OK,      OK},
     [&](const Channel& as) {
       v1::WhoAmIResponse response;
       return v1::AdminService::NewStub(as)->WhoAmI(Ctx().get(), v1::WhoAmIRequest(), &response);
     }},
    {schedule_service, "CreateSchedule", {UN,   UN,      UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return CreateScheduleAs(as, kA, UniqueType()); }},
    {schedule_service, "GetSchedule", {UN,     UN,      UN,      UN,      OK,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::GetScheduleRequest r; r.set_id(id); v1::GetScheduleResponse out;
       return stub.GetSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "ListSchedules", {UN,   UN,      UN,      UN,      OK,      OK,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::ListSchedulesRequest r; r.set_workspace_id(kA); v1::ListSchedulesResponse out;
       return v1::ScheduleService::NewStub(as)->ListSchedules(Ctx().get(), r, &out); }},
    {schedule_service, "UpdateSchedule", {UN,  UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::UpdateScheduleRequest r; r.mutable_schedule()->set_id(id);
       r.mutable_schedule()->set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
       r.mutable_update_mask()->add_paths("overlap_policy"); v1::UpdateScheduleResponse out;
       return stub.UpdateSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "DeleteSchedule", {UN,  UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::DeleteScheduleRequest r; r.set_id(id); v1::DeleteScheduleResponse out;
       return stub.DeleteSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "PauseSchedule", {UN,   UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::PauseScheduleRequest r; r.set_id(id); v1::PauseScheduleResponse out;
       return stub.PauseSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "ResumeSchedule", {UN,  UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::ResumeScheduleRequest r; r.set_id(id); v1::ResumeScheduleResponse out;
       return stub.ResumeSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "TriggerSchedule", {UN, UN,      UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::TriggerScheduleRequest r; r.set_id(id); v1::TriggerScheduleResponse out;
       return stub.TriggerSchedule(Ctx().get(), r, &out); }); }},
    {schedule_service, "BackfillSchedule", {UN, UN,     UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_schedule(as, [](ScheduleStub& stub, const std::string& id) {
       v1::BackfillScheduleRequest r; r.set_id(id);
       r.mutable_start_time()->set_seconds(1767225600);  // 2026-01-01: one run
       r.mutable_end_time()->set_seconds(1767225600);
       v1::BackfillScheduleResponse out;
       return stub.BackfillSchedule(Ctx().get(), r, &out); }); }},
    {template_service, "CreateJobTemplate", {UN, UN,    UN,      UN,      PD,      OK,      PD,      OK,      PD},
     [&](const Channel& as) { return CreateTemplateAs(as, kA, UniqueType()); }},
    {template_service, "GetJobTemplate", {UN,  UN,      UN,      UN,      OK,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_template(as, [](TemplateStub& stub, const std::string& id) {
       v1::GetJobTemplateRequest r; r.set_id(id); v1::GetJobTemplateResponse out;
       return stub.GetJobTemplate(Ctx().get(), r, &out); }); }},
    {template_service, "ListJobTemplates", {UN, UN,     UN,      UN,      OK,      OK,      PD,      OK,      PD},
     [&](const Channel& as) {
       v1::ListJobTemplatesRequest r; r.set_workspace_id(kA); v1::ListJobTemplatesResponse out;
       return v1::TemplateService::NewStub(as)->ListJobTemplates(Ctx().get(), r, &out); }},
    {template_service, "UpdateJobTemplate", {UN, UN,    UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_template(as, [](TemplateStub& stub, const std::string& id) {
       v1::UpdateJobTemplateRequest r; r.mutable_job_template()->set_id(id);
       r.mutable_job_template()->set_description("changed");
       r.mutable_update_mask()->add_paths("description"); v1::UpdateJobTemplateResponse out;
       return stub.UpdateJobTemplate(Ctx().get(), r, &out); }); }},
    {template_service, "DeleteJobTemplate", {UN, UN,    UN,      UN,      PD,      OK,      PD,      OK,      NF},
     [&](const Channel& as) { return on_template(as, [](TemplateStub& stub, const std::string& id) {
       v1::DeleteJobTemplateRequest r; r.set_id(id); v1::DeleteJobTemplateResponse out;
       return stub.DeleteJobTemplate(Ctx().get(), r, &out); }); }},
  };
  // clang-format on

  // The table covers every method of the services once, and nothing else.
  std::map<std::string, int> rows_per_method;
  for (const Row& row : table) ++rows_per_method[row.service + "/" + row.method];
  std::set<std::string> methods;
  for (const std::string& name : {job_service, worker_service, admin_service, schedule_service,
                                  template_service, queue_service}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = name + "/" + service->method(i)->name();
      methods.insert(method);
      EXPECT_EQ(rows_per_method[method], 1) << method << " needs exactly one row in the table";
    }
  }
  for (const auto& [method, rows] : rows_per_method) {
    EXPECT_TRUE(methods.count(method))
        << "the table has a row for " << method << ", which is no method of the services";
  }

  // Every cell.
  std::vector<std::string> mismatches;
  std::string grid = absl::StrFormat("%-30s", "");
  for (const char* name : kPrincipalNames) absl::StrAppendFormat(&grid, " %-12s", name);
  grid += "\n";
  int cells = 0;
  for (const Row& row : table) {
    const std::string rpc =
        absl::StrCat(row.service.substr(row.service.find('.', 5) + 1), ".", row.method);
    absl::StrAppendFormat(&grid, "%-30s", rpc);
    for (int p = 0; p < kPrincipals; ++p) {
      ++cells;
      const grpc::Status got = row.call(principals_[p]);
      const bool match = got.error_code() == row.expected[p];
      if (!match) {
        mismatches.push_back(
            absl::StrCat(rpc, " / ", kPrincipalNames[p], ": expected ", CodeName(row.expected[p]),
                         ", got ", CodeName(got.error_code()), " (", got.error_message(), ")"));
      }
      std::string shown = CodeName(got.error_code());
      if (shown == "PERMISSION_DENIED") shown = "DENIED";
      if (shown == "UNAUTHENTICATED") shown = "UNAUTH";
      absl::StrAppendFormat(&grid, " %-12s", (match ? "" : "!") + shown);
    }
    grid += "\n";
  }
  std::cerr << grid;
  std::cerr << "access matrix: " << table.size() << " RPCs x " << kPrincipals
            << " principals = " << cells << " cells, " << mismatches.size() << " mismatches\n";
  EXPECT_EQ(table.size(), methods.size());
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " cells differ from the contract:\n  "
                                  << absl::StrJoin(mismatches, "\n  ");

  // requested_by is the key's name.
  v1::Job created;
  grpc::Status status = CreateJobAs(principals_[kMemberA], kA, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.requested_by(), "alice");
  EXPECT_EQ(Get(created.id()).requested_by(), "alice");
}

// --- 2. Foreign job ids ----------------------------------------------------------------------

// What a call must not change.
struct JobMark {
  v1::JobState state;
  int64_t sequence;
  float progress;
  int32_t attempt;
  std::string update_time;
  int events;

  bool operator==(const JobMark& o) const {
    return state == o.state && sequence == o.sequence && progress == o.progress &&
           attempt == o.attempt && update_time == o.update_time && events == o.events;
  }
  std::string ToString() const {
    return absl::StrCat(v1::JobState_Name(state), " sequence=", sequence, " progress=", progress,
                        " attempt=", attempt, " update_time=", update_time, " events=", events);
  }
};

TEST_F(AccessTest, ForeignJobIdsAreNotFoundAndChangeNothing) {
  const std::string url = database_->url();
  const Channel worker_a = Keyed(CreateApiKey(url, "worker", "worker-a", {"--workspace", kA}));
  const Channel member_b = Keyed(CreateApiKey(url, "member", "member-b", {"--workspace", kB}));
  const Channel worker_b = Keyed(CreateApiKey(url, "worker", "worker-b", {"--workspace", kB}));
  ASSERT_TRUE(WaitAccepted(worker_a, kA));
  ASSERT_TRUE(WaitAccepted(member_b, kB));
  ASSERT_TRUE(WaitAccepted(worker_b, kB));

  auto mark = [&](const std::string& id) {
    const v1::Job job = Get(id);
    JobMark m{job.state(),
              job.sequence(),
              job.progress_percent(),
              job.attempt(),
              job.update_time().DebugString(),
              -1};
    grpc::Status status = ListJobEventsAs(Admin(), id, &m.events);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return m;
  };

  enum class Kind { kQueued, kCancelled, kLeased };
  struct ForeignCall {
    std::string rpc;
    Channel as;  // a key of workspace B whose role allows the call
    Kind job;    // the job of workspace A it is given
    std::function<grpc::Status(const Channel&, const std::string& id, const std::string& lease)>
        call;
  };
  const std::vector<ForeignCall> calls = {
      {"GetJob", member_b, Kind::kQueued,
       [](const Channel& as, const std::string& id, const std::string&) {
         return GetJobAs(as, id);
       }},
      {"CancelJob", member_b, Kind::kQueued,
       [](const Channel& as, const std::string& id, const std::string&) {
         return CancelJobAs(as, id);
       }},
      {"RetryJob", member_b, Kind::kCancelled,
       [](const Channel& as, const std::string& id, const std::string&) {
         return RetryJobAs(as, id);
       }},
      {"WatchJob", member_b, Kind::kQueued,
       [](const Channel& as, const std::string& id, const std::string&) {
         return WatchJobAs(as, id);
       }},
      {"ListJobEvents", member_b, Kind::kQueued,
       [](const Channel& as, const std::string& id, const std::string&) {
         return ListJobEventsAs(as, id);
       }},
      {"ReportProgress", worker_b, Kind::kLeased, ReportProgressAs},
      {"CompleteJob", worker_b, Kind::kLeased, CompleteJobAs},
      {"FailJob", worker_b, Kind::kLeased, FailJobAs},
  };

  for (const ForeignCall& c : calls) {
    SCOPED_TRACE(c.rpc);
    std::string id;
    std::string lease;
    switch (c.job) {
      case Kind::kQueued:
        id = QueuedJob();
        break;
      case Kind::kCancelled:
        id = CancelledJob();
        break;
      case Kind::kLeased: {
        const v1::LeasedJob leased = LeasedJob(worker_a);  // A's worker holds the real lease
        id = leased.job().id();
        lease = leased.lease_token();
        break;
      }
    }
    ASSERT_FALSE(id.empty());
    const JobMark before = mark(id);

    const grpc::Status foreign = c.call(c.as, id, lease);
    const std::string unknown_id = RandomJobId();
    const grpc::Status unknown = c.call(c.as, unknown_id, lease);
    EXPECT_CODE(foreign, StatusCode::NOT_FOUND);
    EXPECT_CODE(unknown, StatusCode::NOT_FOUND);
    EXPECT_EQ(WithoutId(foreign, id), WithoutId(unknown, unknown_id))
        << "a foreign id is answered differently from an unknown one";
    EXPECT_EQ(foreign.error_message().find(id) != std::string::npos,
              unknown.error_message().find(unknown_id) != std::string::npos);

    const JobMark after = mark(id);
    EXPECT_EQ(after, before) << "before: " << before.ToString() << "\nafter:  " << after.ToString();
    std::cerr << c.rpc << " on a job of A as a key of B: " << CodeName(foreign.error_code()) << " ("
              << foreign.error_message() << ")\n";
  }
}

// --- 3. Revocation across processes ----------------------------------------------------------

TEST_F(AccessTest, RevokedKeyIsRefusedByAnotherProcessWithinASecond) {
  JobdProcess second(database_->url());
  ASSERT_TRUE(second.running());
  {
    // Keyless channels, connected before anything is measured; keys go in each call's metadata.
    const Channel plain1 = KeyedChannel(jobd_->address(), "");
    const Channel plain2 = KeyedChannel(second.address(), "");
    ASSERT_TRUE(
        plain1->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    ASSERT_TRUE(
        plain2->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    const std::string job = QueuedJob();
    auto refused = [&](const Channel& plain, const std::string& key) {
      return GetJobWithKey(plain, key, job).error_code() == StatusCode::UNAUTHENTICATED;
    };

    // a. A member key that works on #2, revoked through AdminService on #1.
    const std::string member = CreateApiKey(database_->url(), "member", "mia", {"--workspace", kA});
    ASSERT_TRUE(WaitFor([&] { return GetJobWithKey(plain2, member, job).ok(); }, absl::Seconds(10)))
        << GetJobWithKey(plain2, member, job).error_message();
    const std::string member_id = FindKey(member).id();
    ASSERT_FALSE(member_id.empty());
    // Each bound below is the documented one (README: within a second), measured to the last
    // poll that still saw the old answer (LastBeforeChange), so a slow poll on a loaded
    // machine is not counted against jobd.
    ASSERT_TRUE(RevokeApiKeyAs(Admin(), member_id).ok());
    absl::Time start = absl::Now();
    const std::optional<absl::Time> last_accepted =
        LastBeforeChange(start, [&] { return refused(plain2, member); });
    ASSERT_TRUE(last_accepted.has_value()) << "jobd #2 still accepts the revoked key";
    const absl::Duration revoke_seen = *last_accepted - start;
    EXPECT_LT(revoke_seen, absl::Seconds(1));
    std::cerr << "RevokeApiKey on #1 to UNAUTHENTICATED on #2: after "
              << absl::FormatDuration(revoke_seen) << ", seen after "
              << absl::FormatDuration(absl::Now() - start) << " ("
              << GetJobWithKey(plain2, member, job).error_message() << ")\n";

    // b. A key created through AdminService on #1 works on #2.
    v1::CreateApiKeyRequest request;
    request.set_name("nora");
    request.set_role(v1::API_KEY_ROLE_MEMBER);
    request.set_workspace_id(kA);
    v1::CreateApiKeyResponse created;
    grpc::Status status =
        v1::AdminService::NewStub(Admin())->CreateApiKey(Ctx().get(), request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    start = absl::Now();
    const std::optional<absl::Time> last_refused =
        LastBeforeChange(start, [&] { return GetJobWithKey(plain2, created.secret(), job).ok(); });
    ASSERT_TRUE(last_refused.has_value())
        << GetJobWithKey(plain2, created.secret(), job).error_message();
    const absl::Duration create_seen = *last_refused - start;
    EXPECT_LT(create_seen, absl::Seconds(1));
    std::cerr << "CreateApiKey on #1 to OK on #2: after " << absl::FormatDuration(create_seen)
              << ", seen after " << absl::FormatDuration(absl::Now() - start) << "\n";

    // c. `jobd keys revoke ID`, straight in the database, is seen by both running processes.
    ASSERT_TRUE(GetJobWithKey(plain1, created.secret(), job).ok());
    ASSERT_EQ(RunJobd({"keys", "revoke", created.api_key().id(), "--database_url", database_->url(),
                       "--log_level", "warning"}),
              0);
    start = absl::Now();
    // One after the other: while #1 is polled, #2 changes or not; polling it afterwards still
    // finds the last moment it accepted the key (or none, when it had changed already).
    const std::optional<absl::Time> last1 =
        LastBeforeChange(start, [&] { return refused(plain1, created.secret()); });
    const std::optional<absl::Time> last2 =
        LastBeforeChange(start, [&] { return refused(plain2, created.secret()); });
    ASSERT_TRUE(last1.has_value() && last2.has_value())
        << "a running jobd still accepts the key `jobd keys revoke` revoked";
    const absl::Duration seen1 = *last1 - start;
    const absl::Duration seen2 = *last2 - start;
    EXPECT_LT(seen1, absl::Seconds(1));
    EXPECT_LT(seen2, absl::Seconds(1));
    std::cerr << "`jobd keys revoke` to UNAUTHENTICATED: on #1 " << absl::FormatDuration(seen1)
              << ", on #2 " << absl::FormatDuration(seen2) << "\n";
  }
}

// --- 4. Health ---------------------------------------------------------------------------------

TEST_F(AccessTest, RevokingAKeyEndsItsOpenStreams) {
  v1::CreateApiKeyResponse viewer, other;
  ASSERT_TRUE(CreateApiKeyAs(Admin(), "watcher", &viewer).ok());
  ASSERT_TRUE(CreateApiKeyAs(Admin(), "other-watcher", &other).ok());
  const std::string job_id = QueuedJob();
  Channel as_viewer = Keyed(viewer.secret());
  Channel as_other = Keyed(other.secret());

  // A WatchJob and a WatchJobs stream of the key to revoke, and a WatchJob of another key;
  // each has read its first event or is open.
  v1::WatchJobRequest watch_job;
  watch_job.set_id(job_id);
  auto job_context = Ctx(absl::Seconds(30));
  auto job_stream = v1::JobService::NewStub(as_viewer)->WatchJob(job_context.get(), watch_job);
  v1::WatchJobResponse event;
  ASSERT_TRUE(job_stream->Read(&event));
  ASSERT_EQ(event.event().kind(), v1::JOB_EVENT_KIND_SNAPSHOT);

  v1::WatchJobsRequest watch_jobs;
  watch_jobs.set_workspace_id(kA);
  auto jobs_context = Ctx(absl::Seconds(30));
  auto jobs_stub = v1::JobService::NewStub(as_viewer);
  auto jobs_stream = jobs_stub->WatchJobs(jobs_context.get(), watch_jobs);

  auto other_context = Ctx(absl::Seconds(30));
  auto other_stream = v1::JobService::NewStub(as_other)->WatchJob(other_context.get(), watch_job);
  ASSERT_TRUE(other_stream->Read(&event));

  ASSERT_TRUE(RevokeApiKeyAs(Admin(), viewer.api_key().id()).ok());
  // Both streams of the revoked key end UNAUTHENTICATED (Read returns false at once; the
  // 30 s deadline would be DEADLINE_EXCEEDED).
  EXPECT_FALSE(job_stream->Read(&event));
  grpc::Status ended = job_stream->Finish();
  EXPECT_EQ(ended.error_code(), StatusCode::UNAUTHENTICATED) << ended.error_message();
  // The workspace stream may still pass on the CREATED event of the setup's job, which the bus
  // delivered after it subscribed (seen under ASan); then it ends, long before its deadline.
  v1::WatchJobsResponse any;
  int late_events = 0;
  while (jobs_stream->Read(&any)) ++late_events;
  EXPECT_LE(late_events, 1);
  ended = jobs_stream->Finish();
  EXPECT_EQ(ended.error_code(), StatusCode::UNAUTHENTICATED) << ended.error_message();

  // The other key's stream goes on: it sees the job's cancellation and ends OK after it.
  ASSERT_TRUE(CancelJobAs(Admin(), job_id).ok());
  ASSERT_TRUE(other_stream->Read(&event));
  EXPECT_EQ(event.event().job().state(), v1::JOB_STATE_CANCELLED);
  EXPECT_FALSE(other_stream->Read(&event));
  EXPECT_TRUE(other_stream->Finish().ok());
}

TEST_F(AccessTest, AnExpiringKeysStreamEndsWhenItExpires) {
  // 6 s of life: room, even on a loaded machine, for jobd to learn the key and for the stream
  // to open well before the key expires (checked below).
  const std::string key = CreateApiKey(database_->url(), "viewer", "short-lived",
                                       {"--workspace", kA, "--expire_in", "6s"});
  const Channel as_viewer = Keyed(key);
  ASSERT_TRUE(WaitAccepted(as_viewer, kA));
  const v1::ApiKey listed = FindKey(key);
  ASSERT_TRUE(listed.has_expire_time()) << listed.DebugString();
  const absl::Time expire_time = absl::FromUnixSeconds(listed.expire_time().seconds()) +
                                 absl::Nanoseconds(listed.expire_time().nanos());
  v1::WatchJobsRequest watch;
  watch.set_workspace_id(kA);
  auto context = Ctx(absl::Seconds(60));
  const absl::Time opened = absl::Now();
  auto stream = v1::JobService::NewStub(as_viewer)->WatchJobs(context.get(), watch);
  v1::WatchJobsResponse event;
  EXPECT_FALSE(stream->Read(&event));  // nothing happens in kA; the stream just ends
  const grpc::Status ended = stream->Finish();
  const absl::Time ended_at = absl::Now();
  EXPECT_EQ(ended.error_code(), StatusCode::UNAUTHENTICATED) << ended.error_message();
  // Opened a second or more before the expiry, the stream was accepted and then ended; a
  // stream opened later might have been refused at once, which would prove nothing here.
  EXPECT_LT(opened, expire_time - absl::Seconds(1))
      << "the stream opened too close to the key's expiry to tell an end from a refusal";
  // It ended at the expiry (jobd ends it once its clock, this one, has passed it) ...
  EXPECT_GE(ended_at, expire_time);
  // ... within the key refresh interval: generous for a loaded machine, far below the 60 s
  // deadline it would otherwise reach.
  EXPECT_LT(ended_at - opened, absl::Seconds(20));
}

TEST_F(AccessTest, AWaitingAcquireOfARevokedKeyLeasesNothing) {
  // The outcome is the same whether the poll was refused at the start (it reached jobd after
  // the revocation) or, the path this is about, admitted with the key still good and refused
  // when the job woke it: UNAUTHENTICATED, nothing leased. jobd's log tells the two apart
  // afterwards (only an admitted call's line names its principal), so a round whose poll came
  // too late is tried again with a longer head start.
  bool admitted_before_revocation = false;
  for (const absl::Duration head_start :
       {absl::ZeroDuration(), absl::Seconds(1), absl::Seconds(3)}) {
    const std::string name = absl::StrCat("poller-", absl::ToInt64Milliseconds(head_start));
    v1::CreateApiKeyRequest make;
    make.set_name(name);
    make.set_role(v1::API_KEY_ROLE_WORKER);
    make.set_workspace_id(kA);
    v1::CreateApiKeyResponse made;
    ASSERT_TRUE(v1::AdminService::NewStub(Admin())->CreateApiKey(Ctx().get(), make, &made).ok());

    // The worker long-polls for a type that has no job yet.
    const std::string type = "revoked.poll." + name;
    v1::AcquireJobsRequest acquire;
    acquire.set_workspace_id(kA);
    acquire.add_types(type);
    acquire.set_worker_id(name);
    acquire.set_max_jobs(1);
    acquire.mutable_wait()->set_seconds(20);
    // The poller's channel is connected first, so its poll usually reaches jobd at once.
    const Channel poller = Keyed(made.secret());
    ASSERT_TRUE(GetJobStatsAs(poller, kA).ok());
    v1::AcquireJobsResponse leased;
    grpc::Status acquired;
    std::thread poll([&] {
      acquired = v1::WorkerService::NewStub(poller)->AcquireJobs(Ctx(absl::Seconds(30)).get(),
                                                                 acquire, &leased);
    });
    // Make three other jobs first (the poll is for another type): time for it to park.
    for (int i = 0; i < 3; ++i) QueuedJob("other.type");
    absl::SleepFor(head_start);
    const grpc::Status revoked = RevokeApiKeyAs(Admin(), made.api_key().id());
    const std::string job_id = QueuedJob(type);
    poll.join();
    ASSERT_TRUE(revoked.ok()) << revoked.error_message();
    EXPECT_EQ(acquired.error_code(), StatusCode::UNAUTHENTICATED) << acquired.error_message();
    EXPECT_EQ(leased.jobs_size(), 0);
    v1::Job job;
    ASSERT_TRUE(GetJobAs(Admin(), job_id, &job).ok());
    EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);
    EXPECT_EQ(job.attempt(), 1);
    if (FindRpcLogLine(jobd_->log(), "AcquireJobs", {"\"principal\":\"" + name + "\""})) {
      admitted_before_revocation = true;
      break;
    }
    std::cerr << "the poll reached jobd only after the revocation (head start "
              << absl::FormatDuration(head_start) << "); again, longer\n";
  }
  EXPECT_TRUE(admitted_before_revocation)
      << "no poll was admitted before its key was revoked, so the wake-up path was not tested";
}

// Key sync has connections of its own: a replica whose request pool is held by slow queries
// still learns of a revocation (with one shared pool it would wait for as long as they do).
TEST_F(AccessTest, ARevocationReachesAReplicaWhoseRequestPoolIsBusy) {
  JobdProcess busy(database_->url(), {"--pool_size", "1"});
  ASSERT_TRUE(busy.running());
  const Channel plain = KeyedChannel(busy.address(), "");
  ASSERT_TRUE(plain->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  const std::string job = QueuedJob();
  const std::string member = CreateApiKey(database_->url(), "member", "pat", {"--workspace", kA});
  ASSERT_TRUE(WaitFor([&] { return GetJobWithKey(plain, member, job).ok(); }, absl::Seconds(10)));
  const std::string member_id = FindKey(member).id();
  ASSERT_FALSE(member_id.empty());

  // The replica's only request connection waits behind a lock on jobs.
  JobsTableLock lock(database_->url());
  std::thread held([&] {
    v1::GetJobRequest request;
    request.set_id(job);
    v1::GetJobResponse response;
    v1::JobService::NewStub(busy.channel())
        ->GetJob(Ctx(absl::Seconds(60)).get(), request, &response)
        .IgnoreError();
  });
  ASSERT_TRUE(WaitFor([&] { return WaitingGetJobQueries() == "1"; }, absl::Seconds(30)));

  ASSERT_TRUE(RevokeApiKeyAs(Admin(), member_id).ok());  // through the other replica
  // Refused at admission (no database needed); a call still admitted waits for the pool, so
  // each try gets a short deadline.
  auto refused = [&] {
    auto context = Ctx(absl::Milliseconds(300));
    context->AddMetadata("authorization", "Bearer " + member);
    v1::GetJobRequest request;
    request.set_id(job);
    v1::GetJobResponse response;
    return v1::JobService::NewStub(plain)->GetJob(context.get(), request, &response).error_code() ==
           StatusCode::UNAUTHENTICATED;
  };
  EXPECT_TRUE(WaitFor(refused, absl::Seconds(10)));
  lock.Release();
  held.join();
}

TEST_F(AccessTest, HealthAndReflectionNeedNoKey) {
  auto health = grpc::health::v1::Health::NewStub(Keyed(""));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(Ctx().get(), request, &response);
  ASSERT_TRUE(status.ok()) << CodeName(status.error_code()) << " " << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace jobd::testing
