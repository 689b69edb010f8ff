// ApiKeyStore on PostgreSQL (db/queries/*api_key*.sql).
#pragma once

#include "db/connection_pool.h"
#include "db/model/api_key.h"

namespace jobd::db {

class PgApiKeyStore : public ApiKeyStore {
 public:
  explicit PgApiKeyStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<ApiKey> InsertApiKey(const ApiKey& key) override;
  absl::StatusOr<ApiKey> RevokeApiKey(const std::string& id, absl::Time when) override;
  absl::StatusOr<std::vector<ApiKey>> ListApiKeys(const std::string& before_id,
                                                  const std::string& workspace_id,
                                                  int32_t limit) override;
  absl::StatusOr<std::vector<ApiKey>> ApiKeyChanges(int64_t after, int32_t limit) override;
  absl::StatusOr<std::vector<std::string>> PageTokenKeys() override;
  absl::Status RotatePageTokenKey(absl::Duration grace) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace jobd::db
