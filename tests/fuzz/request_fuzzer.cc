// Fuzzes request validation: the first byte picks a jobd.v1 request message, the rest is
// parsed as that message with libprotobuf (as gRPC would), then it goes through the api
// translation (server/api/convert.cc) and the real core::JobManager / core::WorkerManager
// entry points, which validate before anything else. Their collaborators are fakes: the
// group committers and the executor refuse every write (RESOURCE_EXHAUSTED, inline), so
// that status means "validation passed"; the store is the tests' in-memory one
// (tests/support/fake_job_store.h), emptied per input, holding at most the job the input
// is about.
//
// Beyond "no crash", for accepted requests it checks the documented limits (README "Bad
// input") with its own oracle, that payload/result JSON converts back to the same Struct,
// the lifecycle rules applied to the accepted command, and that page tokens the server
// issues work for the same query (any page_size, any order of states) and for no other.
// Refusals must be INVALID_ARGUMENT naming the field first.
//
//  (selector & 0x7f) % 12: 0 CreateJob  1 ListJobs  2 AcquireJobs  3 ReportProgress
//    4 CompleteJob  5 FailJob  6 GetJob  7 CancelJob  8 RetryJob  9 ListJobEvents
//    10 GetJobStats  11 WatchJobs (states / workspace / types)
//  selector & 0x80: the caller is a member key of workspace "demo", else an admin key.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/worker_service.pb.h"
#include "server/api/convert.h"
#include "server/core/executor.h"
#include "server/core/ids.h"
#include "server/core/job_manager.h"
#include "server/core/lifecycle.h"
#include "server/core/ready_waiters.h"
#include "server/core/validation.h"
#include "server/core/worker_manager.h"
#include "server/core/worker_rules.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_job_store.h"

namespace {

using jobd::Job;
using jobd::JobState;
using jobd::fuzz::IsFieldError;
using jobd::fuzz::Show;
namespace core = jobd::core;
namespace api = jobd::api;
namespace v1 = jobd::v1;
using google::protobuf::Struct;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);  // 2025-06-15
const core::Limits kLimits;                                 // jobd's defaults
constexpr char kTokenKey[] = "jobd-fuzz-page-token-key";
constexpr char kSomeId[] = "0197732a-1a00-7000-8000-000000000001";
constexpr char kMemberWorkspace[] = "demo";  // the workspace of the member's key

// Who calls, per input (bit 7 of the selector byte): an admin key (every workspace) or a
// member key bound to kMemberWorkspace.
core::Principal g_caller;
core::Principal MakeCaller(bool member) {
  if (!member) return core::LocalAdmin("fuzz-admin");
  core::Principal p;
  p.key_id = "0197732a-1a00-7000-8000-00000000cafe";
  p.name = "fuzz-member";
  p.role = jobd::Role::kMember;
  p.workspace_id = kMemberWorkspace;
  return p;
}
bool CallerMayUse(const std::string& workspace) {
  return g_caller.role == jobd::Role::kAdmin || workspace == g_caller.workspace_id;
}

// ---------------------------------------------------------------------------------------
// The oracle: the limits as the README states them, written independently of validation.cc.

constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kDigits = "0123456789";
const std::string kTypeChars = absl::StrCat(std::string(kLower), std::string(kDigits), "._-");
const std::string kWorkspaceChars =
    absl::StrCat(std::string(kUpper), std::string(kLower), std::string(kDigits), "_-");
const std::string kLabelKeyChars =
    absl::StrCat(std::string(kUpper), std::string(kLower), std::string(kDigits), "._/-");

bool OfChars(const std::string& s, size_t min_len, size_t max_len, std::string_view alphabet) {
  if (s.size() < min_len || s.size() > max_len) return false;
  for (char c : s) {
    if (alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}
bool IsWorkspace(const std::string& s) { return OfChars(s, 1, 64, kWorkspaceChars); }
bool IsType(const std::string& s) { return OfChars(s, 1, 128, kTypeChars); }
bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }
bool IsText(const std::string& s, size_t max = 4096) { return s.size() <= max && !HasNul(s); }
bool IsLowerOrUpperHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsUuidText(const std::string& s) {  // 8-4-4-4-12 hex
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsLowerOrUpperHex(s[i])) return false;
  }
  return true;
}
template <typename Map>
bool AreLabels(const Map& labels) {
  if (labels.size() > 32) return false;
  for (const auto& [key, value] : labels) {
    if (!OfChars(key, 1, 128, kLabelKeyChars) || !IsText(value, 256)) return false;
  }
  return true;
}
bool InRange(const std::optional<absl::Duration>& d, absl::Duration max) {
  return !d || (*d > absl::ZeroDuration() && *d <= max);
}

// ---------------------------------------------------------------------------------------
// Fakes.

[[noreturn]] void Unexpected(const char* call) {
  jobd::fuzz::Fail("unexpected store call", __FILE__, __LINE__, call);
}

// The store sees only queries that validation let through.
void CheckStoreCalls(jobd::fakes::FakeJobStore& store) {
  for (const jobd::ListJobsQuery& query : store.list_queries()) {
    FUZZ_CHECK(!query.states.empty() && query.limit >= 2 && query.limit <= 501);
    FUZZ_CHECK(query.after_id.empty() || IsUuidText(query.after_id));
  }
  for (const auto& call : store.list_event_calls()) {
    FUZZ_CHECK(call.after_sequence >= 0 && call.limit >= 2 && call.limit <= 501);
  }
}

core::GroupCommitOptions Refusing() {
  core::GroupCommitOptions options;
  options.committers = 0;  // no threads
  options.max_queued = 0;  // every Submit is refused inline with RESOURCE_EXHAUSTED
  return options;
}

struct World {
  jobd::fakes::FakeClock clock{kNow};
  jobd::fakes::FakeJobStore store{&clock};  // the database's clock is the fuzzer's too
  core::CreateBatcher creates{
      [](const std::vector<Job>&) -> absl::StatusOr<std::vector<absl::StatusOr<jobd::CreatedJob>>> {
        Unexpected("commit creates");
      },
      Refusing()};
  core::ChangeBatcher changes{
      [](const std::vector<jobd::JobStore::JobChange>&)
          -> absl::StatusOr<std::vector<absl::StatusOr<Job>>> { Unexpected("commit changes"); },
      Refusing()};
  core::Executor executor{/*threads=*/0, /*max_queued=*/0};  // Post always refuses
  core::ReadyWaiters waiters;
  core::JobManager jobs{store, creates, clock, kLimits, core::PageTokenCodec(kTokenKey)};
  core::WorkerManager workers{
      store, executor, changes, waiters, clock, kLimits, [] { return 0.999; }};
  core::PageTokenCodec codec{kTokenKey};
};

World& W() {
  static World* world = new World();  // never destroyed: no teardown races at exit
  return *world;
}

// The managers' callbacks run inline here (everything refuses synchronously): exactly once.
template <typename T>
class Sync {
 public:
  std::function<void(absl::StatusOr<T>)> Done() {
    return [this](absl::StatusOr<T> r) {
      ++calls_;
      result_.emplace(std::move(r));
    };
  }
  const absl::StatusOr<T>& Get() const {
    FUZZ_CHECK_MSG(calls_ == 1, absl::StrCat("callback ran ", calls_, " times"));
    return *result_;
  }

 private:
  int calls_ = 0;
  std::optional<absl::StatusOr<T>> result_;
};

// RESOURCE_EXHAUSTED comes only from the refusing fakes: validation let the call through.
// `workspace`: the call's workspace when it names one (the caller's key must allow it).
bool Accepted(const absl::Status& s, const std::string* workspace = nullptr) {
  if (workspace && !CallerMayUse(*workspace)) {
    FUZZ_CHECK_MSG(s.code() == absl::StatusCode::kPermissionDenied &&
                       absl::StartsWith(s.message(), "workspace_id: "),
                   "workspace " + Show(*workspace) + ": " + s.ToString());
    return false;
  }
  if (s.code() == absl::StatusCode::kResourceExhausted) return true;
  FUZZ_CHECK_MSG(IsFieldError(s), s.ToString());
  return false;
}

// A job the caller may not see is NOT_FOUND exactly as an unknown id is.
void CheckHidden(const absl::Status& s, const std::string& id) {
  FUZZ_CHECK_MSG(s.code() == absl::StatusCode::kNotFound &&
                     s.message() == absl::StrCat("job ", id, " not found"),
                 s.ToString());
}

void CheckFieldError(const absl::Status& s) { FUZZ_CHECK_MSG(IsFieldError(s), s.ToString()); }

void CheckPageTokenError(const absl::Status& s) {
  FUZZ_CHECK_MSG(s.code() == absl::StatusCode::kInvalidArgument &&
                     absl::StartsWith(s.message(), "page_token: "),
                 s.ToString());
}

Job RunningJob(const std::string& id, const std::string& lease_token, int32_t attempt) {
  Job job;
  job.id = id;
  job.workspace_id = "ws";
  job.type = "t";
  job.state = JobState::kRunning;
  job.attempt = attempt;
  job.last_attempt = 3;
  job.lease_token = lease_token;
  job.lease_expire_time = kNow + absl::Seconds(10);
  job.start_time = kNow - absl::Minutes(1);
  job.run_after = kNow - absl::Minutes(2);
  job.create_time = kNow - absl::Minutes(2);
  job.update_time = kNow - absl::Minutes(1);
  job.worker_id = "fuzz-worker";
  return job;
}

// Findings (tests/fuzz/README.md), fixed by StructToJson's CheckJsonable in convert.cc, so
// they fail the run again; JOBD_FUZZ_STRICT=0 tolerates them (to fuzz a tree without the fix):
//  F1: parts of a Struct vanish from the JSON: a Value with no kind set, and a list_value
//      that holds only unknown fields (no values); as a Struct field the key disappears, as a
//      list element it is removed (the list shifts). The request is accepted.
//  F2: a NaN or infinite number_value becomes the JSON string "NaN" / "Infinity" /
//      "-Infinity"; the request is accepted (convert.h promises INVALID_ARGUMENT).
bool g_strict = true;

// JOBD_FUZZ_STATS=1: at exit, per message type, how many inputs parsed and how many got past
// validation (to see that the fuzzer reaches the deep paths, e.g. with -runs=0 on a corpus).
bool g_stats = false;
int g_selector = 0;
long g_parsed[12], g_deep[12];
void Deep() { ++g_deep[g_selector]; }
void PrintStats() {
  static const char* names[12] = {"CreateJob",   "ListJobs",      "AcquireJobs", "ReportProgress",
                                  "CompleteJob", "FailJob",       "GetJob",      "CancelJob",
                                  "RetryJob",    "ListJobEvents", "GetJobStats", "WatchJobs"};
  for (int i = 0; i < 12; ++i) {
    std::fprintf(stderr, "request_fuzzer stats: %-14s parsed %8ld  past validation %8ld\n",
                 names[i], g_parsed[i], g_deep[i]);
  }
}

bool DroppedByJson(const google::protobuf::Value& v) {  // F1
  return v.kind_case() == google::protobuf::Value::KIND_NOT_SET ||
         (v.kind_case() == google::protobuf::Value::kListValue &&
          v.list_value().values_size() == 0 &&
          !v.list_value().GetReflection()->GetUnknownFields(v.list_value()).empty());
}

void ApplyKnownFindings(google::protobuf::Value* value);
void ApplyKnownFindings(Struct* s) {
  for (auto it = s->mutable_fields()->begin(); it != s->mutable_fields()->end();) {
    if (DroppedByJson(it->second)) {
      it = s->mutable_fields()->erase(it);
    } else {
      ApplyKnownFindings(&it->second);
      ++it;
    }
  }
}
void ApplyKnownFindings(google::protobuf::Value* value) {
  switch (value->kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const double d = value->number_value();
      if (std::isnan(d)) value->set_string_value("NaN");
      if (std::isinf(d)) value->set_string_value(d > 0 ? "Infinity" : "-Infinity");
      break;
    }
    case google::protobuf::Value::kStructValue:
      ApplyKnownFindings(value->mutable_struct_value());
      break;
    case google::protobuf::Value::kListValue: {
      google::protobuf::ListValue kept;
      for (const google::protobuf::Value& v : value->list_value().values()) {
        if (DroppedByJson(v)) continue;
        *kept.add_values() = v;
        ApplyKnownFindings(kept.mutable_values(kept.values_size() - 1));
      }
      kept.GetReflection()->MutableUnknownFields(&kept)->MergeFrom(
          value->list_value().GetReflection()->GetUnknownFields(value->list_value()));
      *value->mutable_list_value() = std::move(kept);
      break;
    }
    default:
      break;
  }
}

// What the JSON of a Struct a client sent should convert back to: the Struct without the
// unknown fields a client may have put in it (JSON cannot carry them), and, unless strict,
// with the known findings applied.
// (NullValue has one value: any other number a client sends in null_value is null too.)
void NormalizeNulls(google::protobuf::Value* value);
void NormalizeNulls(Struct* s) {
  for (auto& [key, value] : *s->mutable_fields()) NormalizeNulls(&value);
}
void NormalizeNulls(google::protobuf::Value* value) {
  switch (value->kind_case()) {
    case google::protobuf::Value::kNullValue:
      value->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case google::protobuf::Value::kStructValue:
      NormalizeNulls(value->mutable_struct_value());
      break;
    case google::protobuf::Value::kListValue:
      for (auto& v : *value->mutable_list_value()->mutable_values()) NormalizeNulls(&v);
      break;
    default:
      break;
  }
}

Struct Known(const Struct& sent) {
  Struct copy = sent;
  if (!g_strict) ApplyKnownFindings(&copy);  // before: F1 depends on unknown fields
  copy.DiscardUnknownFields();
  NormalizeNulls(&copy);
  return copy;
}

// JSON made from a Struct must be a JSON object that converts back to the same Struct
// (ToProto relies on it for stored payloads and results).
void CheckJsonFromStruct(const Struct& sent, const std::string& json, const char* field) {
  const Struct original = Known(sent);
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK_MSG(!parsed.is_discarded() && parsed.is_object(),
                 absl::StrCat(field, ": not a JSON object: ", Show(json)));
  Struct back;
  auto status = google::protobuf::util::JsonStringToMessage(json, &back);
  FUZZ_CHECK_MSG(status.ok(), absl::StrCat(field, ": ", Show(json),
                                           " does not convert back: ", status.ToString()));
  FUZZ_CHECK_MSG(google::protobuf::util::MessageDifferencer::Equals(back, original),
                 absl::StrCat(field, ": ", Show(json), " converts back to another Struct:\n",
                              original.DebugString(), "vs\n", back.DebugString()));
}

// ---------------------------------------------------------------------------------------
// Per message type.

void CreateJob(const v1::CreateJobRequest& request) {
  absl::StatusOr<core::CreateJobCommand> command = api::FromProto(request);
  if (!command.ok()) return CheckFieldError(command.status());
  // A create naming a template reads the store first (CreateJobNow, the e2e tests' part).
  command->template_name.clear();
  const core::CreateJobCommand& c = *command;

  const absl::Status direct = core::ValidateCreate(c, kNow, kLimits);
  Sync<Job> sync;
  W().jobs.CreateJob(g_caller, c, sync.Done());
  const bool accepted = Accepted(sync.Get().status(), &c.workspace_id);
  if (CallerMayUse(c.workspace_id)) {
    FUZZ_CHECK_MSG(accepted == direct.ok() && (accepted || sync.Get().status() == direct),
                   sync.Get().status().ToString() + " vs " + direct.ToString());
  }
  if (!accepted) return;
  Deep();

  // The limits.
  FUZZ_CHECK_MSG(IsWorkspace(c.workspace_id), Show(c.workspace_id));
  FUZZ_CHECK_MSG(IsType(c.type), Show(c.type));
  FUZZ_CHECK(AreLabels(c.labels));
  FUZZ_CHECK(c.payload_json.size() <= 256 * 1024);
  FUZZ_CHECK(IsText(c.idempotency_key, 256));
  const core::RetryPolicyInput& r = c.retry_policy;
  FUZZ_CHECK(r.max_attempts >= 0 && r.max_attempts <= 100);
  FUZZ_CHECK(InRange(r.initial_backoff, absl::Hours(24)) &&
             InRange(r.max_backoff, absl::Hours(24)));
  FUZZ_CHECK(!r.initial_backoff || !r.max_backoff || *r.initial_backoff <= *r.max_backoff);
  FUZZ_CHECK(r.multiplier == 0 || (r.multiplier >= 1 && r.multiplier <= 10));
  FUZZ_CHECK(InRange(c.timeout, absl::Hours(24 * 365)) && InRange(c.ttl, absl::Hours(24 * 365)));
  FUZZ_CHECK(!c.run_after || *c.run_after <= kNow + absl::Hours(24 * 365));
  // What the request said, unchanged.
  FUZZ_CHECK(c.workspace_id == request.workspace_id() && c.type == request.type());
  FUZZ_CHECK(c.labels.size() == request.labels().size());
  FUZZ_CHECK(c.idempotency_key == request.idempotency_key());
  if (request.has_payload()) CheckJsonFromStruct(request.payload(), c.payload_json, "payload");

  // The job it makes.
  const Job job = core::NewJobFromCommand(c, core::NewJobId(kNow), kNow);
  FUZZ_CHECK(IsUuidText(job.id));
  FUZZ_CHECK(job.state == (job.run_after > kNow ? JobState::kScheduled : JobState::kQueued));
  FUZZ_CHECK(job.run_after >= kNow && job.run_after <= kNow + absl::Hours(24 * 365));
  const jobd::RetryPolicy& p = job.retry_policy;
  FUZZ_CHECK(p.max_attempts >= 1 && p.max_attempts <= 100 && job.last_attempt == p.max_attempts);
  FUZZ_CHECK(p.initial_backoff > absl::ZeroDuration() && p.initial_backoff <= p.max_backoff &&
             p.max_backoff <= absl::Hours(24));
  FUZZ_CHECK(p.multiplier >= 1 && p.multiplier <= 10);
  FUZZ_CHECK(job.ttl > absl::ZeroDuration() && job.ttl <= absl::Hours(24 * 365));
  // Backoffs: between initial_backoff and max_backoff, never shrinking from one attempt to
  // the next (multiplier >= 1). BackoffCap computes in double seconds: 1 us of slack.
  constexpr absl::Duration kSlack = absl::Microseconds(1);
  absl::Duration last_cap = absl::ZeroDuration();
  for (int32_t attempt : {1, 2, 3, 4, 10, 40, 100, 1000, INT32_MAX}) {
    const absl::Duration cap = core::BackoffCap(p, attempt);
    FUZZ_CHECK_MSG(cap >= p.initial_backoff - kSlack && cap <= p.max_backoff + kSlack,
                   absl::StrCat("attempt ", attempt, ": ", absl::FormatDuration(cap)));
    FUZZ_CHECK_MSG(cap >= last_cap,
                   absl::StrCat("attempt ", attempt, ": ", absl::FormatDuration(cap), " < ",
                                absl::FormatDuration(last_cap)));
    last_cap = cap;
    const absl::Duration backoff = core::Backoff(p, attempt, [] { return 0.999; });
    FUZZ_CHECK(backoff >= absl::ZeroDuration() && backoff <= cap);
  }
  // Idempotency fingerprint: canonical (JSON key order/spacing do not matter).
  const std::string fingerprint = core::RequestFingerprint(c);
  FUZZ_CHECK(fingerprint == job.request_fingerprint);
  if (c.idempotency_key.empty()) {
    FUZZ_CHECK(fingerprint.empty());
  } else {
    FUZZ_CHECK(fingerprint.size() == 64);
    core::CreateJobCommand reordered = c;
    reordered.payload_json = nlohmann::json::parse(c.payload_json).dump(2);
    FUZZ_CHECK(core::RequestFingerprint(reordered) == fingerprint);
  }
  // And shown back through the API: the same payload and labels.
  v1::Job shown;
  api::ToProto(job, kNow, /*include_payload=*/true, &shown);
  FUZZ_CHECK(shown.workspace_id() == c.workspace_id && shown.type() == c.type);
  FUZZ_CHECK(shown.labels().size() == request.labels().size());
  if (request.has_payload()) {
    FUZZ_CHECK_MSG(google::protobuf::util::MessageDifferencer::Equals(shown.payload(),
                                                                      Known(request.payload())),
                   "payload shown back differs: " + Show(c.payload_json));
  }
}

bool SameFilters(const core::ListJobsCommand& a, const core::ListJobsCommand& b) {
  return core::ListQueryFingerprint(a) == core::ListQueryFingerprint(b);
}

void ListJobs(const v1::ListJobsRequest& request) {
  absl::StatusOr<core::ListJobsCommand> command = api::FromProto(request);
  if (!command.ok()) return CheckFieldError(command.status());
  const core::ListJobsCommand& c = *command;
  World& w = W();

  const absl::Status direct = core::ValidateList(c, kLimits);
  absl::StatusOr<core::JobPage> page = w.jobs.ListJobs(g_caller, c);
  if (!CallerMayUse(c.workspace_id)) {
    FUZZ_CHECK(!page.ok());
    Accepted(page.status(), &c.workspace_id);
    return;
  }
  if (!direct.ok()) {
    CheckFieldError(direct);
    FUZZ_CHECK(!page.ok() && page.status() == direct);
    return;
  }
  Deep();
  FUZZ_CHECK(IsWorkspace(c.workspace_id) && (c.type.empty() || IsType(c.type)));
  FUZZ_CHECK(AreLabels(c.labels) && c.page_size >= 0 && c.page_size <= 500);
  if (c.page_token.empty()) {
    FUZZ_CHECK_MSG(page.ok() && page->jobs.empty() && page->next_page_token.empty(),
                   page.status().ToString());
  } else {
    // A client cannot make a token: anything it sends is refused.
    FUZZ_CHECK_MSG(!page.ok(), "accepted client-made page_token " + Show(c.page_token));
    CheckPageTokenError(page.status());
  }

  // Tokens the server issues: good for the same filters, whatever the page size and however
  // the states are spelled...
  const std::string fingerprint = core::ListQueryFingerprint(c);
  core::ListJobsCommand same = c;
  same.page_token = w.codec.Encode(kSomeId, fingerprint);
  same.page_size = (c.page_size + 7) % 501;
  std::vector<JobState> states(c.states.rbegin(), c.states.rend());
  if (!states.empty()) states.push_back(states.front());
  same.states = states.empty() ? std::vector<JobState>{JobState::kPaused,   JobState::kCancelled,
                                                       JobState::kFailed,   JobState::kSucceeded,
                                                       JobState::kRunning,  JobState::kQueued,
                                                       JobState::kScheduled}
                               : states;
  FUZZ_CHECK(SameFilters(c, same));
  absl::StatusOr<core::JobPage> next = w.jobs.ListJobs(g_caller, same);
  FUZZ_CHECK_MSG(next.ok(), next.status().ToString());
  // ...but not an id that is not a job id, nor a token of another query.
  same.page_token = w.codec.Encode("not-a-job-id", fingerprint);
  next = w.jobs.ListJobs(g_caller, same);
  FUZZ_CHECK(!next.ok());
  CheckPageTokenError(next.status());
  for (const std::string& query :
       {absl::StrCat("events:", kSomeId), absl::StrCat("keys:", c.workspace_id)}) {
    same.page_token = w.codec.Encode(kSomeId, query);
    next = w.jobs.ListJobs(g_caller, same);
    FUZZ_CHECK(!next.ok());
    CheckPageTokenError(next.status());
  }

  auto toggle = [](std::string s) {
    s.back() = s.back() == 'a' ? 'b' : 'a';
    return s;
  };
  std::vector<core::ListJobsCommand> others(4, c);
  others[0].workspace_id = toggle(c.workspace_id);
  others[1].type = c.type.empty() ? "fuzz.type" : toggle(c.type);
  if (c.states.empty()) {
    others[2].states = {JobState::kQueued};
  } else {
    bool has_queued = false, has_running = false;
    for (JobState s : c.states) {
      has_queued |= s == JobState::kQueued;
      has_running |= s == JobState::kRunning;
    }
    others[2].states = c.states;
    if (!has_queued) {
      others[2].states.push_back(JobState::kQueued);
    } else if (!has_running) {
      others[2].states.push_back(JobState::kRunning);
    } else {
      others[2].states = {JobState::kSucceeded};  // c has QUEUED and RUNNING
    }
  }
  if (c.labels.size() < 32 && !c.labels.count("zz.fuzz/extra")) {
    others[3].labels["zz.fuzz/extra"] = "";
  } else {
    std::string& value = others[3].labels.begin()->second;
    value = value == "x" ? "y" : "x";
  }
  for (core::ListJobsCommand& other : others) {
    if (!core::ValidateList(other, kLimits).ok() || !CallerMayUse(other.workspace_id)) continue;
    // others[2] may still mean the same states as c (e.g. c asked for all seven and we
    // swapped one for a duplicate): compare what they mean.
    if (SameFilters(c, other)) {
      std::vector<JobState> a = c.states, b = other.states;
      auto norm = [](std::vector<JobState>& v) {
        if (v.empty()) v = jobd::AllJobStates();
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
      };
      norm(a);
      norm(b);
      FUZZ_CHECK_MSG(a == b && c.workspace_id == other.workspace_id && c.type == other.type &&
                         c.labels == other.labels,
                     "different filters, same fingerprint " + Show(fingerprint));
      continue;
    }
    other.page_token = w.codec.Encode(kSomeId, fingerprint);
    next = w.jobs.ListJobs(g_caller, other);
    FUZZ_CHECK_MSG(!next.ok(), "token of " + Show(fingerprint) + " accepted for " +
                                   Show(core::ListQueryFingerprint(other)));
    CheckPageTokenError(next.status());
  }
}

void AcquireJobs(const v1::AcquireJobsRequest& request) {
  absl::StatusOr<core::AcquireCommand> command = api::FromProto(request);
  if (!command.ok()) return CheckFieldError(command.status());
  const core::AcquireCommand c = *command;
  Sync<std::vector<Job>> sync;
  W().workers.AcquireJobs(g_caller, *command, sync.Done());
  if (!Accepted(sync.Get().status(), &c.workspace_id)) return;
  Deep();
  FUZZ_CHECK(IsWorkspace(c.workspace_id));
  FUZZ_CHECK(!c.types.empty() && c.types.size() <= 64);
  for (const std::string& type : c.types) FUZZ_CHECK_MSG(IsType(type), Show(type));
  FUZZ_CHECK(!c.worker_id.empty() && IsText(c.worker_id, 256));
  FUZZ_CHECK(c.max_jobs >= 1 && c.max_jobs <= 100);
  FUZZ_CHECK(c.wait >= absl::ZeroDuration() && c.wait <= absl::Seconds(60));
  FUZZ_CHECK(request.has_wait() || c.wait == absl::ZeroDuration());
  FUZZ_CHECK(!c.lease_duration ||
             (*c.lease_duration >= absl::Seconds(1) && *c.lease_duration <= absl::Hours(1)));
  FUZZ_CHECK(request.has_lease_duration() == c.lease_duration.has_value());
}

void ReportProgress(const v1::ReportProgressRequest& request) {
  absl::StatusOr<core::ProgressReport> report = api::FromProto(request);
  if (!report.ok()) return CheckFieldError(report.status());
  FUZZ_CHECK(static_cast<int>(report->messages.size()) == request.messages_size());
  Sync<core::ProgressResult> sync;
  W().workers.ReportProgress(g_caller, request.job_id(), request.lease_token(), *report,
                             sync.Done());
  if (!Accepted(sync.Get().status())) return;
  Deep();
  FUZZ_CHECK_MSG(IsUuidText(request.job_id()), Show(request.job_id()));
  FUZZ_CHECK(!request.lease_token().empty());
  FUZZ_CHECK(report->percent >= 0 && report->percent <= 100);
  FUZZ_CHECK(IsText(report->message) && report->messages.size() <= 100);
  for (const jobd::JobMessage& m : report->messages) FUZZ_CHECK(IsText(m.text));

  // The rule the committer would apply, on a job this lease holds...
  const Job job = RunningJob(request.job_id(), request.lease_token(), 1);
  absl::StatusOr<core::ProgressPlan> plan =
      core::PlanProgress(job, request.lease_token(), *report, kNow);
  FUZZ_CHECK_MSG(plan.ok() && !plan->cancelled && plan->update, plan.status().ToString());
  const Job& next = plan->update->next;
  FUZZ_CHECK(next.progress_percent == report->percent && next.progress_message == report->message);
  FUZZ_CHECK(plan->update->messages.size() == report->messages.size());
  FUZZ_CHECK(next.lease_expire_time == kNow + absl::Seconds(30) &&
             next.state == JobState::kRunning);
  // ...and on one it does not.
  plan = core::PlanProgress(job, request.lease_token() + "x", *report, kNow);
  FUZZ_CHECK(!plan.ok() && plan.status().code() == absl::StatusCode::kAborted);
}

void CompleteJob(const v1::CompleteJobRequest& request) {
  absl::StatusOr<std::string> result = api::StructToJson(request.result(), "result");
  if (!result.ok()) return CheckFieldError(result.status());
  CheckJsonFromStruct(request.result(), *result, "result");
  Sync<Job> sync;
  W().workers.CompleteJob(g_caller, request.job_id(), request.lease_token(), *result, sync.Done());
  if (!Accepted(sync.Get().status())) return;
  Deep();
  FUZZ_CHECK(IsUuidText(request.job_id()) && !request.lease_token().empty());
  FUZZ_CHECK(result->size() <= 256 * 1024);

  const Job job = RunningJob(request.job_id(), request.lease_token(), 1);
  auto plan = core::PlanComplete(job, request.lease_token(), *result, kNow);
  FUZZ_CHECK_MSG(plan.ok() && plan->has_value(), plan.status().ToString());
  const Job& done = (*plan)->next;
  FUZZ_CHECK(done.state == JobState::kSucceeded && done.result_json == *result);
  FUZZ_CHECK(done.expire_time == kNow + job.ttl && done.finish_time == kNow);
  v1::Job shown;
  api::ToProto(done, kNow, /*include_payload=*/true, &shown);
  FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(shown.result(), Known(request.result())));
  // A repeat of the same completion is answered, not refused; another lease is refused.
  auto again = core::PlanComplete(done, request.lease_token(), *result, kNow);
  FUZZ_CHECK(again.ok() && !again->has_value());
  again = core::PlanComplete(job, request.lease_token() + "x", *result, kNow);
  FUZZ_CHECK(!again.ok() && again.status().code() == absl::StatusCode::kAborted);
}

void FailJob(const v1::FailJobRequest& request) {
  const bool retryable = request.has_retryable() ? request.retryable() : true;
  Sync<Job> sync;
  W().workers.FailJob(g_caller, request.job_id(), request.lease_token(), request.error_message(),
                      retryable, sync.Done());
  if (!Accepted(sync.Get().status())) return;
  Deep();
  FUZZ_CHECK(IsUuidText(request.job_id()) && !request.lease_token().empty());
  FUZZ_CHECK(IsText(request.error_message()));

  for (int32_t attempt : {1, 3}) {
    const Job job = RunningJob(request.job_id(), request.lease_token(), attempt);
    auto plan = core::PlanFail(job, request.lease_token(), request.error_message(), retryable, kNow,
                               [] { return 0.999; });
    FUZZ_CHECK_MSG(plan.ok() && plan->has_value(), plan.status().ToString());
    const Job& next = (*plan)->next;
    FUZZ_CHECK(next.error_message == request.error_message() && next.lease_token.empty());
    if (retryable && attempt < job.last_attempt) {
      FUZZ_CHECK(next.state == JobState::kScheduled && next.attempt == attempt + 1);
      FUZZ_CHECK(next.run_after >= kNow && next.run_after <= kNow + job.retry_policy.max_backoff);
    } else {
      FUZZ_CHECK(next.state == JobState::kFailed && next.attempt == attempt);
      FUZZ_CHECK(next.finish_time == kNow && next.expire_time == kNow + job.ttl);
    }
  }
}

// The stored job's state and workspace for Get/Cancel/Retry/Events, picked by the input.
JobState StateFor(const std::string& seed) {
  return static_cast<JobState>(1 + std::hash<std::string>()(seed) % jobd::AllJobStates().size());
}
std::string WorkspaceFor(const std::string& seed) {
  return std::hash<std::string>()(seed + "ws") % 2 ? kMemberWorkspace : "other-ws";
}

void GetJob(const v1::GetJobRequest& request) {
  World& w = W();
  Job stored;
  stored.id = request.id();
  stored.workspace_id = WorkspaceFor(request.id());
  w.store.Put(stored);
  absl::StatusOr<Job> job = w.jobs.GetJob(g_caller, request.id());
  if (!IsUuidText(request.id())) {
    FUZZ_CHECK(!job.ok());
    return CheckFieldError(job.status());
  }
  Deep();
  if (!CallerMayUse(stored.workspace_id)) return CheckHidden(job.status(), request.id());
  FUZZ_CHECK_MSG(job.ok() && job->id == request.id(), job.status().ToString());
}

void CancelJob(const v1::CancelJobRequest& request) {
  const JobState state = StateFor(request.reason() + request.id());
  World& w = W();
  Job stored = RunningJob(request.id(), "lease", 1);
  stored.state = state;
  stored.workspace_id = WorkspaceFor(request.id());
  w.store.Put(stored);
  absl::StatusOr<Job> job = w.jobs.CancelJob(g_caller, request.id(), request.reason());
  const bool valid = IsUuidText(request.id()) && IsText(request.reason());
  if (!valid) {
    FUZZ_CHECK(!job.ok());
    return CheckFieldError(job.status());
  }
  Deep();
  if (!CallerMayUse(stored.workspace_id)) return CheckHidden(job.status(), request.id());
  switch (state) {
    case JobState::kSucceeded:
    case JobState::kFailed:
      FUZZ_CHECK_MSG(!job.ok() && job.status().code() == absl::StatusCode::kFailedPrecondition,
                     job.status().ToString());
      break;
    case JobState::kCancelled:
      FUZZ_CHECK(job.ok() && job->state == JobState::kCancelled);
      break;
    default:
      FUZZ_CHECK_MSG(job.ok(), job.status().ToString());
      FUZZ_CHECK(job->state == JobState::kCancelled && job->finish_time == kNow);
      FUZZ_CHECK(job->error_message == (request.reason().empty()
                                            ? absl::StrCat("cancelled by ", g_caller.name)
                                            : request.reason()));
      FUZZ_CHECK(job->lease_token == "lease" && !job->lease_expire_time);  // told ABORTED
  }
}

void RetryJob(const v1::RetryJobRequest& request) {
  const JobState state = StateFor(request.id());
  World& w = W();
  Job stored = RunningJob(request.id(), "lease", 2);
  stored.state = state;
  stored.workspace_id = WorkspaceFor(request.id());
  w.store.Put(stored);
  absl::StatusOr<Job> job = w.jobs.RetryJob(g_caller, request.id());
  if (!IsUuidText(request.id())) {
    FUZZ_CHECK(!job.ok());
    return CheckFieldError(job.status());
  }
  Deep();
  if (!CallerMayUse(stored.workspace_id)) return CheckHidden(job.status(), request.id());
  if (state == JobState::kFailed || state == JobState::kCancelled) {
    FUZZ_CHECK_MSG(job.ok(), job.status().ToString());
    FUZZ_CHECK(job->state == JobState::kQueued && job->attempt == 3 && job->last_attempt == 5);
    FUZZ_CHECK(job->lease_token.empty() && !job->finish_time && job->run_after == kNow);
  } else {
    FUZZ_CHECK(!job.ok() && job.status().code() == absl::StatusCode::kFailedPrecondition);
  }
}

void ListJobEvents(const v1::ListJobEventsRequest& request) {
  World& w = W();
  const std::string& id = request.id();
  Job stored;
  stored.id = id;
  stored.workspace_id = WorkspaceFor(id);
  w.store.Put(stored);
  absl::StatusOr<core::EventPage> page =
      w.jobs.ListJobEvents(g_caller, id, request.page_size(), request.page_token());
  const bool valid = IsUuidText(id) && request.page_size() >= 0 && request.page_size() <= 500;
  if (!valid) {
    FUZZ_CHECK(!page.ok());
    return CheckFieldError(page.status());
  }
  Deep();
  const bool visible = CallerMayUse(stored.workspace_id);
  if (!request.page_token().empty()) {
    FUZZ_CHECK_MSG(!page.ok(), "accepted client-made page_token " + Show(request.page_token()));
    CheckPageTokenError(page.status());
  } else if (visible) {
    FUZZ_CHECK_MSG(page.ok() && page->next_page_token.empty(), page.status().ToString());
  } else {
    CheckHidden(page.status(), id);
  }
  const std::string query = absl::StrCat("events:", id);
  const int64_t sequence = request.page_size();
  page = w.jobs.ListJobEvents(g_caller, id, 0, w.codec.Encode(std::to_string(sequence), query));
  if (visible) {
    FUZZ_CHECK_MSG(page.ok(), page.status().ToString());
  } else {
    CheckHidden(page.status(), id);
  }
  // Refused: a token of another job, of a list query, or one that is not a sequence.
  std::string other_id = id;
  other_id[0] = other_id[0] == '0' ? '1' : '0';
  for (const std::string& token :
       {w.codec.Encode(std::to_string(sequence), absl::StrCat("events:", other_id)),
        w.codec.Encode(std::to_string(sequence), "ws=2:ws;type=0:;states=queued,"),
        w.codec.Encode(std::to_string(sequence), absl::StrCat("keys:", id)),
        w.codec.Encode("-1", query), w.codec.Encode("", query),
        w.codec.Encode(request.page_token().substr(0, 20) + "x", query)}) {
    page = w.jobs.ListJobEvents(g_caller, id, 0, token);
    FUZZ_CHECK(!page.ok());
    CheckPageTokenError(page.status());
  }
}

void GetJobStats(const v1::GetJobStatsRequest& request) {
  const std::string& ws = request.workspace_id();
  absl::StatusOr<jobd::JobStats> stats = W().jobs.GetJobStats(g_caller, ws);
  if (!CallerMayUse(ws)) {
    FUZZ_CHECK(!stats.ok());
    Accepted(stats.status(), &ws);
    return;
  }
  FUZZ_CHECK(stats.ok() == IsWorkspace(ws));
  if (!stats.ok()) return CheckFieldError(stats.status());
  Deep();
}

void WatchJobs(const v1::WatchJobsRequest& request) {
  for (int state : request.states()) {
    absl::StatusOr<JobState> parsed = api::FromProto(static_cast<v1::JobState>(state), "states");
    FUZZ_CHECK(parsed.ok() == (state >= 1 && state <= 7));
    if (parsed.ok()) {
      FUZZ_CHECK(static_cast<int>(api::ToProto(*parsed)) == state);
    } else {
      CheckFieldError(parsed.status());
    }
  }
  // The same checks WorkspaceWatch makes, against the oracle, in both directions.
  const absl::Status access = core::CheckWorkspace(g_caller, request.workspace_id());
  FUZZ_CHECK(access.ok() == CallerMayUse(request.workspace_id()));
  if (!access.ok()) Accepted(access, &request.workspace_id());
  const absl::Status ws = core::ValidateWorkspaceId(request.workspace_id(), kLimits);
  FUZZ_CHECK_MSG(ws.ok() == IsWorkspace(request.workspace_id()), ws.ToString());
  if (access.ok() && ws.ok()) Deep();
  if (!ws.ok()) CheckFieldError(ws);
  for (const std::string& type : request.types()) {
    const absl::Status t = core::ValidateType("types", type, kLimits);
    FUZZ_CHECK_MSG(t.ok() == IsType(type), t.ToString());
    if (!t.ok()) CheckFieldError(t);
  }
}

template <typename Message>
bool Parse(const uint8_t* data, size_t size, Message* out) {
  return out->ParseFromArray(data, static_cast<int>(size));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in a string field fails the parse, and protobuf logs each one: quiet.
  google::protobuf::SetLogHandler(nullptr);
  const char* strict = std::getenv("JOBD_FUZZ_STRICT");
  g_strict = strict == nullptr || *strict == '\0' || *strict != '0';
  const char* stats = std::getenv("JOBD_FUZZ_STATS");
  g_stats = stats != nullptr && *stats != '\0' && *stats != '0';
  if (g_stats) std::atexit(PrintStats);
  W();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = (data[0] & 0x7f) % 12;
  g_caller = MakeCaller(data[0] & 0x80);
  g_selector = selector;
  W().store.Reset();  // each input starts from an empty store
  ++data;
  --size;
#define JOBD_FUZZ_CASE(n, Message, Handler)     \
  case n: {                                     \
    v1::Message message;                        \
    if (!Parse(data, size, &message)) return 0; \
    ++g_parsed[n];                              \
    Handler(message);                           \
    break;                                      \
  }
  switch (selector) {
    JOBD_FUZZ_CASE(0, CreateJobRequest, CreateJob)
    JOBD_FUZZ_CASE(1, ListJobsRequest, ListJobs)
    JOBD_FUZZ_CASE(2, AcquireJobsRequest, AcquireJobs)
    JOBD_FUZZ_CASE(3, ReportProgressRequest, ReportProgress)
    JOBD_FUZZ_CASE(4, CompleteJobRequest, CompleteJob)
    JOBD_FUZZ_CASE(5, FailJobRequest, FailJob)
    JOBD_FUZZ_CASE(6, GetJobRequest, GetJob)
    JOBD_FUZZ_CASE(7, CancelJobRequest, CancelJob)
    JOBD_FUZZ_CASE(8, RetryJobRequest, RetryJob)
    JOBD_FUZZ_CASE(9, ListJobEventsRequest, ListJobEvents)
    JOBD_FUZZ_CASE(10, GetJobStatsRequest, GetJobStats)
    JOBD_FUZZ_CASE(11, WatchJobsRequest, WatchJobs)
  }
#undef JOBD_FUZZ_CASE
  CheckStoreCalls(W().store);
  return 0;
}
