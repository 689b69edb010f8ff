// The permission table of the RPCs (server/core/access_rules.cc) against the generated services,
// and the public fields of an API key (ToProto in server/api/admin_handlers.cc).
#include "server/core/access_rules.h"

#include <map>
#include <set>
#include <string>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "db/model/api_key.h"
#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/queue_service.grpc.pb.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "jobd/v1/template_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/api/admin_handlers.h"
#include "server/core/key_registry.h"

namespace jobd::api {
namespace {

using core::MethodRule;
using core::MethodRules;
using core::PermissionFor;

const char* const kServices[] = {"jobd.v1.JobService",      "jobd.v1.WorkerService",
                                 "jobd.v1.AdminService",    "jobd.v1.ScheduleService",
                                 "jobd.v1.TemplateService", "jobd.v1.QueueService"};

TEST(MethodRules, ServiceNamesAreTheGeneratedOnes) {
  EXPECT_STREQ(v1::JobService::service_full_name(), kServices[0]);
  EXPECT_STREQ(v1::WorkerService::service_full_name(), kServices[1]);
  EXPECT_STREQ(v1::AdminService::service_full_name(), kServices[2]);
  EXPECT_STREQ(v1::ScheduleService::service_full_name(), kServices[3]);
  EXPECT_STREQ(v1::TemplateService::service_full_name(), kServices[4]);
  EXPECT_STREQ(v1::QueueService::service_full_name(), kServices[5]);
}

TEST(MethodRules, EveryMethodHasExactlyOneRuleOfItsService) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const char* service_name : kServices) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    ASSERT_GT(service->method_count(), 0) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = service->method(i)->name();
      ++methods;
      int rules = 0;
      for (const MethodRule& rule : MethodRules()) {
        if (method == rule.method) {
          ++rules;
          EXPECT_STREQ(rule.service, service_name) << method;
        }
      }
      EXPECT_EQ(rules, 1) << service_name << "." << method;
      EXPECT_TRUE(PermissionFor(method).has_value()) << method;
    }
  }
  EXPECT_EQ(static_cast<int>(MethodRules().size()), methods);
}

TEST(MethodRules, NoRuleNamesAMethodThatDoesNotExist) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::pair<std::string, std::string>> seen;
  for (const MethodRule& rule : MethodRules()) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(rule.service);
    ASSERT_NE(service, nullptr) << rule.service;
    EXPECT_NE(service->FindMethodByName(rule.method), nullptr)
        << rule.service << "." << rule.method;
    EXPECT_TRUE(seen.emplace(rule.service, rule.method).second)
        << "duplicate rule " << rule.service << "." << rule.method;
  }
}

TEST(MethodRules, PermissionForFindsTheRulesPermission) {
  for (const MethodRule& rule : MethodRules()) {
    EXPECT_EQ(PermissionFor(rule.method), rule.permission) << rule.method;
  }
  EXPECT_EQ(PermissionFor("CreateJob"), core::Permission::kCreate);
  EXPECT_EQ(PermissionFor("AcquireJobs"), core::Permission::kWork);
  EXPECT_EQ(PermissionFor("RevokeApiKey"), core::Permission::kAdmin);
  EXPECT_EQ(PermissionFor("WhoAmI"), core::Permission::kRead);  // every role
  EXPECT_EQ(PermissionFor("NoSuchMethod"), std::nullopt);
  EXPECT_EQ(PermissionFor(""), std::nullopt);
}

// Besides the AdminService, only what can change every job of a workspace at once (bulk
// delete and fail) and the queues' limits need an admin.
bool AdminOutsideAdminService(const std::string& method) {
  return method == "BulkDeleteJobs" || method == "BulkFailJobs" || method == "SetQueueLimits";
}

TEST(MethodRules, AdminServiceNeedsAdminAndWorkerServiceNeedsWork) {
  for (const MethodRule& rule : MethodRules()) {
    if (AdminOutsideAdminService(rule.method)) {
      EXPECT_EQ(rule.permission, core::Permission::kAdmin) << rule.method;
    } else if (std::string(rule.method) == "WhoAmI") {
      EXPECT_EQ(rule.permission, core::Permission::kRead);  // every role: a key learns itself
    } else if (std::string(rule.service) == "jobd.v1.AdminService") {
      EXPECT_EQ(rule.permission, core::Permission::kAdmin) << rule.method;
    } else if (std::string(rule.service) == "jobd.v1.WorkerService") {
      EXPECT_EQ(rule.permission, core::Permission::kWork) << rule.method;
    } else {
      EXPECT_NE(rule.permission, core::Permission::kAdmin) << rule.method;
      EXPECT_NE(rule.permission, core::Permission::kWork) << rule.method;
    }
  }
}

ApiKey FullKey(const std::string& secret) {
  ApiKey key;
  key.id = "0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81";
  key.name = "alice";
  key.role = Role::kWorker;
  key.workspace_id = "ws1";
  key.key_hash = core::HashApiKey(secret);
  key.key_prefix = core::ApiKeyPrefix(secret);
  key.created_by = "root";
  key.create_time = absl::FromUnixMicros(1700000000123456);
  key.change_seq = 42;
  return key;
}

TEST(ApiKeyToProto, CopiesEveryPublicField) {
  const std::string secret = core::NewApiKeySecret();
  ApiKey key = FullKey(secret);
  key.expire_time = absl::FromUnixMicros(1800000000654321);
  key.revoke_time = absl::FromUnixSeconds(1750000000);
  v1::ApiKey proto;
  ToProto(key, &proto);
  EXPECT_EQ(proto.id(), "0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81");
  EXPECT_EQ(proto.name(), "alice");
  EXPECT_EQ(proto.role(), v1::API_KEY_ROLE_WORKER);
  EXPECT_EQ(proto.workspace_id(), "ws1");
  EXPECT_EQ(proto.key_prefix(), secret.substr(0, 12));
  EXPECT_EQ(proto.created_by(), "root");
  ASSERT_TRUE(proto.has_create_time());
  EXPECT_EQ(proto.create_time().seconds(), 1700000000);
  EXPECT_EQ(proto.create_time().nanos(), 123456000);
  ASSERT_TRUE(proto.has_expire_time());
  EXPECT_EQ(proto.expire_time().seconds(), 1800000000);
  EXPECT_EQ(proto.expire_time().nanos(), 654321000);
  ASSERT_TRUE(proto.has_revoke_time());
  EXPECT_EQ(proto.revoke_time().seconds(), 1750000000);
  EXPECT_EQ(proto.revoke_time().nanos(), 0);
}

TEST(ApiKeyToProto, EveryRoleMaps) {
  const std::pair<Role, v1::ApiKeyRole> roles[] = {{Role::kAdmin, v1::API_KEY_ROLE_ADMIN},
                                                   {Role::kMember, v1::API_KEY_ROLE_MEMBER},
                                                   {Role::kWorker, v1::API_KEY_ROLE_WORKER},
                                                   {Role::kViewer, v1::API_KEY_ROLE_VIEWER}};
  for (const auto& [role, expected] : roles) {
    ApiKey key = FullKey("jobd_secret");
    key.role = role;
    v1::ApiKey proto;
    ToProto(key, &proto);
    EXPECT_EQ(proto.role(), expected) << RoleName(role);
  }
}

TEST(ApiKeyToProto, ExpireAndRevokeUnsetWhenAbsent) {
  v1::ApiKey proto;
  ToProto(FullKey(core::NewApiKeySecret()), &proto);
  EXPECT_TRUE(proto.has_create_time());
  EXPECT_FALSE(proto.has_expire_time());
  EXPECT_FALSE(proto.has_revoke_time());
}

TEST(ApiKeyToProto, TheHashNeverAppears) {
  const std::string secret = core::NewApiKeySecret();
  ApiKey key = FullKey(secret);
  key.expire_time = absl::FromUnixSeconds(1800000000);
  key.revoke_time = absl::FromUnixSeconds(1750000000);
  ASSERT_EQ(key.key_hash.size(), 32u);
  v1::ApiKey proto;
  ToProto(key, &proto);
  std::string wire;
  ASSERT_TRUE(proto.SerializeToString(&wire));
  EXPECT_EQ(wire.find(key.key_hash), std::string::npos);
  EXPECT_EQ(proto.DebugString().find(key.key_hash), std::string::npos);
  // Nor the secret beyond its shown prefix.
  EXPECT_EQ(wire.find(secret), std::string::npos);
}

}  // namespace
}  // namespace jobd::api
