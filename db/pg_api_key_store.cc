#include "db/pg_api_key_store.h"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "db/pg_rows.h"

namespace jobd::db {
namespace {

std::vector<ApiKey> ReadKeys(const pqxx::result& r) {
  std::vector<ApiKey> keys;
  if (r.empty()) return keys;
  const auto id = r.column_number("id"), name = r.column_number("name"),
             role = r.column_number("role"), workspace = r.column_number("workspace_id"),
             hash = r.column_number("key_hash"), prefix = r.column_number("key_prefix"),
             created_by = r.column_number("created_by"),
             create_time = r.column_number("create_time"),
             expire_time = r.column_number("expire_time"),
             revoke_time = r.column_number("revoke_time"),
             change_seq = r.column_number("change_seq");
  keys.reserve(r.size());
  for (const pqxx::row& row : r) {
    ApiKey key;
    key.id = row[id].c_str();
    key.name = row[name].c_str();
    key.role = RoleFromName(row[role].c_str()).value_or(Role::kViewer);
    if (!row[workspace].is_null()) key.workspace_id = row[workspace].c_str();
    key.key_hash = pqxx::binarystring(row[hash]).str();
    key.key_prefix = row[prefix].c_str();
    key.created_by = row[created_by].c_str();
    key.create_time = ParseTimestamp(row[create_time].c_str());
    if (!row[expire_time].is_null()) key.expire_time = ParseTimestamp(row[expire_time].c_str());
    if (!row[revoke_time].is_null()) key.revoke_time = ParseTimestamp(row[revoke_time].c_str());
    key.change_seq = row[change_seq].as<int64_t>();
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status KeyNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("API key ", id, " not found"));
}

}  // namespace

absl::StatusOr<ApiKey> PgApiKeyStore::InsertApiKey(const ApiKey& key) {
  return pool_.Run<ApiKey>([&](pqxx::connection& conn) -> absl::StatusOr<ApiKey> {
    pqxx::work tx(conn);
    tx.exec_prepared("lock_api_keys");
    const std::string expire = key.expire_time ? FormatTimestamp(*key.expire_time) : "";
    pqxx::result r = tx.exec_prepared(
        "insert_api_key", key.id, key.name, RoleName(key.role), NullIfEmpty(key.workspace_id),
        absl::BytesToHexString(key.key_hash), key.key_prefix, key.created_by,
        FormatTimestamp(key.create_time), NullIfEmpty(expire));
    tx.commit();
    return ReadKeys(r).at(0);
  });
}

absl::StatusOr<ApiKey> PgApiKeyStore::RevokeApiKey(const std::string& id, absl::Time when) {
  return pool_.Run<ApiKey>([&](pqxx::connection& conn) -> absl::StatusOr<ApiKey> {
    pqxx::work tx(conn);
    tx.exec_prepared("lock_api_keys");
    pqxx::result r = tx.exec_prepared("revoke_api_key", id, FormatTimestamp(when));
    if (r.empty()) r = tx.exec_prepared("select_api_key", id);
    if (r.empty()) return KeyNotFound(id);
    tx.commit();
    return ReadKeys(r).at(0);
  });
}

absl::StatusOr<std::vector<ApiKey>> PgApiKeyStore::ListApiKeys(const std::string& before_id,
                                                               const std::string& workspace_id,
                                                               int32_t limit) {
  return pool_.Run<std::vector<ApiKey>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ApiKey>> {
        pqxx::nontransaction tx(conn);
        return ReadKeys(tx.exec_prepared("list_api_keys", before_id.empty() ? kMaxUuid : before_id,
                                         limit, NullIfEmpty(workspace_id)));
      });
}

absl::StatusOr<std::vector<ApiKey>> PgApiKeyStore::ApiKeyChanges(int64_t after, int32_t limit) {
  return pool_.Run<std::vector<ApiKey>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ApiKey>> {
        pqxx::nontransaction tx(conn);
        return ReadKeys(tx.exec_prepared("api_key_changes", after, limit));
      });
}

absl::StatusOr<std::vector<std::string>> PgApiKeyStore::PageTokenKeys() {
  return pool_.Run<std::vector<std::string>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> keys;
        for (const auto& row : tx.exec_prepared("page_token_keys")) keys.push_back(row[0].c_str());
        return keys;
      });
}

absl::Status PgApiKeyStore::RotatePageTokenKey(absl::Duration grace) {
  return pool_
      .Run<bool>([&](pqxx::connection& conn) -> absl::StatusOr<bool> {
        pqxx::nontransaction tx(conn);  // one statement
        tx.exec_prepared("rotate_page_token_key", absl::ToInt64Microseconds(grace));
        return true;
      })
      .status();
}

}  // namespace jobd::db
