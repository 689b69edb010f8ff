#include "server/keys_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/connection_pool.h"
#include "db/migrator.h"
#include "db/pg_api_key_store.h"
#include "server/core/api_key_manager.h"
#include "server/core/ids.h"

namespace jobd {
namespace {

std::string ShowTime(const std::optional<absl::Time>& time) {
  if (!time) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *time, absl::UTCTimeZone());
}

int FailKeys(const absl::Status& status) {
  std::fprintf(stderr, "jobd keys: %s\n", std::string(status.message()).c_str());
  return 1;
}

// A new file only (O_EXCL): an existing key is never overwritten. Mode 0600 from the start.
absl::Status WriteSecretFile(const std::string& path, const std::string& secret) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key_file: cannot create ", path, ": ", std::strerror(errno)));
  }
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("key_file: cannot write ", path));
  }
  return absl::OkStatus();
}

int Create(core::ApiKeyManager& manager, const KeysCommand& keys) {
  core::CreateApiKeyCommand command;
  command.name = keys.name;
  command.role = RoleFromName(keys.role);
  if (!command.role) {
    return FailKeys(
        absl::InvalidArgumentError("role: must be one of admin, member, worker, viewer"));
  }
  command.workspace_id = keys.workspace_id;
  if (keys.expire_in) command.expire_time = absl::Now() + *keys.expire_in;
  absl::StatusOr<core::CreatedApiKey> created =
      manager.CreateApiKey(core::LocalAdmin("jobd keys"), command);
  if (!created.ok()) return FailKeys(created.status());
  if (!keys.key_file.empty()) {
    if (absl::Status s = WriteSecretFile(keys.key_file, created->secret); !s.ok()) {
      // The key exists but nobody can know its secret: revoke it rather than leave it.
      manager.RevokeApiKey(core::LocalAdmin("jobd keys"), created->key.id).IgnoreError();
      return FailKeys(s);
    }
  } else {
    std::printf("%s\n", created->secret.c_str());
  }
  const ApiKey& key = created->key;
  std::fprintf(stderr, "created API key %s: name %s, role %s, workspace %s, expires %s%s\n",
               key.id.c_str(), key.name.c_str(), RoleName(key.role),
               key.workspace_id.empty() ? "(all)" : key.workspace_id.c_str(),
               ShowTime(key.expire_time).c_str(),
               keys.key_file.empty() ? "; the key above is shown only once"
                                     : (", written to " + keys.key_file).c_str());
  return 0;
}

int List(core::ApiKeyManager& manager) {
  std::printf("%-36s  %-20s  %-6s  %-16s  %-12s  %-20s  %-20s  %s\n", "ID", "NAME", "ROLE",
              "WORKSPACE", "PREFIX", "CREATED", "EXPIRES", "REVOKED");
  std::string token;
  do {
    absl::StatusOr<core::ApiKeyPage> page =
        manager.ListApiKeys(core::LocalAdmin("jobd keys"), "", 500, token);
    if (!page.ok()) return FailKeys(page.status());
    for (const ApiKey& key : page->keys) {
      std::printf("%-36s  %-20s  %-6s  %-16s  %-12s  %-20s  %-20s  %s\n", key.id.c_str(),
                  key.name.c_str(), RoleName(key.role),
                  key.workspace_id.empty() ? "-" : key.workspace_id.c_str(), key.key_prefix.c_str(),
                  ShowTime(key.create_time).c_str(), ShowTime(key.expire_time).c_str(),
                  ShowTime(key.revoke_time).c_str());
    }
    token = page->next_page_token;
  } while (!token.empty());
  return 0;
}

}  // namespace

int RunKeys(const ServerConfig& config) {
  db::DatabaseConfig database = config.database;
  database.pool_size = 1;
  if (absl::Status s = db::CheckSchemaVersion(database, absl::ZeroDuration(), nullptr); !s.ok()) {
    return FailKeys(s);
  }
  db::ConnectionPool pool(database);
  db::PgApiKeyStore store(pool);
  SystemClock clock;
  // Page tokens of `keys list` never leave this process: any key signs them.
  core::ApiKeyManager manager(store, /*registry=*/nullptr, clock, config.limits,
                              core::PageTokenCodec(core::NewRandomUuid()));
  const KeysCommand& keys = config.keys;
  if (keys.action == "rotate-page-token-key") {
    if (absl::Status s = store.RotatePageTokenKey(keys.grace); !s.ok()) return FailKeys(s);
    std::printf("new page-token key in use; the previous keys verify tokens for %s more\n",
                absl::FormatDuration(keys.grace).c_str());
    return 0;
  }
  if (keys.action == "create") return Create(manager, keys);
  if (keys.action == "list") return List(manager);
  absl::StatusOr<ApiKey> revoked = manager.RevokeApiKey(core::LocalAdmin("jobd keys"), keys.id);
  if (!revoked.ok()) return FailKeys(revoked.status());
  std::printf("revoked API key %s (%s) at %s\n", revoked->id.c_str(), revoked->name.c_str(),
              ShowTime(revoked->revoke_time).c_str());
  return 0;
}

}  // namespace jobd
