// jobctl keys: the CreateApiKey request built from flags, and the key table.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "client/jobctl/args.h"
#include "client/jobctl/keys.h"
#include "tests/support/test_clock.h"

namespace jobd::jobctl {
namespace {

using test::kNow;

TEST(BuildCreateApiKey, RoleWorkspaceAndExpiry) {
  KeysFlags flags;
  flags.name = "ci-bot";
  flags.role = "Member";
  flags.workspace = "demo";
  flags.expire_in = "720h";
  absl::StatusOr<v1::CreateApiKeyRequest> request = BuildCreateApiKey(flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->name(), "ci-bot");
  EXPECT_EQ(request->role(), v1::API_KEY_ROLE_MEMBER);
  EXPECT_EQ(request->workspace_id(), "demo");
  EXPECT_EQ(FromProto(request->expire_time()), kNow + absl::Hours(720));

  flags.expire_in.clear();
  EXPECT_FALSE(BuildCreateApiKey(flags, kNow)->has_expire_time());
}

TEST(BuildCreateApiKey, BadRoleOrDurationNamesTheFlag) {
  KeysFlags flags;
  flags.role = "boss";
  EXPECT_TRUE(absl::StartsWith(BuildCreateApiKey(flags, kNow).status().message(), "--role"));
  flags.role = "viewer";
  flags.expire_in = "soon";
  EXPECT_TRUE(absl::StartsWith(BuildCreateApiKey(flags, kNow).status().message(), "--expire-in"));
}

TEST(FormatApiKeys, OneLinePerKeyDashesForUnset) {
  google::protobuf::RepeatedPtrField<v1::ApiKey> keys;
  v1::ApiKey* key = keys.Add();
  key->set_id("01a20311-3bbd-7000-acf6-864343dba5e0");
  key->set_name("local-admin");
  key->set_role(v1::API_KEY_ROLE_ADMIN);
  key->set_key_prefix("jobd_AbCdEfG");
  ToProto(kNow, key->mutable_create_time());
  const std::string table = FormatApiKeys(keys, /*header=*/true);
  EXPECT_EQ(table,
            "ID                                    NAME                  ROLE    WORKSPACE       "
            "  PREFIX        CREATED               EXPIRES               REVOKED\n"
            "01a20311-3bbd-7000-acf6-864343dba5e0  local-admin           admin   -               "
            "  jobd_AbCdEfG  2027-01-15T08:00:00Z  -                     -\n");
  EXPECT_FALSE(absl::StartsWith(FormatApiKeys(keys, /*header=*/false), "ID"));
}

}  // namespace
}  // namespace jobd::jobctl
