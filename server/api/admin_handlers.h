// jobd.v1.AdminService's calls (API keys), for every transport. Admin keys only.
#pragma once

#include "jobd/v1/admin_service.pb.h"
#include "server/api/unary_call.h"
#include "server/core/api_key_manager.h"
#include "server/core/executor.h"

namespace jobd::api {

class AdminHandlers {
 public:
  AdminHandlers(core::ApiKeyManager& keys, core::Executor& executor)
      : keys_(keys), executor_(executor) {}

  void CreateApiKey(UnaryCall call, const core::Principal& caller,
                    const v1::CreateApiKeyRequest* request, v1::CreateApiKeyResponse* response);
  void ListApiKeys(UnaryCall call, const core::Principal& caller,
                   const v1::ListApiKeysRequest* request, v1::ListApiKeysResponse* response);
  void RevokeApiKey(UnaryCall call, const core::Principal& caller,
                    const v1::RevokeApiKeyRequest* request, v1::RevokeApiKeyResponse* response);
  // From the authenticated key alone: no database read.
  void WhoAmI(UnaryCall call, const core::Principal& caller, const v1::WhoAmIRequest* request,
              v1::WhoAmIResponse* response);

 private:
  core::ApiKeyManager& keys_;
  core::Executor& executor_;
};

// The key's public fields (never its hash).
void ToProto(const ApiKey& key, v1::ApiKey* out);

}  // namespace jobd::api
