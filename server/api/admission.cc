#include "server/api/admission.h"

#include "absl/container/inlined_vector.h"

namespace jobd::api {

absl::StatusOr<core::Principal> Admission::Admit(const grpc::ServerContextBase& context,
                                                 const char* method, const char* stopping) const {
  if (gate_.closed()) return absl::UnavailableError(stopping);
  absl::InlinedVector<absl::string_view, 1> values;  // one, unless the call is malformed
  const auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return auth_.Authorize(values, method);
}

}  // namespace jobd::api
