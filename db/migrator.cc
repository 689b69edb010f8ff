#include "db/migrator.h"

#include <cstdlib>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "db/connection_pool.h"
#include "db/pg_errors.h"
#include "db/sql_files.h"

namespace jobd::db {
namespace {

int MigrationNumber(const SqlFile& file) { return std::atoi(file.name.c_str()); }

int ReadVersion(pqxx::transaction_base& tx) {
  if (!tx.exec_prepared1("schema_version_table_exists")[0].as<bool>()) return 0;
  return tx.exec_prepared1("schema_version")[0].as<int>();
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectWhenUp(const DatabaseConfig& config,
                                                                absl::Duration wait,
                                                                const WaitingLog& waiting) {
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    auto conn = OpenConnection(config);
    if (conn.ok() || absl::Now() >= deadline || !absl::IsUnavailable(conn.status())) return conn;
    if (waiting) waiting(conn.status());
    absl::SleepFor(absl::Seconds(1));
  }
}

}  // namespace

absl::StatusOr<int> Migrate(const DatabaseConfig& config, absl::Duration wait,
                            const WaitingLog& waiting,
                            const std::function<void(const std::string&)>& log) {
  // A migration may rewrite a large table: no statement timeout.
  DatabaseConfig unlimited = config;
  unlimited.statement_timeout = absl::ZeroDuration();
  auto conn = ConnectWhenUp(unlimited, wait, waiting);
  if (!conn.ok()) return conn.status();
  return Migrate(**conn, log);
}

absl::Status CheckSchemaVersion(const DatabaseConfig& config, absl::Duration wait,
                                const WaitingLog& waiting) {
  auto conn = ConnectWhenUp(config, wait, waiting);
  if (!conn.ok()) return conn.status();
  return CheckSchemaVersion(**conn);
}

int RequiredSchemaVersion() { return MigrationNumber(Migrations().back()); }

absl::StatusOr<int> SchemaVersion(pqxx::connection& conn) {
  try {
    pqxx::nontransaction tx(conn);
    return ReadVersion(tx);
  } catch (...) {
    return TranslateException(std::current_exception());
  }
}

absl::StatusOr<int> Migrate(pqxx::connection& conn,
                            const std::function<void(const std::string&)>& log, int up_to) {
  try {
    // Session-level advisory lock: held across the per-migration transactions below.
    pqxx::nontransaction(conn).exec_prepared("migration_lock");
    int version = 0;
    absl::Status status;
    try {
      {
        pqxx::nontransaction read(conn);
        version = ReadVersion(read);
      }
      for (const SqlFile& migration : Migrations()) {
        const int number = MigrationNumber(migration);
        if (number <= version || number > up_to) continue;
        pqxx::work tx(conn);
        tx.exec(migration.text);
        tx.exec_prepared("record_migration", number, migration.name);
        tx.commit();
        version = number;
        log(migration.name);
      }
    } catch (...) {
      status = TranslateException(std::current_exception());
    }
    pqxx::nontransaction(conn).exec_prepared("migration_unlock");
    if (!status.ok()) return status;
    return version;
  } catch (...) {
    return TranslateException(std::current_exception());
  }
}

absl::Status CheckSchemaVersion(pqxx::connection& conn) {
  absl::StatusOr<int> version = SchemaVersion(conn);
  if (!version.ok()) return version.status();
  if (*version < RequiredSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema is at version ", *version, " but this jobd needs ",
                     RequiredSchemaVersion(), ": run `jobd migrate` first"));
  }
  return absl::OkStatus();
}

}  // namespace jobd::db
