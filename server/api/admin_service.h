// jobd.v1.AdminService on gRPC's callback API: API keys. Admin keys only.
#pragma once

#include "jobd/v1/admin_service.grpc.pb.h"
#include "server/api/admission.h"
#include "server/core/api_key_manager.h"
#include "server/core/executor.h"

namespace jobd::api {

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(const Admission& auth, core::ApiKeyManager& keys, core::Executor& executor)
      : auth_(auth), keys_(keys), executor_(executor) {}

  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::RevokeApiKeyResponse* response) override;

 private:
  const Admission& auth_;
  core::ApiKeyManager& keys_;
  core::Executor& executor_;
};

// The key's public fields (never its hash).
void ToProto(const ApiKey& key, v1::ApiKey* out);

}  // namespace jobd::api
