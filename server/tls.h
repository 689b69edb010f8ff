// Server credentials from --tls_* flags: plaintext (loopback only, or allowed explicitly),
// TLS, or mutual TLS that requires and verifies client certificates.
#pragma once

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"
#include "server/config.h"

namespace jobd {

// INVALID_ARGUMENT naming the flag when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls);

}  // namespace jobd
