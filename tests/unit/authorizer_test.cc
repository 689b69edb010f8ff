// core::Authorizer: the authorization header as sent (missing, repeated, malformed), keys the
// registry refuses (unknown, revoked, expired), and the role x method matrix of
// server/core/access_rules.cc, with exact codes.
#include "server/core/authorizer.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/access_rules.h"
#include "server/core/key_registry.h"
#include "tests/support/fake_clock.h"

namespace jobd::core {
namespace {

constexpr Role kEveryRole[] = {Role::kAdmin, Role::kMember, Role::kWorker, Role::kViewer};

class AuthorizerTest : public ::testing::Test {
 protected:
  // A key of `role` known to the registry; returns its secret.
  std::string AddKey(Role role, const std::string& name,
                     std::optional<absl::Time> expire_time = std::nullopt) {
    const std::string secret = NewApiKeySecret();
    ApiKey key;
    key.id = absl::StrCat("0190f3a6-7d3c-7b1e-9a4f-00000000000", next_id_++);
    key.name = name;
    key.role = role;
    key.workspace_id = role == Role::kAdmin ? "" : "ws1";
    key.key_hash = HashApiKey(secret);
    key.key_prefix = ApiKeyPrefix(secret);
    key.create_time = clock_.Now() - absl::Hours(1);
    key.expire_time = expire_time;
    key.change_seq = ++change_seq_;
    keys_[secret] = key;
    registry_.Apply({key}, /*from_feed=*/false);
    return secret;
  }
  void Revoke(const std::string& secret) {
    ApiKey key = keys_.at(secret);
    key.revoke_time = clock_.Now();
    key.change_seq = ++change_seq_;
    registry_.Apply({key}, /*from_feed=*/false);
  }
  absl::StatusOr<Principal> Call(const std::string& header, absl::string_view method) {
    return authorizer_.Authorize({header}, method);
  }

  fakes::FakeClock clock_;
  KeyRegistry registry_;
  Authorizer authorizer_{registry_, clock_};
  std::map<std::string, ApiKey> keys_;
  int next_id_ = 0;
  int64_t change_seq_ = 0;
};

TEST_F(AuthorizerTest, EveryRoleAgainstEveryMethodIsOkOrPermissionDenied) {
  std::set<Permission> covered;
  for (Role role : kEveryRole) {
    const std::string name = absl::StrCat(RoleName(role), "-key");
    const std::string secret = AddKey(role, name);
    for (const MethodRule& rule : MethodRules()) {
      covered.insert(rule.permission);
      const absl::StatusOr<Principal> caller = Call("Bearer " + secret, rule.method);
      if (RoleAllows(role, rule.permission)) {
        ASSERT_TRUE(caller.ok()) << RoleName(role) << " " << rule.method << ": " << caller.status();
        EXPECT_EQ(caller->name, name);
        EXPECT_EQ(caller->role, role);
        EXPECT_EQ(caller->workspace_id, role == Role::kAdmin ? "" : "ws1");
      } else {
        EXPECT_EQ(caller.status().code(), absl::StatusCode::kPermissionDenied)
            << RoleName(role) << " " << rule.method << ": " << caller.status();
        const absl::string_view message = caller.status().message();
        EXPECT_TRUE(absl::StrContains(message, absl::StrCat("\"", name, "\""))) << message;
        EXPECT_TRUE(absl::StrContains(message, RoleName(role))) << message;
        EXPECT_TRUE(absl::StrContains(message, rule.method)) << message;
      }
    }
  }
  EXPECT_EQ(covered.size(), 9u) << "a permission no method needs";
}

// The matrix again, written out, so that a change to RoleAllows or the rules shows here.
TEST_F(AuthorizerTest, RepresentativeMethodsPerRole) {
  struct Expectation {
    Role role;
    const char* method;
    bool allowed;
  };
  const Expectation table[] = {
      {Role::kAdmin, "CreateApiKey", true},  {Role::kAdmin, "AcquireJobs", true},
      {Role::kMember, "CreateJob", true},    {Role::kMember, "CancelJob", true},
      {Role::kMember, "RetryJob", true},     {Role::kMember, "GetJob", true},
      {Role::kMember, "AcquireJobs", false}, {Role::kMember, "RevokeApiKey", false},
      {Role::kWorker, "CompleteJob", true},  {Role::kWorker, "WatchJob", true},
      {Role::kWorker, "CreateJob", false},   {Role::kWorker, "CancelJob", false},
      {Role::kViewer, "ListJobs", true},     {Role::kViewer, "GetJobStats", true},
      {Role::kViewer, "RetryJob", false},    {Role::kViewer, "ReportProgress", false},
      {Role::kViewer, "ListApiKeys", false},
  };
  std::map<Role, std::string> secrets;
  for (Role role : kEveryRole) secrets[role] = AddKey(role, RoleName(role));
  for (const Expectation& e : table) {
    const absl::StatusCode code = Call("Bearer " + secrets[e.role], e.method).status().code();
    EXPECT_EQ(code, e.allowed ? absl::StatusCode::kOk : absl::StatusCode::kPermissionDenied)
        << RoleName(e.role) << " " << e.method;
  }
}

TEST_F(AuthorizerTest, UnknownMethodIsDeniedEvenToAdmins) {
  const std::string secret = AddKey(Role::kAdmin, "root");
  for (const char* method : {"NoSuchMethod", "", "createjob"}) {
    EXPECT_EQ(Call("Bearer " + secret, method).status().code(), absl::StatusCode::kPermissionDenied)
        << method;
  }
}

TEST_F(AuthorizerTest, MissingRepeatedOrMalformedHeaderIsUnauthenticated) {
  const std::string secret = AddKey(Role::kAdmin, "root");
  const std::string bearer = "Bearer " + secret;

  const absl::Status none = authorizer_.Authorize({}, "GetJob").status();
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StartsWith(none.message(), "no API key")) << none;

  const absl::Status twice = authorizer_.Authorize({bearer, bearer}, "GetJob").status();
  EXPECT_EQ(twice.code(), absl::StatusCode::kUnauthenticated) << twice;

  for (const std::string& header :
       {secret, "Basic " + secret, std::string("Bearer"), "Bearer" + secret, std::string()}) {
    EXPECT_EQ(Call(header, "GetJob").status().code(), absl::StatusCode::kUnauthenticated) << header;
  }
  // The scheme is case-insensitive and the key's surrounding spaces do not matter.
  for (const std::string& header :
       {"bearer " + secret, "BEARER " + secret, "Bearer  " + secret + " "}) {
    const absl::StatusOr<Principal> caller = Call(header, "GetJob");
    EXPECT_TRUE(caller.ok()) << header << ": " << caller.status();
  }
}

TEST_F(AuthorizerTest, UnknownRevokedAndExpiredKeysAreUnauthenticated) {
  EXPECT_EQ(Call("Bearer " + NewApiKeySecret(), "GetJob").status().code(),
            absl::StatusCode::kUnauthenticated);

  const std::string revoked = AddKey(Role::kMember, "gone");
  ASSERT_TRUE(Call("Bearer " + revoked, "GetJob").ok());
  Revoke(revoked);
  const absl::Status status = Call("Bearer " + revoked, "GetJob").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(status.message(), "revoked")) << status;

  const std::string expiring = AddKey(Role::kMember, "temp", clock_.Now() + absl::Minutes(5));
  ASSERT_TRUE(Call("Bearer " + expiring, "GetJob").ok());
  clock_.Advance(absl::Minutes(5));
  const absl::Status expired = Call("Bearer " + expiring, "GetJob").status();
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(expired.message(), "expired")) << expired;
}

TEST_F(AuthorizerTest, StillValidUntilRevokedOrExpired) {
  const std::string secret = AddKey(Role::kWorker, "w", clock_.Now() + absl::Hours(1));
  const std::string other = AddKey(Role::kWorker, "w2");
  const absl::StatusOr<Principal> caller = Call("Bearer " + secret, "AcquireJobs");
  const absl::StatusOr<Principal> other_caller = Call("Bearer " + other, "AcquireJobs");
  ASSERT_TRUE(caller.ok()) << caller.status();
  ASSERT_TRUE(other_caller.ok()) << other_caller.status();
  EXPECT_TRUE(authorizer_.StillValid(*caller).ok());

  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(authorizer_.StillValid(*caller).code(), absl::StatusCode::kUnauthenticated);

  EXPECT_TRUE(authorizer_.StillValid(*other_caller).ok());
  Revoke(other);
  EXPECT_EQ(authorizer_.StillValid(*other_caller).code(), absl::StatusCode::kUnauthenticated);

  Principal unknown = *other_caller;
  unknown.key_id = "no-such-key";
  EXPECT_EQ(authorizer_.StillValid(unknown).code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace jobd::core
