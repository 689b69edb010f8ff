// Applies db/migrations/*.sql in order and reports the schema version.
#pragma once

#include <functional>
#include <limits>
#include <string>

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/database_config.h"

namespace jobd::db {

// The version this build of jobd needs: the number of the last migration.
int RequiredSchemaVersion();

// The version the database is at (0 when empty).
absl::StatusOr<int> SchemaVersion(pqxx::connection& conn);

// Applies every migration newer than the database, each in its own transaction with its
// schema_version row. Holds an advisory lock, so replicas migrating at once take turns.
// Returns the version reached; `log` hears each applied migration's name. `up_to` stops at
// that version (tests make databases of an earlier schema to upgrade).
absl::StatusOr<int> Migrate(pqxx::connection& conn,
                            const std::function<void(const std::string&)>& log,
                            int up_to = std::numeric_limits<int>::max());

// OK when the database is at RequiredSchemaVersion() or newer; FAILED_PRECONDITION otherwise.
absl::Status CheckSchemaVersion(pqxx::connection& conn);

// The same on a connection of their own, opened when the database answers: while it is
// UNAVAILABLE they retry every second until `wait` has passed, telling `waiting` why.
using WaitingLog = std::function<void(const absl::Status& why)>;
absl::StatusOr<int> Migrate(const DatabaseConfig& config, absl::Duration wait,
                            const WaitingLog& waiting,
                            const std::function<void(const std::string&)>& log);
absl::Status CheckSchemaVersion(const DatabaseConfig& config, absl::Duration wait,
                                const WaitingLog& waiting);

}  // namespace jobd::db
