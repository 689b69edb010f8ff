#include "client/jobctl/keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "client/jobctl/args.h"

namespace jobd::jobctl {
namespace {

std::string ShowTime(const google::protobuf::Timestamp& time, bool set) {
  if (!set) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(time), absl::UTCTimeZone());
}

constexpr absl::string_view kRolePrefix = "API_KEY_ROLE_";

// API_KEY_ROLE_MEMBER <-> member, from the proto's own enum names.
std::string RoleName(v1::ApiKeyRole role) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::ApiKeyRole_Name(role), kRolePrefix));
}

}  // namespace

absl::StatusOr<v1::CreateApiKeyRequest> BuildCreateApiKey(const KeysFlags& flags, absl::Time now) {
  v1::CreateApiKeyRequest request;
  request.set_name(flags.name);
  request.set_workspace_id(flags.workspace);
  v1::ApiKeyRole role = v1::API_KEY_ROLE_UNSPECIFIED;
  if (!v1::ApiKeyRole_Parse(absl::StrCat(kRolePrefix, absl::AsciiStrToUpper(flags.role)), &role) ||
      role == v1::API_KEY_ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError("--role: use admin, member, worker or viewer");
  }
  request.set_role(role);
  if (!flags.expire_in.empty()) {
    absl::StatusOr<absl::Duration> in = ParseDuration("--expire-in", flags.expire_in);
    if (!in.ok()) return in.status();
    ToProto(now + *in, request.mutable_expire_time());
  }
  return request;
}

v1::ListApiKeysRequest BuildListApiKeys(const KeysFlags& flags) {
  v1::ListApiKeysRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_page_size(500);
  return request;
}

v1::RevokeApiKeyRequest BuildRevokeApiKey(const KeysFlags& flags) {
  v1::RevokeApiKeyRequest request;
  request.set_id(flags.id);
  return request;
}

std::string FormatApiKeys(const google::protobuf::RepeatedPtrField<v1::ApiKey>& keys, bool header) {
  constexpr const char* kFormat = "%-36s  %-20s  %-6s  %-16s  %-12s  %-20s  %-20s  %s\n";
  std::string out;
  if (header) {
    out += absl::StrFormat(kFormat, "ID", "NAME", "ROLE", "WORKSPACE", "PREFIX", "CREATED",
                           "EXPIRES", "REVOKED");
  }
  for (const v1::ApiKey& key : keys) {
    out += absl::StrFormat(kFormat, key.id(), key.name(), RoleName(key.role()),
                           key.workspace_id().empty() ? "-" : key.workspace_id(), key.key_prefix(),
                           ShowTime(key.create_time(), key.has_create_time()),
                           ShowTime(key.expire_time(), key.has_expire_time()),
                           ShowTime(key.revoke_time(), key.has_revoke_time()));
  }
  return out;
}

}  // namespace jobd::jobctl
