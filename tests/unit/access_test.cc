// Authorization decisions (server/core/access.cc, shared/API.md "Access") and the per-key
// token buckets of CreateJob (server/core/rate_limiter.cc).
#include "server/core/access.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "db/model/api_key.h"
#include "db/model/job.h"
#include "server/core/rate_limiter.h"

namespace jobd::core {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

constexpr Permission kPermissions[] = {
    Permission::kRead, Permission::kCreate, Permission::kCancel,    Permission::kRetry,
    Permission::kWork, Permission::kAdmin,  Permission::kReadSetup, Permission::kManageSetup};
constexpr Role kRoles[] = {Role::kAdmin, Role::kMember, Role::kWorker, Role::kViewer};

Principal Caller(Role role, const std::string& workspace) {
  Principal p;
  p.key_id = "key-1";
  p.name = "alice";
  p.role = role;
  p.workspace_id = workspace;
  return p;
}

TEST(RoleAllows, MatchesTheAccessTable) {
  // Rows: admin, member, worker, viewer. Columns: read, create, cancel, retry, work, admin,
  // read_setup, manage_setup (schedules and templates).
  constexpr bool kAllowed[4][8] = {
      {true, true, true, true, true, true, true, true},        // admin: everything
      {true, true, true, true, false, false, true, true},      // member: all but work, admin
      {true, false, false, false, true, false, false, false},  // worker: read, work
      {true, false, false, false, false, false, true, false},  // viewer: read, read setup
  };
  for (int r = 0; r < 4; ++r) {
    for (int p = 0; p < 8; ++p) {
      EXPECT_EQ(RoleAllows(kRoles[r], kPermissions[p]), kAllowed[r][p])
          << RoleName(kRoles[r]) << " x " << PermissionName(kPermissions[p]);
    }
  }
}

TEST(PermissionName, NamesEveryPermission) {
  EXPECT_STREQ(PermissionName(Permission::kRead), "read");
  EXPECT_STREQ(PermissionName(Permission::kCreate), "create");
  EXPECT_STREQ(PermissionName(Permission::kCancel), "cancel");
  EXPECT_STREQ(PermissionName(Permission::kRetry), "retry");
  EXPECT_STREQ(PermissionName(Permission::kWork), "work");
  EXPECT_STREQ(PermissionName(Permission::kAdmin), "admin");
  EXPECT_STREQ(PermissionName(Permission::kReadSetup), "read_setup");
  EXPECT_STREQ(PermissionName(Permission::kManageSetup), "manage_setup");
}

TEST(CheckWorkspace, AdminMayUseAnyWorkspace) {
  const Principal admin = Caller(Role::kAdmin, "");
  EXPECT_TRUE(CheckWorkspace(admin, "ws1").ok());
  EXPECT_TRUE(CheckWorkspace(admin, "other").ok());
  EXPECT_TRUE(CheckWorkspace(admin, "").ok());
  EXPECT_TRUE(CheckWorkspace(LocalAdmin("jobd keys"), "ws9").ok());
}

TEST(CheckWorkspace, NonAdminMayUseOnlyItsOwn) {
  for (Role role : {Role::kMember, Role::kWorker, Role::kViewer}) {
    const Principal caller = Caller(role, "ws1");
    EXPECT_TRUE(CheckWorkspace(caller, "ws1").ok()) << RoleName(role);

    const absl::Status other = CheckWorkspace(caller, "ws2");
    EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied) << RoleName(role);
    EXPECT_TRUE(absl::StartsWith(other.message(), "workspace_id")) << other;
    EXPECT_TRUE(absl::StrContains(other.message(), "ws2")) << other;

    const absl::Status empty = CheckWorkspace(caller, "");
    EXPECT_EQ(empty.code(), absl::StatusCode::kPermissionDenied) << RoleName(role);
    EXPECT_TRUE(absl::StartsWith(empty.message(), "workspace_id")) << empty;
  }
}

TEST(CheckWorkspace, NamesTheGivenField) {
  const absl::Status status = CheckWorkspace(Caller(Role::kMember, "ws1"), "ws2", "filter");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StartsWith(status.message(), "filter")) << status;
}

TEST(JobNotFound, IsTheStoresUnknownIdError) {
  const absl::Status status = JobNotFound("0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "job 0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81 not found");
}

TEST(CanSeeJob, OwnWorkspaceOrAdmin) {
  Job job;
  job.id = "j1";
  job.workspace_id = "ws1";
  EXPECT_TRUE(CanSeeJob(Caller(Role::kAdmin, ""), job));
  for (Role role : {Role::kMember, Role::kWorker, Role::kViewer}) {
    EXPECT_TRUE(CanSeeJob(Caller(role, "ws1"), job)) << RoleName(role);
    EXPECT_FALSE(CanSeeJob(Caller(role, "ws2"), job)) << RoleName(role);
    EXPECT_FALSE(CanSeeJob(Caller(role, ""), job)) << RoleName(role);
  }
}

TEST(RateLimiter, BurstThenRefusalWithTheExactWait) {
  RateLimiter limiter(5, 5);
  EXPECT_EQ(limiter.rate(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("k", kT0), std::nullopt) << i;
  EXPECT_EQ(limiter.Take("k", kT0), absl::Milliseconds(200));
  EXPECT_EQ(limiter.Take("k", kT0), absl::Milliseconds(200));  // a refusal takes nothing
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Milliseconds(200)), std::nullopt);
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Milliseconds(200)), absl::Milliseconds(200));
}

TEST(RateLimiter, SeparateNamesHaveSeparateBuckets) {
  RateLimiter limiter(5, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("a", kT0), std::nullopt) << i;
  EXPECT_NE(limiter.Take("a", kT0), std::nullopt);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("b", kT0), std::nullopt) << i;
  EXPECT_EQ(limiter.Take("b", kT0), absl::Milliseconds(200));
}

TEST(RateLimiter, FractionalRate) {
  RateLimiter limiter(0.5, 0);  // burst 0: max(1, rate) = 1
  EXPECT_EQ(limiter.Take("k", kT0), std::nullopt);
  EXPECT_EQ(limiter.Take("k", kT0), absl::Seconds(2));
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Seconds(1)), absl::Seconds(1));
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Seconds(2)), std::nullopt);
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Seconds(2)), absl::Seconds(2));
}

TEST(RateLimiter, FractionalBurst) {
  RateLimiter limiter(2.5, 0);  // burst 2.5
  EXPECT_EQ(limiter.Take("k", kT0), std::nullopt);
  EXPECT_EQ(limiter.Take("k", kT0), std::nullopt);
  EXPECT_EQ(limiter.Take("k", kT0), absl::Milliseconds(200));  // 0.5 left: 0.5 / 2.5 s
  EXPECT_EQ(limiter.Take("k", kT0 + absl::Milliseconds(200)), std::nullopt);
}

TEST(RateLimiter, IdleBucketIsFullAgain) {
  RateLimiter limiter(5, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("k", kT0), std::nullopt) << i;
  const absl::Time later = kT0 + absl::Minutes(1);  // long past a refill, and a sweep
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("k", later), std::nullopt) << i;
  EXPECT_EQ(limiter.Take("k", later), absl::Milliseconds(200));
}

}  // namespace
}  // namespace jobd::core
