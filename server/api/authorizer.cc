#include "server/api/authorizer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/access_rules.h"

namespace jobd::api {
namespace {

constexpr absl::string_view kBearer = "bearer ";

absl::StatusOr<absl::string_view> BearerKey(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    return absl::UnauthenticatedError(
        "no API key: send the metadata \"authorization: Bearer <api key>\"");
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  const absl::string_view value(range.first->second.data(), range.first->second.size());
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError(
        "authorization must be \"Bearer <api key>\"");
  }
  return absl::StripAsciiWhitespace(value.substr(kBearer.size()));
}

}  // namespace

absl::StatusOr<core::Principal> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                                      const char* method) const {
  absl::StatusOr<absl::string_view> key = BearerKey(context);
  if (!key.ok()) return key.status();
  absl::StatusOr<core::Principal> caller = keys_.Authenticate(*key, clock_.Now());
  if (!caller.ok()) return caller.status();
  const std::optional<core::Permission> needed = PermissionFor(method);
  if (!needed || !core::RoleAllows(caller->role, *needed)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "API key \"", caller->name, "\" has role ", RoleName(caller->role), ", which may not call ",
        method));
  }
  return caller;
}

}  // namespace jobd::api
