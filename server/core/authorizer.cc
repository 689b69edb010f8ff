#include "server/core/authorizer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/access_rules.h"

namespace jobd::core {
namespace {

constexpr absl::string_view kBearer = "bearer ";

absl::StatusOr<absl::string_view> BearerKey(absl::Span<const absl::string_view> values) {
  if (values.empty()) {
    return absl::UnauthenticatedError(
        "no API key: send the metadata \"authorization: Bearer <api key>\"");
  }
  if (values.size() > 1) return absl::UnauthenticatedError("more than one authorization header");
  const absl::string_view value = values.front();
  if (!absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError("authorization must be \"Bearer <api key>\"");
  }
  return absl::StripAsciiWhitespace(value.substr(kBearer.size()));
}

}  // namespace

absl::StatusOr<Principal> Authorizer::Authorize(
    absl::Span<const absl::string_view> authorization_values, absl::string_view method) const {
  absl::StatusOr<absl::string_view> key = BearerKey(authorization_values);
  if (!key.ok()) return key.status();
  absl::StatusOr<Principal> caller = keys_.Authenticate(*key, clock_.Now());
  if (!caller.ok()) return caller.status();
  const std::optional<Permission> needed = PermissionFor(method);
  if (!needed || !RoleAllows(caller->role, *needed)) {
    return absl::PermissionDeniedError(absl::StrCat("API key \"", caller->name, "\" has role ",
                                                    RoleName(caller->role), ", which may not call ",
                                                    method));
  }
  return caller;
}

}  // namespace jobd::core
