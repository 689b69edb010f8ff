// Hostile input end to end: thousands of malformed and hostile requests (random RPC of all 16,
// hostile field values, bad keys, raw bytes that are not a valid message) through a real jobd,
// as keys of workspace "hostile". Checks that every answer is a documented code (and the
// exact one where the rules fix it), that INVALID_ARGUMENT names a request field, that no
// answer shows another workspace's job, that no row outside the workspace changed, that
// values stored verbatim come back verbatim, and that jobd is still up and serving at the end.
//
// JOBD_HOSTILE_SEED picks the seed (printed either way); JOBD_HOSTILE_REQUESTS the number of
// requests (default 10000). Request i is generated from (seed, i) and from the ids, leases and
// page tokens earlier answers added to the shared pools, so a seed replays closely, not exactly.
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Struct;
using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;
using grpc::StatusCode;

constexpr char kWorkspace[] = "hostile";
// The largest request this test's jobd takes (--max_request_bytes, below: max_payload_bytes +
// 256 KiB): gRPC refuses a larger one.
constexpr size_t kMaxRequestBytes = 512 * 1024;
constexpr size_t kMaxPayloadBytes = 256 * 1024;

// ---------------------------------------------------------------------------------------
// The RPCs.

enum Need { kRead, kCreate, kCancel, kRetry, kWork, kAdmin };

struct Method {
  const char* name;
  const char* path;
  const Message* request;   // default instance: descriptor and New()
  const Message* response;  // for a stream: one message of it
  bool streaming;
  Need need;
  bool workspace_scoped;  // its workspace_id names the workspace the call reaches
};

const std::vector<Method>& Methods() {
  static const auto* methods = new std::vector<Method>{
      {"CreateJob", "/jobd.v1.JobService/CreateJob", &v1::CreateJobRequest::default_instance(),
       &v1::CreateJobResponse::default_instance(), false, kCreate, true},
      {"GetJob", "/jobd.v1.JobService/GetJob", &v1::GetJobRequest::default_instance(),
       &v1::GetJobResponse::default_instance(), false, kRead, false},
      {"ListJobs", "/jobd.v1.JobService/ListJobs", &v1::ListJobsRequest::default_instance(),
       &v1::ListJobsResponse::default_instance(), false, kRead, true},
      {"CancelJob", "/jobd.v1.JobService/CancelJob", &v1::CancelJobRequest::default_instance(),
       &v1::CancelJobResponse::default_instance(), false, kCancel, false},
      {"RetryJob", "/jobd.v1.JobService/RetryJob", &v1::RetryJobRequest::default_instance(),
       &v1::RetryJobResponse::default_instance(), false, kRetry, false},
      {"WatchJob", "/jobd.v1.JobService/WatchJob", &v1::WatchJobRequest::default_instance(),
       &v1::WatchJobResponse::default_instance(), true, kRead, false},
      {"WatchJobs", "/jobd.v1.JobService/WatchJobs", &v1::WatchJobsRequest::default_instance(),
       &v1::WatchJobsResponse::default_instance(), true, kRead, true},
      {"ListJobEvents", "/jobd.v1.JobService/ListJobEvents",
       &v1::ListJobEventsRequest::default_instance(),
       &v1::ListJobEventsResponse::default_instance(), false, kRead, false},
      {"GetJobStats", "/jobd.v1.JobService/GetJobStats",
       &v1::GetJobStatsRequest::default_instance(), &v1::GetJobStatsResponse::default_instance(),
       false, kRead, true},
      {"AcquireJobs", "/jobd.v1.WorkerService/AcquireJobs",
       &v1::AcquireJobsRequest::default_instance(), &v1::AcquireJobsResponse::default_instance(),
       false, kWork, true},
      {"ReportProgress", "/jobd.v1.WorkerService/ReportProgress",
       &v1::ReportProgressRequest::default_instance(),
       &v1::ReportProgressResponse::default_instance(), false, kWork, false},
      {"CompleteJob", "/jobd.v1.WorkerService/CompleteJob",
       &v1::CompleteJobRequest::default_instance(), &v1::CompleteJobResponse::default_instance(),
       false, kWork, false},
      {"FailJob", "/jobd.v1.WorkerService/FailJob", &v1::FailJobRequest::default_instance(),
       &v1::FailJobResponse::default_instance(), false, kWork, false},
      {"CreateApiKey", "/jobd.v1.AdminService/CreateApiKey",
       &v1::CreateApiKeyRequest::default_instance(), &v1::CreateApiKeyResponse::default_instance(),
       false, kAdmin, false},
      {"ListApiKeys", "/jobd.v1.AdminService/ListApiKeys",
       &v1::ListApiKeysRequest::default_instance(), &v1::ListApiKeysResponse::default_instance(),
       false, kAdmin, false},
      {"RevokeApiKey", "/jobd.v1.AdminService/RevokeApiKey",
       &v1::RevokeApiKeyRequest::default_instance(), &v1::RevokeApiKeyResponse::default_instance(),
       false, kAdmin, false},
  };
  return *methods;
}

enum Rpc {
  kCreateJob,
  kGetJob,
  kListJobs,
  kCancelJob,
  kRetryJob,
  kWatchJob,
  kWatchJobs,
  kListJobEvents,
  kGetJobStats,
  kAcquireJobs,
  kReportProgress,
  kCompleteJob,
  kFailJob,
  kCreateApiKey,
  kListApiKeys,
  kRevokeApiKey,
  kRpcCount
};

// ---------------------------------------------------------------------------------------
// Who calls.

enum Auth {
  kMember,
  kWorker,
  kViewer,
  kMemberLowercaseBearer,  // "bearer <key>": the scheme is case-insensitive
  kMemberPadded,           // "Bearer   <key>  ": whitespace around the key is ignored
  kNoKey,
  kGarbageKey,
  kSqlBearer,
  kLongKey,
  kTwoHeadersSame,
  kTwoHeadersMixed,
  kRevokedKey,
  kExpiredKey,
  kBasicScheme,
  kEmptyBearer,
  kBearerOnly,
  kKeyPlusJunk,
  kAdminKeyPrefix,
  kBinaryHeader,
  kHugeKey,  // metadata over gRPC's limit: sent on a connection of its own
  kAuthCount
};

const char* AuthName(int auth) {
  static const char* names[] = {"member",
                                "worker",
                                "viewer",
                                "member(lowercase bearer)",
                                "member(padded)",
                                "no key",
                                "garbage key",
                                "SQL bearer",
                                "long key",
                                "two headers (same key)",
                                "two headers (key + garbage)",
                                "revoked key",
                                "expired key",
                                "Basic scheme",
                                "\"Bearer \"",
                                "\"Bearer\"",
                                "key + junk",
                                "admin key prefix",
                                "authorization-bin",
                                "huge key"};
  return names[auth];
}

// The role of a valid principal; nullopt for the rest.
std::optional<int> RoleOf(int auth) {
  switch (auth) {
    case kMember:
    case kMemberLowercaseBearer:
    case kMemberPadded:
      return kMember;
    case kWorker:
      return kWorker;
    case kViewer:
      return kViewer;
    default:
      return std::nullopt;
  }
}

bool RoleAllows(int role, Need need) {
  switch (role) {
    case kMember:
      return need == kRead || need == kCreate || need == kCancel || need == kRetry;
    case kWorker:
      return need == kRead || need == kWork;
    case kViewer:
      return need == kRead;
  }
  return false;
}

struct Keys {
  std::string member, worker, viewer, revoked, expired, admin;
  std::vector<std::string> ids;  // every key's id, for RevokeApiKey
};

// ---------------------------------------------------------------------------------------
// What earlier answers taught the generators (shared by the client threads).

struct Lease {
  std::string job_id;
  std::string token;
};

class Pools {
 public:
  void AddJob(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    Add(&jobs_, id, 400);
  }
  void AddLease(const Lease& lease) {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.size() < 400)
      leases_.push_back(lease);
    else
      leases_[next_++ % 400] = lease;
  }
  void AddPageToken(const std::string& token) {
    if (token.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    Add(&tokens_, token, 200);
  }
  std::string Job(std::mt19937_64& rng) const { return Pick(jobs_, rng); }
  std::string PageToken(std::mt19937_64& rng) const { return Pick(tokens_, rng); }
  std::optional<Lease> PickLease(std::mt19937_64& rng) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (leases_.empty()) return std::nullopt;
    return leases_[rng() % leases_.size()];
  }

 private:
  void Add(std::vector<std::string>* v, const std::string& s, size_t cap) {
    if (v->size() < cap)
      v->push_back(s);
    else
      (*v)[next_++ % cap] = s;
  }
  std::string Pick(const std::vector<std::string>& v, std::mt19937_64& rng) const {
    std::lock_guard<std::mutex> lock(mu_);
    return v.empty() ? "" : v[rng() % v.size()];
  }
  mutable std::mutex mu_;
  std::vector<std::string> jobs_, tokens_;
  std::vector<Lease> leases_;
  size_t next_ = 0;
};

// The victims: jobs of other workspaces that no hostile request may change or see.
struct Victims {
  std::vector<std::string> ids;
  std::set<std::string> normalized;       // lower-case hex without dashes or braces
  std::vector<std::string> lease_tokens;  // the RUNNING one's current lease, and stale ones
};

std::string NormalizeId(const std::string& id) {
  std::string out;
  for (char c : id) {
    if (c == '-' || c == '{' || c == '}') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Hostile values.

const std::vector<std::string>& HostileStrings() {
  static const auto* strings = [] {
    auto* v = new std::vector<std::string>{"",
                                           "a",
                                           "hostile",
                                           "victim-a",
                                           "victim-b",
                                           "HOSTILE",
                                           "hostile ",
                                           " hostile",
                                           "hostile\n",
                                           std::string("hostile\0", 8),
                                           std::string("a\0b", 3),
                                           std::string("\0", 1),
                                           std::string("\0\0\0", 3),
                                           "'",
                                           "\"",
                                           "`",
                                           "''",
                                           "\\",
                                           "\\\\",
                                           "\\\"",
                                           "\\'",
                                           "\\0",
                                           "\\x00",
                                           "\\u0000",
                                           "\\u",
                                           "\\ud800",
                                           "'; DROP TABLE jobs; --",
                                           "\"; DROP TABLE jobs; --",
                                           "' OR '1'='1",
                                           "1; SELECT pg_sleep(10); --",
                                           "'); DELETE FROM job_events; --",
                                           "$1",
                                           "$$",
                                           "$$; DROP TABLE api_keys; $$",
                                           "E'\\\\'",
                                           "%",
                                           "_",
                                           "%%",
                                           "%_%",
                                           "\\%",
                                           "\\_",
                                           "*",
                                           "?",
                                           ":name",
                                           "{",
                                           "}",
                                           "{}",
                                           "[]",
                                           "null",
                                           "NULL",
                                           "{\"a\":1}",
                                           "{\"a\"",
                                           "\"}{\"",
                                           "{\"a\",\"b\"}",
                                           "{NULL}",
                                           "<script>alert(1)</script>",
                                           "../../etc/passwd",
                                           "${jndi:ldap://x/a}",
                                           "%s%n%x%p",
                                           "\u202Eevil\u202C",
                                           "שלום עולם",
                                           "مرحبا",
                                           "😀",
                                           "👩‍👩‍👧‍👦",
                                           "e\u0301\u0301\u0301\u0301",
                                           "\u200B",
                                           "\uFEFF",
                                           "\uFFFF",
                                           "\U0010FFFF",
                                           "\uFFFD",
                                           "Ω≈ç√∫˜µ≤≥÷",
                                           "𝕳𝖔𝖘𝖙𝖎𝖑𝖊",
                                           "\x7f",
                                           "\x01\x02\x1f",
                                           "\t\r\n",
                                           "\r\n\r\n",
                                           "\u2028\u2029",
                                           "a b",
                                           "a/b",
                                           "a.b",
                                           "a-b",
                                           "a_b",
                                           "rebuild_graph",
                                           "hostile.work",
                                           "0",
                                           "-1",
                                           "1e309",
                                           "NaN",
                                           "true",
                                           "00000000-0000-0000-0000-000000000000"};
    for (size_t n : {63, 64, 65, 127, 128, 129, 255, 256, 257, 4095, 4096, 4097, 10000}) {
      v->push_back(std::string(n, 'a'));
    }
    v->push_back(std::string(70000, 'x'));
    std::string e2048, e2049, emoji;  // 4096 and 4098 bytes; 4100 bytes in 1025 characters
    for (int i = 0; i < 2048; ++i) e2048 += "é";
    e2049 = e2048 + "é";
    for (int i = 0; i < 1025; ++i) emoji += "😀";
    v->push_back(e2048);
    v->push_back(e2049);
    v->push_back(emoji);
    v->push_back(std::string(4096, '\''));
    v->push_back(std::string(4097, '\\'));
    return v;
  }();
  return *strings;
}

class Gen {
 public:
  Gen(uint64_t seed, uint64_t index, const Pools* pools, const Victims* victims, const Keys* keys)
      : pools_(pools), victims_(victims), keys_(keys) {
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                      static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)};
    rng_.seed(seq);
  }

  std::mt19937_64& rng() { return rng_; }
  uint64_t U(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[U(v.size())];
  }

  // Any hostile string (always valid UTF-8: invalid UTF-8 goes in raw bytes only).
  std::string Text() {
    const auto& strings = HostileStrings();
    std::string s = Pick(strings);
    if (P(0.15)) s += Pick(strings);
    if (P(0.05)) s = Pick(strings) + s + Pick(strings);
    return s;
  }
  // A string jobd should store verbatim: no NUL, at most `max` bytes.
  std::string StorableText(size_t max, bool non_empty = false) {
    for (;;) {
      std::string s = Text();
      if (s.find('\0') != std::string::npos || s.size() > max) continue;
      if (non_empty && s.empty()) continue;
      return s;
    }
  }
  std::string Workspace() {
    switch (U(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return kWorkspace;
      case 4:
        return "victim-a";
      case 5:
        return "victim-b";
      case 6:
        return Pick(std::vector<std::string>{"HOSTILE", "hostile2", "hostile-", "victim",
                                             std::string(64, 'h'), std::string(65, 'h'),
                                             "hostile'--", "host%"});
      default:
        return Text();
    }
  }
  std::string Type() {
    switch (U(10)) {
      case 0:
      case 1:
      case 2:
        return Pick(std::vector<std::string>{"hostile.work", "t", "a.b-c_d"});
      case 3:
        return std::string(128, 't');
      case 4:
        return std::string(129, 't');
      case 5:
        return Pick(std::vector<std::string>{"victim.work", "victim.lease", "Upper", "has space",
                                             "tab\t", "semi;colon"});
      default:
        return Text();
    }
  }
  std::string VictimId() {
    std::string id = Pick(victims_->ids);
    if (P(0.25)) id = absl::AsciiStrToUpper(id);
    return id;
  }
  std::string JobId() {
    switch (U(20)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        return VictimId();
      case 5:
      case 6:
      case 7:
      case 8:
      case 9: {
        std::string id = pools_->Job(rng_);
        return id.empty() ? RandomUuid() : id;
      }
      case 10:
      case 11:
        return RandomUuid();
      case 12:
        return Pick(std::vector<std::string>{"00000000-0000-0000-0000-000000000000",
                                             "ffffffff-ffff-ffff-ffff-ffffffffffff",
                                             "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"});
      case 13: {  // a victim's id in forms PostgreSQL accepts but the API does not
        std::string id = Pick(victims_->ids);
        switch (U(6)) {
          case 0:
            return NormalizeId(id);
          case 1:
            return "{" + id + "}";
          case 2:
            return id + " ";
          case 3:
            return std::string(id).append(1, '\0');
          case 4:
            return id.substr(0, 35);
          default:
            return id + "0";
        }
      }
      case 14:
        return Pick(
            std::vector<std::string>{"' OR 1=1 --", "1 OR 1=1", "*", "%", "_", "null", "-1", "0"});
      default:
        return Text();
    }
  }
  std::string LeaseToken() {
    switch (U(8)) {
      case 0:
      case 1:
        return victims_->lease_tokens.empty() ? "" : Pick(victims_->lease_tokens);
      case 2:
      case 3: {
        std::optional<Lease> lease = pools_->PickLease(rng_);
        return lease ? lease->token : RandomUuid();
      }
      case 4:
        return RandomUuid();
      case 5:
        return "";
      default:
        return Text();
    }
  }
  // A job id and a lease token for the worker calls: a real lease of the workspace (so the
  // calls also succeed), the victim's real lease, or any mix.
  void JobAndLease(std::string* job_id, std::string* token) {
    if (P(0.3)) {
      if (std::optional<Lease> lease = pools_->PickLease(rng_)) {
        *job_id = lease->job_id;
        *token = lease->token;
        return;
      }
    }
    *job_id = JobId();
    *token = LeaseToken();
  }
  std::string PageToken() {
    switch (U(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return "";
      case 4:
      case 5:
      case 6:
        return pools_->PageToken(rng_);
      case 7: {  // a real one, altered
        std::string t = pools_->PageToken(rng_);
        if (!t.empty()) t[U(t.size())] ^= 0x01;
        return t;
      }
      case 8: {
        std::string raw;
        for (size_t i = 0, n = U(80); i < n; ++i) raw.push_back(static_cast<char>(rng_()));
        return absl::WebSafeBase64Escape(raw);
      }
      default:
        return Text();
    }
  }
  std::string IdempotencyKey() {
    switch (U(8)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return "";
      case 4:
        return Pick(std::vector<std::string>{"victim-key", "k1", "k2"});
      default:
        return Text();
    }
  }
  int32_t Int32() {
    static const std::vector<int32_t> values = {0,
                                                1,
                                                -1,
                                                2,
                                                5,
                                                20,
                                                100,
                                                101,
                                                500,
                                                501,
                                                std::numeric_limits<int32_t>::min(),
                                                std::numeric_limits<int32_t>::max(),
                                                std::numeric_limits<int32_t>::min() + 1,
                                                std::numeric_limits<int32_t>::max() - 1};
    return P(0.8) ? Pick(values) : static_cast<int32_t>(rng_());
  }
  int32_t SmallInt32() { return P(0.7) ? static_cast<int32_t>(U(6)) : Int32(); }
  int64_t Int64() {
    static const std::vector<int64_t> values = {0,
                                                1,
                                                2,
                                                3,
                                                -1,
                                                1000,
                                                std::numeric_limits<int64_t>::min(),
                                                std::numeric_limits<int64_t>::max(),
                                                int64_t{1} << 53,
                                                -(int64_t{1} << 53)};
    return P(0.8) ? Pick(values) : static_cast<int64_t>(rng_());
  }
  float Percent() {
    static const std::vector<float> values = {0.0f,
                                              100.0f,
                                              50.5f,
                                              99.99999f,
                                              100.00001f,
                                              -0.0f,
                                              -1.0f,
                                              101.0f,
                                              std::numeric_limits<float>::quiet_NaN(),
                                              std::numeric_limits<float>::infinity(),
                                              -std::numeric_limits<float>::infinity(),
                                              std::numeric_limits<float>::denorm_min(),
                                              FLT_MIN,
                                              FLT_MAX,
                                              -FLT_MAX};
    return P(0.7) ? Pick(values) : std::uniform_real_distribution<float>(0, 100)(rng_);
  }
  double Multiplier() {
    static const std::vector<double> values = {0.0,
                                               1.0,
                                               2.0,
                                               10.0,
                                               10.000000001,
                                               0.5,
                                               0.999999,
                                               -1.0,
                                               -0.0,
                                               std::numeric_limits<double>::quiet_NaN(),
                                               std::numeric_limits<double>::infinity(),
                                               -std::numeric_limits<double>::infinity(),
                                               DBL_MAX,
                                               std::numeric_limits<double>::denorm_min(),
                                               1e-300};
    return Pick(values);
  }
  void Duration(google::protobuf::Duration* d) {
    static const std::vector<std::pair<int64_t, int32_t>> values = {
        {0, 0},
        {1, 0},
        {-1, 0},
        {0, 1},
        {0, -1},
        {0, 999999999},
        {0, 1000000000},
        {0, -1000000000},
        {1, -1},
        {-1, 1},
        {60, 0},
        {61, 0},
        {3600, 0},
        {3601, 0},
        {86400, 0},
        {86401, 0},
        {31536000, 0},
        {31536001, 0},
        {315576000000, 0},
        {315576000001, 0},
        {std::numeric_limits<int64_t>::max(), 0},
        {std::numeric_limits<int64_t>::min(), 0},
        {0, std::numeric_limits<int32_t>::min()},
        {0, std::numeric_limits<int32_t>::max()},
        {0, 10000000},
        {0, 100000000},
        {2, 0}};
    if (P(0.85)) {
      const auto& [s, n] = Pick(values);
      d->set_seconds(s);
      d->set_nanos(n);
    } else {
      d->set_seconds(static_cast<int64_t>(rng_()));
      d->set_nanos(static_cast<int32_t>(rng_()));
    }
  }
  void Timestamp(google::protobuf::Timestamp* t) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    static const std::vector<std::pair<int64_t, int32_t>> fixed = {
        {0, 0},
        {-1, 0},
        {253402300799, 999999999},
        {253402300800, 0},
        {-62135596800, 0},
        {-62135596801, 0},
        {std::numeric_limits<int64_t>::max(), 0},
        {std::numeric_limits<int64_t>::min(), 0},
        {1, -1},
        {1, 1000000000}};
    switch (U(6)) {
      case 0:
        t->set_seconds(now);
        break;
      case 1:
        t->set_seconds(now + 3600);
        break;
      case 2:
        t->set_seconds(now + 364 * 86400);
        break;
      case 3:
        t->set_seconds(now + 366 * 86400);
        break;
      default: {
        const auto& [s, n] = Pick(fixed);
        t->set_seconds(s);
        t->set_nanos(n);
      }
    }
  }
  template <typename Map>
  void Labels(Map* labels) {
    size_t n;
    switch (U(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        return;
      case 5:
        n = 32;
        break;
      case 6:
        n = 33;
        break;
      case 7:
        n = P(0.5) ? 100 : 31;
        break;
      default:
        n = 1 + U(3);
    }
    for (size_t i = 0; i < n; ++i) {
      std::string key;
      switch (U(8)) {
        case 0:
          key = absl::StrCat("k", i);
          break;
        case 1:
          key = absl::StrCat("a/b.c-d_E", i);
          break;
        case 2:
          key = std::string(128, 'k').replace(0, std::to_string(i).size(), std::to_string(i));
          break;
        case 3:
          key = std::string(129, 'k');
          break;
        case 4:
          key = "";
          break;
        default:
          key = Text();
      }
      (*labels)[key] = Text();
    }
  }
  Value RandomValue(int depth, bool* roundtrip) {
    Value v;
    switch (U(depth > 3 ? 4 : 7)) {
      case 0:
        v.set_string_value(Text());
        break;
      case 1:
        v.set_number_value(Number(roundtrip));
        break;
      case 2:
        v.set_bool_value(P(0.5));
        break;
      case 3:
        v.set_null_value(google::protobuf::NULL_VALUE);
        break;
      case 4: {
        auto* list = v.mutable_list_value();
        for (size_t i = 0, n = U(4); i < n; ++i)
          *list->add_values() = RandomValue(depth + 1, roundtrip);
        break;
      }
      default: {
        auto* s = v.mutable_struct_value();
        for (size_t i = 0, n = U(4); i < n; ++i) {
          (*s->mutable_fields())[Text()] = RandomValue(depth + 1, roundtrip);
        }
      }
    }
    return v;
  }
  double Number(bool* roundtrip) {
    static const std::vector<double> values = {
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1e21,
        1e-7,
        9007199254740993.0,
        DBL_MAX,
        -DBL_MAX,
        DBL_MIN,
        std::numeric_limits<double>::denorm_min(),
        123456789.123456789,
        static_cast<double>(std::numeric_limits<int64_t>::max())};
    if (P(0.04)) {
      *roundtrip = false;
      return Pick(std::vector<double>{std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()});
    }
    return P(0.8) ? Pick(values) : std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
  }
  // A payload or result. `roundtrip` turns false when it holds something JSON cannot carry.
  void Payload(Struct* s, bool* roundtrip) {
    switch (U(40)) {
      case 0: {  // JSON exactly at the limit, or one byte over: {"s":"xxx"} is 8 + n bytes
        const size_t n = kMaxPayloadBytes - 8 + U(2);
        (*s->mutable_fields())["s"].set_string_value(std::string(n, 'x'));
        return;
      }
      case 1:  // far over the limit, still under gRPC's message limit
        (*s->mutable_fields())["s"].set_string_value(std::string(400 * 1024, 'y'));
        return;
      case 2:  // over gRPC's message limit
        if (P(0.3)) (*s->mutable_fields())["s"].set_string_value(std::string(600 * 1024, 'z'));
        return;
      case 3: {  // many keys
        for (int i = 0, n = 500 + static_cast<int>(U(3000)); i < n; ++i) {
          (*s->mutable_fields())[absl::StrCat("key", i)].set_number_value(i);
        }
        return;
      }
      case 4: {  // deep objects: past the parser's recursion limit some do not parse at all
        const int depth = Pick(std::vector<int>{10, 31, 32, 33, 34, 100, 150});
        Struct* inner = s;
        for (int i = 0; i < depth; ++i)
          inner = (*inner->mutable_fields())["d"].mutable_struct_value();
        (*inner->mutable_fields())["leaf"].set_string_value("'\"\\");
        return;
      }
      case 5: {  // deep lists
        const int depth = Pick(std::vector<int>{20, 47, 48, 49, 100});
        Value* v = &(*s->mutable_fields())["l"];
        for (int i = 0; i < depth; ++i) v = v->mutable_list_value()->add_values();
        v->set_number_value(1);
        return;
      }
      case 6: {  // a Value with no kind
        *roundtrip = false;
        (*s->mutable_fields())["kindless"];
        if (P(0.5)) (*s->mutable_fields())["l"].mutable_list_value()->add_values();
        return;
      }
      case 7: {  // unknown fields inside Struct / Value / ListValue
        *roundtrip = false;
        Value& v = (*s->mutable_fields())["u"];
        switch (U(3)) {
          case 0:
            v.mutable_list_value()
                ->GetReflection()
                ->MutableUnknownFields(v.mutable_list_value())
                ->AddVarint(2, 5);
            break;
          case 1:
            v.GetReflection()->MutableUnknownFields(&v)->AddVarint(99, 1);
            break;
          default:
            s->GetReflection()->MutableUnknownFields(s)->AddLengthDelimited(7, "junk");
        }
        return;
      }
      default:
        if (P(0.3)) return;  // unset
        for (size_t i = 0, n = U(6); i < n; ++i) {
          (*s->mutable_fields())[Text()] = RandomValue(0, roundtrip);
        }
    }
  }
  // A small payload JSON carries verbatim (hostile keys and strings, NUL included).
  Struct StorablePayload() {
    for (;;) {
      Struct s;
      bool roundtrip = true;
      for (size_t i = 0, n = 1 + U(5); i < n; ++i) {
        std::string key = Text();
        if (key.size() > 1000) key = "long";  // (cutting it could split a UTF-8 sequence)
        (*s.mutable_fields())[key] = RandomValue(0, &roundtrip);
      }
      if (roundtrip && s.ByteSizeLong() < 100 * 1024) return s;
    }
  }
  int Enum(int valid_max) {
    return Pick(std::vector<int>{
        0, 1, 2, 3, valid_max, valid_max + 1, -1, 99, std::numeric_limits<int32_t>::max(),
        std::numeric_limits<int32_t>::min(), static_cast<int>(U(valid_max + 1))});
  }
  std::string RandomUuid() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
      out.push_back(kHex[U(16)]);
    }
    return out;
  }
  const Keys& keys() const { return *keys_; }

 private:
  std::mt19937_64 rng_;
  const Pools* pools_;
  const Victims* victims_;
  const Keys* keys_;
};

// One request of the RPC, hostile.
std::unique_ptr<Message> MakeRequest(int rpc, Gen& g) {
  bool unused = true;  // (what Payload reports is for StorablePayload)
  bool* roundtrip = &unused;
  switch (rpc) {
    case kCreateJob: {
      auto r = std::make_unique<v1::CreateJobRequest>();
      if (g.P(0.35)) {
        // Plausible: valid but for hostile text where the API stores text verbatim.
        r->set_workspace_id(kWorkspace);
        r->set_type(g.Pick(std::vector<std::string>{"hostile.work", "t", "a.b-c_d"}));
        if (g.P(0.5)) {
          *r->mutable_payload() = g.StorablePayload();
        } else if (g.P(0.8)) {
          g.Payload(r->mutable_payload(), roundtrip);
        }
        if (g.P(0.3)) r->set_priority(g.Int32());
        for (size_t n = g.P(0.1) ? 32 : g.U(4), k = 0; k < n; ++k) {
          (*r->mutable_labels())[g.Pick(std::vector<std::string>{"k", "a/b", "x.y-z_W", "0"}) +
                                 std::to_string(k)] = g.StorableText(256);
        }
        if (g.P(0.2)) r->set_idempotency_key(g.StorableText(256));
        return r;
      }
      r->set_workspace_id(g.Workspace());
      r->set_type(g.Type());
      if (g.P(0.8)) g.Payload(r->mutable_payload(), roundtrip);
      if (g.P(0.3)) r->set_priority(g.Int32());
      if (g.P(0.25)) {
        v1::RetryPolicy* p = r->mutable_retry_policy();
        if (g.P(0.6)) p->set_max_attempts(g.Int32());
        if (g.P(0.5)) g.Duration(p->mutable_initial_backoff());
        if (g.P(0.5)) g.Duration(p->mutable_max_backoff());
        if (g.P(0.6)) p->set_multiplier(g.Multiplier());
      }
      if (g.P(0.2)) g.Duration(r->mutable_timeout());
      if (g.P(0.2)) g.Duration(r->mutable_ttl());
      if (g.P(0.2)) g.Timestamp(r->mutable_run_after());
      g.Labels(r->mutable_labels());
      r->set_idempotency_key(g.IdempotencyKey());
      return r;
    }
    case kGetJob: {
      auto r = std::make_unique<v1::GetJobRequest>();
      r->set_id(g.JobId());
      return r;
    }
    case kListJobs: {
      auto r = std::make_unique<v1::ListJobsRequest>();
      r->set_workspace_id(g.Workspace());
      for (size_t i = 0, n = g.U(4); i < n; ++i)
        r->add_states(static_cast<v1::JobState>(g.Enum(6)));
      if (g.P(0.3)) r->set_type(g.Type());
      g.Labels(r->mutable_labels());
      if (g.P(0.7)) r->set_page_size(g.SmallInt32());
      r->set_page_token(g.PageToken());
      return r;
    }
    case kCancelJob: {
      auto r = std::make_unique<v1::CancelJobRequest>();
      r->set_id(g.JobId());
      if (g.P(0.7)) r->set_reason(g.Text());
      return r;
    }
    case kRetryJob: {
      auto r = std::make_unique<v1::RetryJobRequest>();
      r->set_id(g.JobId());
      return r;
    }
    case kWatchJob: {
      auto r = std::make_unique<v1::WatchJobRequest>();
      r->set_id(g.JobId());
      if (g.P(0.5)) r->set_after_sequence(g.Int64());
      return r;
    }
    case kWatchJobs: {
      auto r = std::make_unique<v1::WatchJobsRequest>();
      r->set_workspace_id(g.Workspace());
      for (size_t i = 0, n = g.U(3); i < n; ++i)
        r->add_states(static_cast<v1::JobState>(g.Enum(6)));
      for (size_t i = 0, n = g.U(3); i < n; ++i) r->add_types(g.Type());
      return r;
    }
    case kListJobEvents: {
      auto r = std::make_unique<v1::ListJobEventsRequest>();
      r->set_id(g.JobId());
      if (g.P(0.6)) r->set_page_size(g.SmallInt32());
      r->set_page_token(g.PageToken());
      return r;
    }
    case kGetJobStats: {
      auto r = std::make_unique<v1::GetJobStatsRequest>();
      r->set_workspace_id(g.Workspace());
      return r;
    }
    case kAcquireJobs: {
      auto r = std::make_unique<v1::AcquireJobsRequest>();
      r->set_workspace_id(g.Workspace());
      const size_t n = g.P(0.1) ? g.Pick(std::vector<size_t>{0, 64, 65}) : 1 + g.U(3);
      for (size_t i = 0; i < n; ++i) r->add_types(g.P(0.6) ? "hostile.work" : g.Type());
      r->set_worker_id(g.P(0.5) ? "hostile-worker" : g.Text());
      r->set_max_jobs(g.P(0.7) ? 1 + static_cast<int32_t>(g.U(5)) : g.Int32());
      if (g.P(0.5)) {
        if (g.P(0.6)) {
          r->mutable_wait()->set_nanos(
              static_cast<int32_t>(g.Pick(std::vector<int>{0, 10, 100, 300})) * 1000000);
        } else {
          g.Duration(r->mutable_wait());
        }
      }
      if (g.P(0.5)) g.Duration(r->mutable_lease_duration());
      return r;
    }
    case kReportProgress: {
      auto r = std::make_unique<v1::ReportProgressRequest>();
      g.JobAndLease(r->mutable_job_id(), r->mutable_lease_token());
      r->set_progress_percent(g.Percent());
      if (g.P(0.7)) r->set_progress_message(g.Text());
      const size_t n = g.P(0.05) ? g.Pick(std::vector<size_t>{100, 101}) : g.U(3);
      for (size_t i = 0; i < n; ++i) {
        v1::JobMessage* m = r->add_messages();
        m->set_level(static_cast<v1::MessageLevel>(g.Enum(3)));
        m->set_text(n > 3 ? "x" : g.Text());
      }
      return r;
    }
    case kCompleteJob: {
      auto r = std::make_unique<v1::CompleteJobRequest>();
      g.JobAndLease(r->mutable_job_id(), r->mutable_lease_token());
      if (g.P(0.7)) g.Payload(r->mutable_result(), roundtrip);
      return r;
    }
    case kFailJob: {
      auto r = std::make_unique<v1::FailJobRequest>();
      g.JobAndLease(r->mutable_job_id(), r->mutable_lease_token());
      if (g.P(0.7)) r->set_error_message(g.Text());
      if (g.P(0.6)) r->set_retryable(g.P(0.5));
      return r;
    }
    case kCreateApiKey: {
      auto r = std::make_unique<v1::CreateApiKeyRequest>();
      r->set_name(g.Text());
      r->set_role(static_cast<v1::ApiKeyRole>(g.Enum(4)));
      r->set_workspace_id(g.Workspace());
      if (g.P(0.3)) g.Timestamp(r->mutable_expire_time());
      return r;
    }
    case kListApiKeys: {
      auto r = std::make_unique<v1::ListApiKeysRequest>();
      r->set_workspace_id(g.P(0.3) ? "" : g.Workspace());
      r->set_page_size(g.SmallInt32());
      r->set_page_token(g.PageToken());
      return r;
    }
    default: {
      auto r = std::make_unique<v1::RevokeApiKeyRequest>();
      r->set_id(g.P(0.5) && !g.keys().ids.empty() ? g.Pick(g.keys().ids) : g.JobId());
      return r;
    }
  }
}

// Raw bytes: mutations of a request's encoding, most of which libprotobuf refuses to parse.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string MutateRaw(const std::string& bytes, const Message& other, Gen& g, std::string* how) {
  static const std::vector<std::string> bad_utf8 = {"\xff\xfe",         "\xc3\x28",
                                                    "\xa0\xa1",         "\xe2\x28\xa1",
                                                    "\xf0\x28\x8c\xbc", "\xc0\xaf",
                                                    "\xed\xa0\x80",     "\xf8\x88\x80\x80\x80",
                                                    "hostile\xff",      std::string("\x80", 1)};
  switch (g.U(14)) {
    case 0: {
      const std::string& s = g.Pick(bad_utf8);
      *how = "field 1 (a string) holds invalid UTF-8";
      return bytes + "\x0a" + Varint(s.size()) + s;
    }
    case 1: {  // invalid UTF-8 in a nested string: a map key, a Struct key, a message text
      const std::string& s = g.Pick(bad_utf8);
      const std::string entry = "\x0a" + Varint(s.size()) + s;
      *how = "a nested string (field 9/4/5/3 submessage field 1) holds invalid UTF-8";
      const char tag = g.Pick(std::vector<char>{'\x4a', '\x22', '\x2a', '\x1a'});
      return bytes + std::string(1, tag) + Varint(entry.size()) + entry;
    }
    case 2:
      *how = "truncated varint";
      return bytes + "\x78\xff";
    case 3:
      *how = "length past the end";
      return bytes + "\x0a\x7f" + "abc";
    case 4:
      *how = "wire type 6/7";
      return bytes + (g.P(0.5) ? "\x0e\x01" : "\x0f\x01");
    case 5:
      *how = "field number 0";
      return bytes + std::string("\x00\x01", 2);
    case 6:
      *how = "unmatched group end";
      return bytes + "\x0c";
    case 7:
      *how = "group start without end";
      return bytes + "\x0b\x08\x01";
    case 8:
      *how = "field 1 as a varint (wrong wire type)";
      return bytes + "\x08\x01";
    case 9:
      *how = "unknown fields";
      return bytes + "\xc0\x3e\x05" + "\xca\x3e\x04junk";
    case 10: {
      *how = "random bytes";
      std::string out;
      for (size_t i = 0, n = g.U(48); i < n; ++i) out.push_back(static_cast<char>(g.rng()()));
      return out;
    }
    case 11:
      *how = "another message's encoding";
      return other.SerializeAsString();
    case 12: {
      *how = "truncated encoding";
      return bytes.empty() ? std::string("\x0a", 1) : bytes.substr(0, g.U(bytes.size()));
    }
    default: {
      *how = "overflowing length varint";
      return bytes + "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    }
  }
}

// ---------------------------------------------------------------------------------------
// Checking answers.

// "NOT_FOUND", or "?" for a code gRPC does not define.
std::string CodeName(int code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "?" : name;
}

std::string StringField(const Message& m, const char* name) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
    return "";
  }
  return m.GetReflection()->GetString(m, f);
}

bool HasFieldNamed(const Message& m, const char* name) {
  return m.GetDescriptor()->FindFieldByName(name) != nullptr;
}

// "field: why", "field.sub: why", "labels[key]: why", "messages[3].text: why", where the
// first name is a field of the request.
bool NamesRequestField(const std::string& message, const google::protobuf::Descriptor& request) {
  size_t i = 0;
  auto ident = [&]() -> std::string {
    const size_t start = i;
    while (i < message.size() && ((message[i] >= 'a' && message[i] <= 'z') || message[i] == '_' ||
                                  (i > start && message[i] >= '0' && message[i] <= '9'))) {
      ++i;
    }
    return message.substr(start, i - start);
  };
  const std::string first = ident();
  if (first.empty() || request.FindFieldByName(first) == nullptr) return false;
  for (;;) {
    if (i < message.size() && message[i] == '[') {
      const size_t close = message.find(']', i);
      if (close == std::string::npos) return false;
      i = close + 1;
    } else if (i < message.size() && message[i] == '.') {
      ++i;
      if (ident().empty()) return false;
    } else {
      break;
    }
  }
  return message.compare(i, 2, ": ") == 0;
}

// Every Job and JobEvent an answer carries must be of the test's workspace, never a victim.
void CollectLeaks(const Message& m, const Victims& victims, std::vector<std::string>* leaks) {
  const std::string& type = m.GetDescriptor()->full_name();
  if (type == "google.protobuf.Struct") return;
  if (type == "jobd.v1.Job") {
    const auto& job = static_cast<const v1::Job&>(m);
    if (job.workspace_id() != kWorkspace || victims.normalized.count(NormalizeId(job.id()))) {
      leaks->push_back(
          absl::StrCat("job ", job.id(), " of workspace \"", job.workspace_id(), "\""));
    }
  }
  if (type == "jobd.v1.JobEvent") {
    const auto& event = static_cast<const v1::JobEvent&>(m);
    if (victims.normalized.count(NormalizeId(event.job_id()))) {
      leaks->push_back(absl::StrCat("event of victim job ", event.job_id()));
    }
  }
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        CollectLeaks(r->GetRepeatedMessage(m, f, i), victims, leaks);
      }
    } else {
      CollectLeaks(r->GetMessage(m, f), victims, leaks);
    }
  }
}

std::string Show(const Message& m) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetUseUtf8StringEscaping(true);
  printer.SetTruncateStringFieldLongerThan(160);
  std::string text;
  printer.PrintToString(m, &text);
  if (text.size() > 3000)
    text = text.substr(0, 3000) + "...(" + std::to_string(text.size()) + " chars)";
  return text;
}

std::string ShowBytes(const std::string& bytes) {
  std::string shown = absl::CHexEscape(bytes.size() > 400 ? bytes.substr(0, 400) : bytes);
  if (bytes.size() > 400) absl::StrAppend(&shown, "...(", bytes.size(), " bytes)");
  return shown;
}

// ---------------------------------------------------------------------------------------
// One call.

struct Call {
  uint64_t index = 0;
  int rpc = 0;
  std::unique_ptr<Message> typed;  // as generated (before any raw mutation)
  std::string bytes;               // what is sent
  std::string raw;                 // how the bytes were mangled; empty: typed
  int auth = kMember;
  absl::Duration deadline = absl::Seconds(10);
  bool may_block = false;  // a deadline is an expected way for the call to end
  bool tiny_deadline = false;
  bool cancel_after_first = false;
  bool roundtrip = false;
};

struct Outcome {
  grpc::Status status;
  absl::Duration elapsed;
  std::vector<std::unique_ptr<Message>> responses;
  std::string unparsed_response;  // set when a response did not parse
  bool cancelled_by_client = false;
};

std::string AuthValueGarbage(Gen& g) {
  static const std::vector<std::string> values = {
      "Bearer x",           "Bearer jobd_",     "Bearer jobd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "Bearer null",        "Bearer undefined", "Bearer *",
      "Bearer %",           "Bearer \\",        "Bearer \"\"",
      "Bearer ' OR '1'='1", "Token abc",        "bearer",
      "Bearer\"x\""};
  return g.Pick(values);
}

class Caller {
 public:
  Caller(std::shared_ptr<grpc::Channel> shared, std::shared_ptr<grpc::Channel> isolated)
      : shared_(std::move(shared)),
        isolated_(std::move(isolated)),
        shared_stub_(shared_),
        isolated_stub_(isolated_) {}

  Outcome Send(const Call& call, const Keys& keys, Gen& g) {
    const Method& method = Methods()[call.rpc];
    // Timed from before the deadline is set, so a call ended by it never looks early.
    const absl::Time start = absl::Now();
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(start + call.deadline));
    AddAuth(&ctx, call.auth, keys, g);
    grpc::Channel* channel = call.auth == kHugeKey ? isolated_.get() : shared_.get();
    grpc::Slice slice(call.bytes);
    grpc::ByteBuffer request(&slice, 1);
    Outcome out;
    if (!method.streaming) {
      grpc::GenericStub& stub = call.auth == kHugeKey ? isolated_stub_ : shared_stub_;
      grpc::ByteBuffer response;
      std::promise<grpc::Status> done;
      std::future<grpc::Status> result = done.get_future();
      stub.UnaryCall(&ctx, method.path, grpc::StubOptions(), &request, &response,
                     [&done](grpc::Status s) { done.set_value(std::move(s)); });
      out.status = result.get();
      out.elapsed = absl::Now() - start;
      if (out.status.ok()) Parse(method, &response, &out);
    } else {
      const grpc::internal::RpcMethod rpc_method(method.path,
                                                 grpc::internal::RpcMethod::SERVER_STREAMING);
      std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
          grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel, rpc_method, &ctx,
                                                                        request));
      grpc::ByteBuffer message;
      while (reader->Read(&message)) {
        Parse(method, &message, &out);
        if (call.cancel_after_first && !out.cancelled_by_client) {
          out.cancelled_by_client = true;
          ctx.TryCancel();
        }
      }
      out.status = reader->Finish();
      out.elapsed = absl::Now() - start;
    }
    return out;
  }

 private:
  static void AddAuth(grpc::ClientContext* ctx, int auth, const Keys& keys, Gen& g) {
    auto add = [&](const std::string& value) { ctx->AddMetadata("authorization", value); };
    switch (auth) {
      case kMember:
        add("Bearer " + keys.member);
        break;
      case kWorker:
        add("Bearer " + keys.worker);
        break;
      case kViewer:
        add("Bearer " + keys.viewer);
        break;
      case kMemberLowercaseBearer:
        add("bearer " + keys.member);
        break;
      case kMemberPadded:
        add("Bearer    " + keys.member + "   ");
        break;
      case kNoKey:
        break;
      case kGarbageKey:
        add(AuthValueGarbage(g));
        break;
      case kSqlBearer:
        add(g.Pick(std::vector<std::string>{"Bearer '; DROP TABLE api_keys; --",
                                            "Bearer ' OR 1=1 --", "Bearer \" OR \"\"=\"",
                                            "Bearer x'); DELETE FROM jobs; --", "Bearer %' --"}));
        break;
      case kLongKey:
        add("Bearer " + std::string(g.Pick(std::vector<size_t>{100, 1000, 4000, 7000}), 'k'));
        break;
      case kTwoHeadersSame:
        add("Bearer " + keys.member);
        add("Bearer " + keys.member);
        break;
      case kTwoHeadersMixed:
        if (g.P(0.5)) {
          add("Bearer " + keys.viewer);
          add("Bearer x");
        } else {
          add("Bearer x");
          add("Bearer " + keys.worker);
        }
        break;
      case kRevokedKey:
        add("Bearer " + keys.revoked);
        break;
      case kExpiredKey:
        add("Bearer " + keys.expired);
        break;
      case kBasicScheme:
        add("Basic " + keys.member);
        break;
      case kEmptyBearer:
        add("Bearer ");
        break;
      case kBearerOnly:
        add("Bearer");
        break;
      case kKeyPlusJunk:
        add("Bearer " + keys.member + g.Pick(std::vector<std::string>{"x", " x", "'", "="}));
        break;
      case kAdminKeyPrefix:
        add("Bearer " + keys.admin.substr(0, keys.admin.size() - 1));
        break;
      case kBinaryHeader:
        ctx->AddMetadata("authorization-bin", std::string("Bearer \0\xff", 9) + keys.member);
        break;
      case kHugeKey:
        add("Bearer " + std::string(g.Pick(std::vector<size_t>{9000, 20000, 100000}), 'k'));
        break;
    }
  }
  static void Parse(const Method& method, grpc::ByteBuffer* buffer, Outcome* out) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (buffer->Dump(&slices).ok()) {
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    std::unique_ptr<Message> m(method.response->New());
    if (!m->ParseFromString(bytes)) out->unparsed_response = bytes;
    out->responses.push_back(std::move(m));
  }

  std::shared_ptr<grpc::Channel> shared_, isolated_;
  grpc::GenericStub shared_stub_, isolated_stub_;
};

// ---------------------------------------------------------------------------------------
// The test.

class HostileTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    return {"--log_level", "warning", "--max_request_bytes", std::to_string(kMaxRequestBytes)};
  }

  // Digests of everything outside the test's workspace.
  std::string Digest() {
    return absl::StrCat(
        "jobs=",
        Sql("SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) "
            "FROM jobs t WHERE t.workspace_id <> 'hostile'"),
        " job_events=",
        Sql("SELECT count(*) || ':' || md5(coalesce(string_agg(e::text, ',' ORDER BY e.job_id, "
            "e.sequence), '')) FROM job_events e JOIN jobs j ON j.id = e.job_id "
            "WHERE j.workspace_id <> 'hostile'"),
        " api_keys=",
        Sql("SELECT count(*) || ':' || md5(coalesce(string_agg(k::text, ',' ORDER BY k.id), '')) "
            "FROM api_keys k"));
  }

  v1::Job CreateAs(v1::JobService::Stub* stub, v1::CreateJobRequest request) {
    v1::CreateJobResponse response;
    grpc::Status s = stub->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << " " << Show(request);
    return response.job();
  }

  v1::LeasedJob AcquireOne(v1::WorkerService::Stub* stub, const std::string& workspace,
                           const std::string& type, const std::string& worker_id = "w") {
    v1::AcquireJobsRequest request;
    request.set_workspace_id(workspace);
    request.add_types(type);
    request.set_worker_id(worker_id);
    request.set_max_jobs(1);
    request.mutable_lease_duration()->set_seconds(3600);
    v1::AcquireJobsResponse response;
    grpc::Status s = stub->AcquireJobs(Ctx().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.jobs_size(), 1) << workspace << " " << type;
    return response.jobs_size() ? response.jobs(0) : v1::LeasedJob();
  }

  void RoundTripWorkerTexts(uint64_t seed, const Keys& keys, int samples);

  bool JobdAlive() {
    std::ifstream in("/proc/" + std::to_string(jobd_->pid()) + "/stat");
    std::string pid, comm, state;
    if (!(in >> pid >> comm >> state)) return false;
    return state != "Z" && state != "X";
  }

  void MakeKeys(Keys* keys) {
    const std::string url = database_->url();
    keys->admin = jobd_->admin_key();
    keys->member = CreateApiKey(url, "member", "hostile-member", {"--workspace", kWorkspace});
    keys->worker = CreateApiKey(url, "worker", "hostile-worker", {"--workspace", kWorkspace});
    keys->viewer = CreateApiKey(url, "viewer", "hostile-viewer", {"--workspace", kWorkspace});
    auto admin = v1::AdminService::NewStub(jobd_->channel());
    v1::CreateApiKeyRequest create;
    create.set_name("hostile-revoked");
    create.set_role(v1::API_KEY_ROLE_MEMBER);
    create.set_workspace_id(kWorkspace);
    v1::CreateApiKeyResponse created;
    ASSERT_TRUE(admin->CreateApiKey(Ctx().get(), create, &created).ok());
    keys->revoked = created.secret();
    v1::RevokeApiKeyRequest revoke;
    revoke.set_id(created.api_key().id());
    v1::RevokeApiKeyResponse revoked;
    ASSERT_TRUE(admin->RevokeApiKey(Ctx().get(), revoke, &revoked).ok());
    create.set_name("hostile-expired");
    // At least 2 s ahead (whole seconds): jobd refuses an expire_time that has passed when
    // the call arrives, and on a loaded machine the call may arrive late.
    *create.mutable_expire_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(absl::Now()) + 3);
    ASSERT_TRUE(admin->CreateApiKey(Ctx().get(), create, &created).ok());
    keys->expired = created.secret();
    v1::ListApiKeysRequest list;
    list.set_page_size(500);
    v1::ListApiKeysResponse listed;
    ASSERT_TRUE(admin->ListApiKeys(Ctx().get(), list, &listed).ok());
    for (const auto& key : listed.api_keys()) keys->ids.push_back(key.id());
    // jobd learns of keys made by `jobd keys create` within its refresh interval.
    for (const std::string* key : {&keys->member, &keys->worker, &keys->viewer}) {
      auto stub = v1::JobService::NewStub(KeyedChannel(jobd_->address(), *key));
      ASSERT_TRUE(WaitFor(
          [&] {
            v1::GetJobStatsRequest r;
            r.set_workspace_id(kWorkspace);
            v1::GetJobStatsResponse response;
            return stub->GetJobStats(Ctx().get(), r, &response).ok();
          },
          absl::Seconds(10)));
    }
  }

  // Jobs of other workspaces in every state, made by the admin.
  void MakeVictims(Victims* victims) {
    auto add = [&](const v1::Job& job) {
      victims->ids.push_back(job.id());
      victims->normalized.insert(NormalizeId(job.id()));
    };
    auto request = [](const std::string& workspace, const std::string& type) {
      v1::CreateJobRequest r;
      r.set_workspace_id(workspace);
      r.set_type(type);
      (*r.mutable_payload()->mutable_fields())["secret"].set_string_value("victim's");
      (*r.mutable_labels())["env"] = "prod";
      return r;
    };
    add(CreateAs(jobs_.get(), request("victim-a", "victim.work")));
    v1::CreateJobRequest keyed = request("victim-a", "victim.work");
    keyed.set_idempotency_key("victim-key");
    keyed.set_priority(5);
    add(CreateAs(jobs_.get(), keyed));
    add(CreateAs(jobs_.get(), request("victim-b", "victim.work")));
    v1::CreateJobRequest later = request("victim-b", "victim.later");
    later.mutable_run_after()->set_seconds(
        absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 200)));
    add(CreateAs(jobs_.get(), later));
    // RUNNING, leased for an hour, with progress.
    add(CreateAs(jobs_.get(), request("victim-a", "victim.lease")));
    v1::LeasedJob running = AcquireOne(workers_.get(), "victim-a", "victim.lease", "victim-worker");
    victims->lease_tokens.push_back(running.lease_token());
    v1::ReportProgressRequest progress;
    progress.set_job_id(running.job().id());
    progress.set_lease_token(running.lease_token());
    progress.set_progress_percent(10);
    progress.set_progress_message("victim progress");
    v1::ReportProgressResponse progressed;
    ASSERT_TRUE(workers_->ReportProgress(Ctx().get(), progress, &progressed).ok());
    // CANCELLED.
    v1::Job cancelled = CreateAs(jobs_.get(), request("victim-a", "victim.work"));
    add(cancelled);
    v1::CancelJobRequest cancel;
    cancel.set_id(cancelled.id());
    cancel.set_reason("victim cancelled");
    v1::CancelJobResponse cancel_response;
    ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancel_response).ok());
    // SUCCEEDED and FAILED (their old lease tokens are stale ones to try).
    add(CreateAs(jobs_.get(), request("victim-b", "victim.done")));
    v1::LeasedJob done = AcquireOne(workers_.get(), "victim-b", "victim.done");
    victims->lease_tokens.push_back(done.lease_token());
    v1::CompleteJobRequest complete;
    complete.set_job_id(done.job().id());
    complete.set_lease_token(done.lease_token());
    (*complete.mutable_result()->mutable_fields())["ok"].set_bool_value(true);
    v1::CompleteJobResponse completed;
    ASSERT_TRUE(workers_->CompleteJob(Ctx().get(), complete, &completed).ok());
    add(CreateAs(jobs_.get(), request("victim-b", "victim.fail")));
    v1::LeasedJob failing = AcquireOne(workers_.get(), "victim-b", "victim.fail");
    victims->lease_tokens.push_back(failing.lease_token());
    v1::FailJobRequest fail;
    fail.set_job_id(failing.job().id());
    fail.set_lease_token(failing.lease_token());
    fail.set_retryable(false);
    fail.set_error_message("victim failed");
    v1::FailJobResponse failed;
    ASSERT_TRUE(workers_->FailJob(Ctx().get(), fail, &failed).ok());
    ASSERT_EQ(failed.job().state(), v1::JOB_STATE_FAILED);
  }

  // Jobs of the test's workspace for the storm to aim at: some queued, some leased.
  void MakeHostileJobs(const Keys& keys, Pools* pools) {
    auto member = v1::JobService::NewStub(KeyedChannel(jobd_->address(), keys.member));
    auto worker = v1::WorkerService::NewStub(KeyedChannel(jobd_->address(), keys.worker));
    for (int i = 0; i < 20; ++i) {
      v1::CreateJobRequest r;
      r.set_workspace_id(kWorkspace);
      r.set_type(i % 2 ? "hostile.work" : "t");
      pools->AddJob(CreateAs(member.get(), r).id());
    }
    for (int i = 0; i < 6; ++i) {
      v1::LeasedJob leased = AcquireOne(worker.get(), kWorkspace, i % 2 ? "hostile.work" : "t");
      pools->AddLease({leased.job().id(), leased.lease_token()});
    }
    v1::ListJobsRequest list;
    list.set_workspace_id(kWorkspace);
    list.set_page_size(3);
    v1::ListJobsResponse listed;
    ASSERT_TRUE(member->ListJobs(Ctx().get(), list, &listed).ok());
    pools->AddPageToken(listed.next_page_token());
  }
};

// Progress text, messages, worker id, result, error message and cancel reason come back as sent.
void HostileTest::RoundTripWorkerTexts(uint64_t seed, const Keys& keys, int samples) {
  auto member = v1::JobService::NewStub(KeyedChannel(jobd_->address(), keys.member));
  auto worker = v1::WorkerService::NewStub(KeyedChannel(jobd_->address(), keys.worker));
  Pools no_pools;
  Victims no_victims;
  for (int i = 0; i < samples; ++i) {
    Gen g(seed ^ 0x5eed, static_cast<uint64_t>(i), &no_pools, &no_victims, &keys);
    SCOPED_TRACE(absl::StrCat("worker round trip ", i, ", seed ", seed));
    v1::CreateJobRequest create;
    create.set_workspace_id(kWorkspace);
    create.set_type("roundtrip.check");
    *create.mutable_payload() = g.StorablePayload();
    for (size_t n = g.U(4), k = 0; k < n; ++k) {
      (*create.mutable_labels())[absl::StrCat("k", k)] = g.StorableText(256);
    }
    v1::Job created = CreateAs(member.get(), create);
    const std::string worker_id = g.StorableText(256, /*non_empty=*/true);
    v1::LeasedJob leased = AcquireOne(worker.get(), kWorkspace, "roundtrip.check", worker_id);
    ASSERT_EQ(leased.job().id(), created.id());
    v1::ReportProgressRequest progress;
    progress.set_job_id(created.id());
    progress.set_lease_token(leased.lease_token());
    progress.set_progress_percent(std::uniform_real_distribution<float>(0, 100)(g.rng()));
    progress.set_progress_message(g.StorableText(4096));
    for (size_t n = 1 + g.U(3), k = 0; k < n; ++k) {
      v1::JobMessage* m = progress.add_messages();
      m->set_level(static_cast<v1::MessageLevel>(1 + g.U(3)));
      m->set_text(g.StorableText(4096));
    }
    v1::ReportProgressResponse progressed;
    grpc::Status s = worker->ReportProgress(Ctx().get(), progress, &progressed);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << "\n" << Show(progress);
    v1::GetJobRequest get;
    get.set_id(created.id());
    v1::GetJobResponse got;
    ASSERT_TRUE(member->GetJob(Ctx().get(), get, &got).ok());
    EXPECT_EQ(got.job().progress_message(), progress.progress_message()) << Show(progress);
    EXPECT_EQ(got.job().progress_percent(), progress.progress_percent());
    EXPECT_EQ(got.job().worker_id(), worker_id);
    EXPECT_TRUE(MessageDifferencer::Equals(got.job().payload(), create.payload()))
        << "sent " << Show(create.payload()) << "\ngot " << Show(got.job().payload());
    EXPECT_EQ(got.job().labels().size(), create.labels().size());
    for (const auto& [k, v] : create.labels()) EXPECT_EQ(got.job().labels().at(k), v);
    v1::ListJobEventsRequest events;
    events.set_id(created.id());
    events.set_page_size(500);
    v1::ListJobEventsResponse listed;
    ASSERT_TRUE(member->ListJobEvents(Ctx().get(), events, &listed).ok());
    std::vector<const v1::JobMessage*> messages;
    for (const auto& e : listed.events()) {
      if (e.kind() == v1::JOB_EVENT_KIND_MESSAGE) messages.push_back(&e.message());
    }
    ASSERT_EQ(messages.size(), static_cast<size_t>(progress.messages_size()));
    for (size_t k = 0; k < messages.size(); ++k) {
      EXPECT_TRUE(MessageDifferencer::Equals(*messages[k], progress.messages(static_cast<int>(k))))
          << "sent " << Show(progress.messages(static_cast<int>(k))) << "\ngot "
          << Show(*messages[k]);
    }
    switch (i % 3) {
      case 0: {
        v1::CompleteJobRequest complete;
        complete.set_job_id(created.id());
        complete.set_lease_token(leased.lease_token());
        *complete.mutable_result() = g.StorablePayload();
        v1::CompleteJobResponse completed;
        s = worker->CompleteJob(Ctx().get(), complete, &completed);
        ASSERT_TRUE(s.ok()) << CodeName(s.error_code()) << " " << s.error_message() << "\n"
                            << Show(complete);
        ASSERT_TRUE(member->GetJob(Ctx().get(), get, &got).ok());
        EXPECT_EQ(got.job().state(), v1::JOB_STATE_SUCCEEDED);
        EXPECT_TRUE(MessageDifferencer::Equals(got.job().result(), complete.result()))
            << "sent " << Show(complete.result()) << "\ngot " << Show(got.job().result());
        break;
      }
      case 1: {
        v1::FailJobRequest fail;
        fail.set_job_id(created.id());
        fail.set_lease_token(leased.lease_token());
        fail.set_error_message(g.StorableText(4096));
        fail.set_retryable(false);
        v1::FailJobResponse failed;
        s = worker->FailJob(Ctx().get(), fail, &failed);
        ASSERT_TRUE(s.ok()) << CodeName(s.error_code()) << " " << s.error_message() << "\n"
                            << Show(fail);
        ASSERT_TRUE(member->GetJob(Ctx().get(), get, &got).ok());
        EXPECT_EQ(got.job().state(), v1::JOB_STATE_FAILED);
        EXPECT_EQ(got.job().error_message(), fail.error_message());
        break;
      }
      default: {
        v1::CancelJobRequest cancel;
        cancel.set_id(created.id());
        cancel.set_reason(g.StorableText(4096, /*non_empty=*/true));
        v1::CancelJobResponse cancelled;
        s = member->CancelJob(Ctx().get(), cancel, &cancelled);
        ASSERT_TRUE(s.ok()) << CodeName(s.error_code()) << " " << s.error_message() << "\n"
                            << Show(cancel);
        ASSERT_TRUE(member->GetJob(Ctx().get(), get, &got).ok());
        EXPECT_EQ(got.job().state(), v1::JOB_STATE_CANCELLED);
        EXPECT_EQ(got.job().error_message(), cancel.reason());
      }
    }
  }
}

struct Failures {
  std::mutex mu;
  std::vector<std::string> shown;
  std::map<std::string, int> by_kind;  // "RPC: what" -> count
  int total = 0;
  void Add(const std::string& kind, const std::string& detail) {
    std::lock_guard<std::mutex> lock(mu);
    ++total;
    if (by_kind[kind]++ < 3 && shown.size() < 60) shown.push_back(detail);
  }
};

uint64_t SeedFromEnv() {
  if (const char* s = std::getenv("JOBD_HOSTILE_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  return std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
}

int64_t RequestsFromEnv() {
  if (const char* s = std::getenv("JOBD_HOSTILE_REQUESTS"); s != nullptr && *s != '\0') {
    return std::strtoll(s, nullptr, 10);
  }
  return 10000;
}

void QuietProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string&) {}

// jobd puts some request fields in its error messages. gRPC sends the message as a trailer,
// and a client refuses trailers over its metadata limit (8 KiB by default): then it sees
// RESOURCE_EXHAUSTED instead of jobd's answer. The answer's code must reach the client, and
// the connection must keep serving other calls.
TEST_F(HostileTest, LongFieldsInAnErrorMessageStillGiveTheDocumentedCode) {
  const std::string member_key =
      CreateApiKey(database_->url(), "member", "hostile-member", {"--workspace", kWorkspace});
  auto channel = KeyedChannel(jobd_->address(), member_key);
  auto member = v1::JobService::NewStub(channel);
  auto stats = [&] {
    v1::GetJobStatsRequest r;
    r.set_workspace_id(kWorkspace);
    v1::GetJobStatsResponse response;
    return member->GetJobStats(Ctx().get(), r, &response);
  };
  ASSERT_TRUE(WaitFor([&] { return stats().ok(); }, absl::Seconds(10)));
  for (size_t length : {100, 4097, 10000, 70000}) {
    const std::string workspace(length, 'w');
    SCOPED_TRACE(absl::StrCat("workspace_id of ", length, " characters"));
    auto expect_denied = [&](const char* rpc, const grpc::Status& s) {
      EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED)
          << rpc << ": " << CodeName(s.error_code()) << " " << s.error_message().substr(0, 200);
      // The connection still serves.
      const grpc::Status after = stats();
      EXPECT_TRUE(after.ok()) << "after " << rpc << ": " << CodeName(after.error_code()) << " "
                              << after.error_message().substr(0, 200);
    };
    v1::ListJobsRequest list;
    list.set_workspace_id(workspace);
    v1::ListJobsResponse listed;
    expect_denied("ListJobs", member->ListJobs(Ctx().get(), list, &listed));
    v1::GetJobStatsRequest count;
    count.set_workspace_id(workspace);
    v1::GetJobStatsResponse counted;
    expect_denied("GetJobStats", member->GetJobStats(Ctx().get(), count, &counted));
    v1::CreateJobRequest create;
    create.set_workspace_id(workspace);
    create.set_type("t");
    v1::CreateJobResponse created;
    expect_denied("CreateJob", member->CreateJob(Ctx().get(), create, &created));
    v1::WatchJobsRequest watch;
    watch.set_workspace_id(workspace);
    // A refusal ends the stream at once; the deadline only catches one that was not refused.
    auto context = Ctx(absl::Seconds(10));
    auto reader = member->WatchJobs(context.get(), watch);
    v1::WatchJobsResponse event;
    while (reader->Read(&event)) ADD_FAILURE() << "WatchJobs sent " << Show(event);
    expect_denied("WatchJobs", reader->Finish());
  }
}

// The same, with other calls on the connection: one caller's long field must not fail them.
TEST_F(HostileTest, LongFieldsInOneCallDoNotFailOtherCallsOnTheConnection) {
  const std::string member_key =
      CreateApiKey(database_->url(), "member", "hostile-member", {"--workspace", kWorkspace});
  auto member = v1::JobService::NewStub(KeyedChannel(jobd_->address(), member_key));
  auto stats = [&] {
    v1::GetJobStatsRequest r;
    r.set_workspace_id(kWorkspace);
    v1::GetJobStatsResponse response;
    return member->GetJobStats(Ctx().get(), r, &response);
  };
  ASSERT_TRUE(WaitFor([&] { return stats().ok(); }, absl::Seconds(10)));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mu;
  std::map<std::string, int> failed;  // "CODE message" -> count
  std::vector<std::thread> others;
  for (int t = 0; t < 4; ++t) {
    others.emplace_back([&] {
      while (!stop) {
        const grpc::Status s = stats();
        if (s.ok()) {
          ++ok;
        } else {
          std::lock_guard<std::mutex> lock(mu);
          ++failed[absl::StrCat(CodeName(s.error_code()), " ", s.error_message())];
        }
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    v1::ListJobsRequest list;
    list.set_workspace_id(std::string(i % 2 ? 10000 : 70000, 'w'));
    v1::ListJobsResponse listed;
    member->ListJobs(Ctx().get(), list, &listed).ok();
    absl::SleepFor(absl::Milliseconds(10));
  }
  stop = true;
  for (auto& t : others) t.join();
  std::string failures;
  for (const auto& [what, count] : failed) absl::StrAppend(&failures, "\n  ", count, " x ", what);
  EXPECT_TRUE(failed.empty()) << "GetJobStats calls on the connection: " << ok.load()
                              << " OK, and failed:" << failures;
}

// A payload CreateJob accepts comes back from GetJob as sent (unknown fields aside): what JSON
// cannot carry (NaN, infinities, a Value with no kind) must be refused, not altered.
TEST_F(HostileTest, AnAcceptedPayloadComesBackAsSent) {
  std::vector<std::pair<std::string, Struct>> cases;
  auto add = [&](const std::string& name, const std::function<void(Struct*)>& fill) {
    Struct s;
    fill(&s);
    cases.emplace_back(name, s);
  };
  add("NUL, quotes and backslashes", [](Struct* s) {
    (*s->mutable_fields())[std::string("k\0ey'\"", 6)].set_string_value(
        std::string("v\0al'\"\\", 7));
    (*s->mutable_fields())["sql"].set_string_value("'; DROP TABLE jobs; --");
    (*s->mutable_fields())["rtl"].set_string_value("\u202Eevil\u202C e\u0301 👩‍👩‍👧");
  });
  add("extreme numbers", [](Struct* s) {
    (*s->mutable_fields())["min"].set_number_value(std::numeric_limits<double>::denorm_min());
    (*s->mutable_fields())["max"].set_number_value(DBL_MAX);
    (*s->mutable_fields())["big"].set_number_value(9007199254740993.0);
  });
  add("NaN", [](Struct* s) { (*s->mutable_fields())["n"].set_number_value(std::nan("")); });
  add("Infinity", [](Struct* s) {
    (*s->mutable_fields())["i"].set_number_value(std::numeric_limits<double>::infinity());
  });
  add("-Infinity in a list", [](Struct* s) {
    (*s->mutable_fields())["l"].mutable_list_value()->add_values()->set_number_value(
        -std::numeric_limits<double>::infinity());
  });
  add("a Value with no kind", [](Struct* s) { (*s->mutable_fields())["kindless"]; });
  add("a list holding a Value with no kind",
      [](Struct* s) { (*s->mutable_fields())["l"].mutable_list_value()->add_values(); });
  add("a Value with only an unknown field (a newer kind)", [](Struct* s) {
    Value& v = (*s->mutable_fields())["u"];
    v.GetReflection()->MutableUnknownFields(&v)->AddVarint(99, 5);
  });
  add("a list with an unknown field", [](Struct* s) {
    Value& v = (*s->mutable_fields())["u"];
    v.mutable_list_value()
        ->GetReflection()
        ->MutableUnknownFields(v.mutable_list_value())
        ->AddVarint(2, 5);
  });
  for (const auto& [name, payload] : cases) {
    SCOPED_TRACE(name);
    v1::CreateJobRequest request;
    request.set_workspace_id(kWorkspace);
    request.set_type("t");
    *request.mutable_payload() = payload;
    v1::CreateJobResponse created;
    grpc::Status s = jobs_->CreateJob(Ctx().get(), request, &created);
    if (!s.ok()) {
      EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
      EXPECT_TRUE(absl::StartsWith(s.error_message(), "payload")) << s.error_message();
      continue;
    }
    Struct sent = payload;
    sent.DiscardUnknownFields();
    const v1::Job got = Get(created.job().id());
    EXPECT_TRUE(MessageDifferencer::Equals(got.payload(), sent))
        << "CreateJob accepted " << Show(request) << "\nGetJob returns payload {"
        << Show(got.payload()) << "}; stored JSON: "
        << Sql("SELECT payload::text FROM jobs WHERE id = '" + created.job().id() + "'");
  }
}

TEST_F(HostileTest, StormOfHostileRequests) {
  const uint64_t seed = SeedFromEnv();
  const int64_t requests = RequestsFromEnv();
  std::cout << "hostile: seed " << seed << " (JOBD_HOSTILE_SEED=" << seed << " replays it), "
            << requests << " requests" << std::endl;
  // libprotobuf logs every invalid UTF-8 string it refuses; the refusals are the point here.
  google::protobuf::SetLogHandler(&QuietProtobufLog);

  Keys keys;
  ASSERT_NO_FATAL_FAILURE(MakeKeys(&keys));
  Victims victims;
  ASSERT_NO_FATAL_FAILURE(MakeVictims(&victims));
  Pools pools;
  ASSERT_NO_FATAL_FAILURE(MakeHostileJobs(keys, &pools));
  // The expired key has expired (2-3 s) by now, or soon.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto stub = v1::JobService::NewStub(KeyedChannel(jobd_->address(), keys.expired));
        v1::GetJobStatsRequest r;
        r.set_workspace_id(kWorkspace);
        v1::GetJobStatsResponse response;
        return stub->GetJobStats(Ctx().get(), r, &response).error_code() ==
               StatusCode::UNAUTHENTICATED;
      },
      absl::Seconds(30)));
  const std::string before = Digest();
  std::cout << "hostile: outside the workspace before: " << before << std::endl;

  // One connection for the storm; the huge-metadata calls get their own (gRPC may close a
  // connection that sent headers over its limit, failing every call on it).
  auto shared = KeyedChannel(jobd_->address(), "");
  grpc::ChannelArguments isolated_args;
  isolated_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto isolated = grpc::CreateCustomChannel(jobd_->address(), grpc::InsecureChannelCredentials(),
                                            isolated_args);
  auto member_jobs = v1::JobService::NewStub(KeyedChannel(jobd_->address(), keys.member));

  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> roundtrips{0};
  Failures failures;
  std::mutex counts_mu;
  std::map<std::string, int64_t> per_rpc, per_code, per_category;
  const int threads = 8;
  std::vector<std::string> in_flight(threads);
  std::mutex in_flight_mu;
  std::mutex completions_mu;
  std::map<std::string, int> completions_in_flight;
  std::set<std::string> completed;
  const absl::Time start = absl::Now();

  auto worker = [&](int thread) {
    Caller caller(shared, isolated);
    for (;;) {
      const int64_t index = next.fetch_add(1);
      if (index >= requests || stop.load()) return;
      Gen g(seed, static_cast<uint64_t>(index), &pools, &victims, &keys);
      Call call;
      call.index = index;
      // Weights: CreateJob carries the most fields; admin calls are all refused alike.
      static const std::vector<int> weights = {6, 3, 3, 3, 3, 2, 2, 3, 2, 3, 4, 3, 3, 1, 1, 1};
      int pick = static_cast<int>(g.U(43));
      call.rpc = 0;
      while (pick >= weights[call.rpc]) pick -= weights[call.rpc++];
      const Method& method = Methods()[call.rpc];
      call.typed = MakeRequest(call.rpc, g);
      call.bytes = call.typed->SerializeAsString();
      if (g.P(0.08)) {
        std::unique_ptr<Message> other = MakeRequest(static_cast<int>(g.U(kRpcCount)), g);
        call.bytes = MutateRaw(call.bytes, *other, g, &call.raw);
      }
      // Callers: mostly a key whose role may make the call (so the request reaches
      // validation and the store), else any role, else every kind of bad key.
      const uint64_t who = g.U(100);
      if (who < 60) {
        switch (method.need) {
          case kRead:
            call.auth = g.Pick(std::vector<int>{kMember, kWorker, kViewer});
            break;
          case kWork:
            call.auth = kWorker;
            break;
          case kAdmin:
            call.auth = g.Pick(std::vector<int>{kMember, kWorker, kViewer});
            break;
          default:
            call.auth = kMember;
        }
        if (call.auth == kMember && g.P(0.15)) {
          call.auth = g.P(0.5) ? kMemberLowercaseBearer : kMemberPadded;
        }
      } else if (who < 78) {
        call.auth = g.Pick(std::vector<int>{kMember, kWorker, kViewer});
      } else if (who < 79) {
        call.auth = kHugeKey;
      } else {
        call.auth = kNoKey + static_cast<int>(g.U(kHugeKey - kNoKey));
      }
      // Deadlines: streams end by theirs; a long AcquireJobs wait is cut by the client.
      if (method.streaming) {
        call.may_block = true;
        call.deadline = absl::Milliseconds(200);
        // A WatchJob that is answered sends its SNAPSHOT at once: cancel after it.
        call.cancel_after_first = call.rpc == kWatchJob && g.P(0.3);
        if (call.cancel_after_first) call.deadline = absl::Seconds(1);
      } else if (call.rpc == kAcquireJobs) {
        const auto& r = static_cast<const v1::AcquireJobsRequest&>(*call.typed);
        call.may_block = !call.raw.empty() ||
                         (r.has_wait() && (r.wait().seconds() != 0 ||
                                           r.wait().nanos() >= 300000000 || r.wait().nanos() < 0));
        if (call.may_block) call.deadline = absl::Milliseconds(400);
      }
      if (g.P(0.02)) {
        call.tiny_deadline = true;
        call.deadline = absl::Milliseconds(g.U(3));
      }
      // Whatever CreateJob accepts must come back as sent (only unknown fields dropped).
      call.roundtrip =
          call.rpc == kCreateJob && call.raw.empty() &&
          static_cast<const v1::CreateJobRequest&>(*call.typed).idempotency_key().empty();

      // What the server sees: does it parse at all?
      std::unique_ptr<Message> parsed(method.request->New());
      const bool parseable = parsed->ParseFromString(call.bytes);
      const bool oversized = call.bytes.size() > kMaxRequestBytes;
      std::string category;
      std::set<int> allowed;
      if (oversized) {
        category = "oversized message";
        allowed = {StatusCode::RESOURCE_EXHAUSTED};  // gRPC's max receive size
      } else if (call.auth == kHugeKey) {
        // gRPC refuses metadata over its limit (8 KiB) itself: RESOURCE_EXHAUSTED, or it
        // closes the connection ("Socket closed": UNAVAILABLE). jobd never sees the call.
        category = "metadata over gRPC's limit";
        allowed = {StatusCode::RESOURCE_EXHAUSTED, StatusCode::UNAVAILABLE};
      } else if (!parseable) {
        // gRPC C++ 1.51's callback server answers a request it cannot deserialize with
        // UNIMPLEMENTED and an empty message, before any jobd code runs
        // (grpcpp/impl/codegen/server_callback_handlers.h: "if deserialization or reactor
        // creator failed").
        category = "unparseable bytes";
        allowed = {StatusCode::UNIMPLEMENTED};
      } else if (!RoleOf(call.auth)) {
        category = "bad key";
        allowed = {StatusCode::UNAUTHENTICATED};
      } else if (!RoleAllows(*RoleOf(call.auth), method.need)) {
        category = "role may not";
        allowed = {StatusCode::PERMISSION_DENIED};
      } else {
        const bool victim_id =
            (HasFieldNamed(*parsed, "id") &&
             victims.normalized.count(NormalizeId(StringField(*parsed, "id")))) ||
            (HasFieldNamed(*parsed, "job_id") &&
             victims.normalized.count(NormalizeId(StringField(*parsed, "job_id"))));
        const bool foreign_workspace =
            method.workspace_scoped && StringField(*parsed, "workspace_id") != kWorkspace;
        if (victim_id) {
          category = "victim job";
          allowed = {StatusCode::NOT_FOUND, StatusCode::INVALID_ARGUMENT};
          // A victim's id as a UUID (any case): GetJob and RetryJob have nothing else to refuse.
          const bool as_uuid =
              std::find(victims.ids.begin(), victims.ids.end(),
                        absl::AsciiStrToLower(StringField(*parsed, "id"))) != victims.ids.end();
          if ((call.rpc == kGetJob || call.rpc == kRetryJob) && as_uuid) {
            allowed = {StatusCode::NOT_FOUND};
          }
        } else if (foreign_workspace) {
          category = "other workspace";
          allowed = {StatusCode::PERMISSION_DENIED, StatusCode::INVALID_ARGUMENT};
        } else {
          category = call.raw.empty() ? "typed" : "raw, parseable";
          allowed = {StatusCode::OK,
                     StatusCode::INVALID_ARGUMENT,
                     StatusCode::NOT_FOUND,
                     StatusCode::ALREADY_EXISTS,
                     StatusCode::FAILED_PRECONDITION,
                     StatusCode::ABORTED,
                     StatusCode::PERMISSION_DENIED,
                     StatusCode::UNAUTHENTICATED,
                     StatusCode::RESOURCE_EXHAUSTED};
        }
        // Load shedding is documented for every call jobd runs.
        allowed.insert(StatusCode::RESOURCE_EXHAUSTED);
      }
      const std::string request_text =
          call.raw.empty() ? Show(*call.typed)
                           : absl::StrCat("raw (", call.raw, ") ", ShowBytes(call.bytes),
                                          parseable ? " parsed as: " + Show(*parsed) : "");
      {
        std::lock_guard<std::mutex> lock(in_flight_mu);
        in_flight[thread] = absl::StrCat("#", index, " ", method.name, " as ", AuthName(call.auth),
                                         ": ", request_text);
      }

      // CompleteJob's result is checked on the first completion only: a repeat with the same
      // lease answers OK with the job as it is (worker_rules.cc, PlanComplete).
      // (Raw requests that parse complete jobs too.)
      const std::string completing =
          call.rpc == kCompleteJob && parseable ? StringField(*parsed, "job_id") : "";
      if (!completing.empty()) {
        std::lock_guard<std::mutex> lock(completions_mu);
        ++completions_in_flight[completing];
      }
      Outcome out = caller.Send(call, keys, g);
      bool first_completion = false;
      if (!completing.empty()) {
        std::lock_guard<std::mutex> lock(completions_mu);
        const bool concurrent = completions_in_flight[completing]-- > 1;
        // A call refused by jobd completed nothing; any other may have (a client deadline or
        // a lost answer does not undo a commit).
        static const std::set<int> refusals = {
            StatusCode::INVALID_ARGUMENT,  StatusCode::NOT_FOUND,
            StatusCode::ABORTED,           StatusCode::FAILED_PRECONDITION,
            StatusCode::PERMISSION_DENIED, StatusCode::UNAUTHENTICATED,
            StatusCode::UNIMPLEMENTED};
        if (!refusals.count(out.status.error_code())) {
          const bool first = completed.insert(completing).second;
          first_completion = out.status.ok() && first && !concurrent;
        }
      }
      const int code = out.status.error_code();
      // Some failures are one cause seen through many calls: they are counted by cause.
      auto cause_of = [&](const grpc::Status& status) -> std::string {
        if (call.auth == kHugeKey) return "";
        if (status.error_code() == StatusCode::RESOURCE_EXHAUSTED &&
            status.error_message() == "received initial metadata size exceeds limit") {
          return "the client refused the answer's metadata (over its 8 KiB limit: a long "
                 "request field echoed in jobd's error message?); a connection that refused "
                 "one fails the other calls on it for a while";
        }
        if (status.error_code() == StatusCode::UNAVAILABLE &&
            (status.error_message() == "Transport closed" ||
             status.error_message() == "Socket closed")) {
          return "the storm's connection was closed under its calls";
        }
        return "";
      };
      // `what` names the kind of failure (failures are counted by kind), `detail` adds to it;
      // `status`: the answer that failed, when not the call's own (a GetJob after it).
      auto fail = [&](const std::string& what, const std::string& detail = "",
                      const grpc::Status* status = nullptr) {
        const std::string cause = cause_of(status ? *status : out.status);
        failures.Add(
            cause.empty() ? absl::StrCat(method.name, ": ", what) : cause,
            absl::StrCat("request #", index, " (seed ", seed, ") ", method.name, " as ",
                         AuthName(call.auth), " [", category, "]: ", what, detail, "\n  got ",
                         CodeName(code), " \"", absl::CEscape(out.status.error_message()),
                         "\" after ", absl::FormatDuration(out.elapsed),
                         "\n  request: ", request_text));
      };
      {
        std::lock_guard<std::mutex> lock(counts_mu);
        ++per_rpc[call.raw.empty() ? method.name : absl::StrCat(method.name, "(raw)")];
        ++per_code[CodeName(code)];
        ++per_category[category];
      }

      // (a) the code.
      // gRPC's deadline timer was seen firing up to ~7 ms early on a loaded machine; 50 ms
      // leaves room for more, and still tells a call cut by the client's deadline (200 ms or
      // more, or a tiny one) from one jobd ended early by itself.
      const absl::Duration slack = absl::Milliseconds(50);
      const bool client_cut =
          (code == StatusCode::DEADLINE_EXCEEDED && out.elapsed >= call.deadline - slack &&
           (call.may_block || call.tiny_deadline)) ||
          (code == StatusCode::CANCELLED &&
           (out.cancelled_by_client ||
            (call.tiny_deadline && out.elapsed >= call.deadline - slack)));
      if (!allowed.count(code) && !client_cut) {
        std::vector<std::string> names;
        for (int c : allowed) names.push_back(CodeName(c));
        fail(absl::StrCat("expected ", absl::StrJoin(names, " or "), ", got ", CodeName(code),
                          code == StatusCode::DEADLINE_EXCEEDED ? " (no reason to block)" : ""));
        if (code == StatusCode::UNAVAILABLE && !JobdAlive()) {
          failures.Add(
              "jobd died", "jobd is not running any more; requests in flight:\n  " + [&] {
                std::lock_guard<std::mutex> lock(in_flight_mu);
                return absl::StrJoin(in_flight, "\n  ");
              }());
          stop = true;
        }
      }
      // (b) INVALID_ARGUMENT names a field of the request.
      if (code == StatusCode::INVALID_ARGUMENT && parseable &&
          !NamesRequestField(out.status.error_message(), *method.request->GetDescriptor())) {
        fail("INVALID_ARGUMENT must start with a request field's name and ': '");
      }
      // Answers never show another workspace's job, and parse.
      if (!out.unparsed_response.empty()) fail("a response message did not parse");
      for (const auto& response : out.responses) {
        std::vector<std::string> leaks;
        CollectLeaks(*response, victims, &leaks);
        if (!leaks.empty())
          fail("an answer shows another workspace's job", ": " + absl::StrJoin(leaks, ", "));
        if (method.streaming && (category == "victim job" || category == "other workspace")) {
          fail("a stream of a victim job or another workspace sent an event");
        }
      }
      // Learn from good answers.
      if (code == StatusCode::OK && !out.responses.empty()) {
        const Message& response = *out.responses.front();
        if (call.rpc == kCreateJob) {
          const auto& created = static_cast<const v1::CreateJobResponse&>(response);
          pools.AddJob(created.job().id());
          if (call.roundtrip && g.P(0.5)) {
            // Stored verbatim: GetJob returns the request's payload and labels exactly.
            const auto& sent = static_cast<const v1::CreateJobRequest&>(*call.typed);
            v1::GetJobRequest get;
            get.set_id(created.job().id());
            v1::GetJobResponse got;
            grpc::Status s = member_jobs->GetJob(Ctx().get(), get, &got);
            ++roundtrips;
            std::string diff;
            MessageDifferencer differ;
            differ.ReportDifferencesToString(&diff);
            // (NOT_FOUND: cancelled by another call and deleted by retention, ttl 1 ns.)
            if (!s.ok() && s.error_code() == StatusCode::NOT_FOUND) {
            } else if (!s.ok()) {
              fail("GetJob after CreateJob failed",
                   absl::StrCat(": ", CodeName(s.error_code()), " ", s.error_message()), &s);
            } else if (Struct expected = sent.payload();
                       expected.DiscardUnknownFields(),
                       !differ.Compare(expected, got.job().payload())) {
              fail("payload did not round-trip",
                   absl::StrCat(": GetJob returns {", Show(got.job().payload()), "}; ",
                                absl::CEscape(diff.substr(0, 1500))));
            } else if (got.job().labels().size() != sent.labels().size()) {
              fail("labels did not round-trip", absl::StrCat(": GetJob returns ", Show(got.job())));
            } else {
              for (const auto& [k, v] : sent.labels()) {
                auto it = got.job().labels().find(k);
                if (it == got.job().labels().end() || it->second != v) {
                  fail("a label did not round-trip", ": " + absl::CEscape(k));
                  break;
                }
              }
            }
          }
        } else if (call.rpc == kCompleteJob && first_completion && call.raw.empty()) {
          // The result is stored verbatim too.
          const auto& sent = static_cast<const v1::CompleteJobRequest&>(*call.typed);
          const auto& completed = static_cast<const v1::CompleteJobResponse&>(response);
          v1::GetJobRequest get;
          get.set_id(completed.job().id());
          v1::GetJobResponse got;
          grpc::Status s = member_jobs->GetJob(Ctx().get(), get, &got);
          Struct expected = sent.result();
          expected.DiscardUnknownFields();
          ++roundtrips;
          // (NOT_FOUND: retention may already have deleted it, its ttl can be 1 ns.)
          if (!s.ok() && s.error_code() != StatusCode::NOT_FOUND) {
            fail("GetJob after CompleteJob failed",
                 absl::StrCat(": ", CodeName(s.error_code()), " ", s.error_message()), &s);
          } else if (s.ok() && !MessageDifferencer::Equals(expected, got.job().result())) {
            fail("result did not round-trip",
                 ": GetJob returns {" + Show(got.job().result()) + "}");
          }
        } else if (call.rpc == kAcquireJobs) {
          for (const auto& leased : static_cast<const v1::AcquireJobsResponse&>(response).jobs()) {
            pools.AddJob(leased.job().id());
            pools.AddLease({leased.job().id(), leased.lease_token()});
          }
        } else if (call.rpc == kListJobs) {
          pools.AddPageToken(static_cast<const v1::ListJobsResponse&>(response).next_page_token());
        } else if (call.rpc == kListJobEvents) {
          pools.AddPageToken(
              static_cast<const v1::ListJobEventsResponse&>(response).next_page_token());
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& t : pool) t.join();
  const absl::Duration storm = absl::Now() - start;

  // Worker texts are stored verbatim too (sequential: nothing else touches these jobs).
  const absl::Time roundtrip_start = absl::Now();
  const int worker_roundtrips = 40;
  RoundTripWorkerTexts(seed, keys, worker_roundtrips);
  const absl::Duration roundtrip_time = absl::Now() - roundtrip_start;

  // (c) jobd is up, healthy, and serves normal calls.
  EXPECT_TRUE(JobdAlive()) << "jobd (pid " << jobd_->pid() << ") is not running";
  {
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse health;
    grpc::Status s = health_->Check(Ctx().get(), check, &health);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    v1::CreateJobRequest normal;
    normal.set_workspace_id(kWorkspace);
    normal.set_type("after.storm");
    (*normal.mutable_payload()->mutable_fields())["ok"].set_bool_value(true);
    v1::Job created = CreateAs(member_jobs.get(), normal);
    v1::GetJobRequest get;
    get.set_id(created.id());
    v1::GetJobResponse got;
    s = member_jobs->GetJob(Ctx().get(), get, &got);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(got.job().state(), v1::JOB_STATE_QUEUED);
    EXPECT_TRUE(MessageDifferencer::Equals(got.job().payload(), normal.payload()));
  }

  // (d) nothing outside the workspace changed.
  const std::string after = Digest();
  EXPECT_EQ(before, after) << "rows outside workspace \"hostile\" changed";

  for (const std::string& shown : failures.shown) ADD_FAILURE() << shown;
  if (failures.total > 0) {
    std::string kinds;
    for (const auto& [kind, count] : failures.by_kind)
      absl::StrAppend(&kinds, "\n  ", count, " x ", kind);
    ADD_FAILURE() << failures.total << " bad answers, by kind:" << kinds;
  }

  auto join = [](const std::map<std::string, int64_t>& m) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : m) parts.push_back(absl::StrCat(k, "=", v));
    return absl::StrJoin(parts, " ");
  };
  int64_t sent = 0;
  for (const auto& [k, v] : per_rpc) sent += v;
  std::cout << "hostile summary: sent " << sent << " requests in " << absl::FormatDuration(storm)
            << " (" << threads << " threads), seed " << seed << ", " << roundtrips.load()
            << " CreateJob/CompleteJob round trips checked; then " << worker_roundtrips
            << " worker round trips in " << absl::FormatDuration(roundtrip_time)
            << "\n  per RPC: " << join(per_rpc) << "\n  per code: " << join(per_code)
            << "\n  per category: " << join(per_category) << std::endl;
}

}  // namespace
}  // namespace jobd::testing
