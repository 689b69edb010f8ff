#include "db/pg_errors.h"

#include <string>

#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace jobd::db {
namespace {

constexpr char kConnectionLostPrefix[] = "database connection lost: ";

absl::Status FromSqlState(const std::string& state, const std::string& what) {
  // Class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now), 53 (resources).
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03") {
    return absl::UnavailableError(absl::StrCat(kConnectionLostPrefix, what));
  }
  // A migration changed a table's columns under this connection's prepared statements: the
  // connection is replaced (as a lost one), so a retry works during a rolling upgrade.
  if (state == "0A000" && absl::StrContains(what, "cached plan must not change result type")) {
    return absl::UnavailableError(absl::StrCat(kConnectionLostPrefix, what));
  }
  if (state == "23505") return absl::AlreadyExistsError(what);
  if (state == "40001" || state == "40P01") return absl::AbortedError(what);
  if (state == "57014") return absl::DeadlineExceededError(what);
  if (absl::StartsWith(state, "53")) return absl::ResourceExhaustedError(what);
  if (state == "22P02" || state == "22023" || state == "22001") {
    return absl::InvalidArgumentError(what);
  }
  return absl::InternalError(absl::StrCat("database error ", state, ": ", what));
}

}  // namespace

absl::Status TranslateException(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(kConnectionLostPrefix, e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(
        absl::StrCat(kConnectionLostPrefix, "commit outcome unknown: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e.sqlstate(), e.what());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("database client error: ", e.what()));
  }
}

bool IsConnectionLost(const absl::Status& status) {
  return absl::IsUnavailable(status) && absl::StartsWith(status.message(), kConnectionLostPrefix);
}

}  // namespace jobd::db
