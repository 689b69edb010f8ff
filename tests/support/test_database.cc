#include "tests/support/test_database.h"

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>

#include "db/conninfo.h"
#include "db/migrator.h"

namespace jobd::testing {

std::string TestDatabaseUrl() {
  const char* url = std::getenv("JOBD_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "JOBD_TEST_DATABASE_URL is not set: run the tests with deploy/test.sh";
    return "";
  }
  return url;
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  absl::StatusOr<std::string> out =
      db::WithSettings(url, {{"dbname", dbname}}, /*only_if_unset=*/false);
  if (!out.ok()) {
    ADD_FAILURE() << out.status();
    return url;
  }
  return *out;
}

std::string RandomName(const std::string& prefix) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = prefix;
  for (int i = 0; i < 12; ++i) name.push_back(kChars[random() % 36]);
  return name;
}

TestSchema::TestSchema() : url_(TestDatabaseUrl()), name_(RandomName("t_")) {
  if (url_.empty()) return;
  pqxx::connection conn(url_);
  pqxx::nontransaction(conn).exec("CREATE SCHEMA " + name_);
  auto migrated_conn = db::OpenConnection(config());
  if (!migrated_conn.ok()) {
    ADD_FAILURE() << migrated_conn.status();
    return;
  }
  auto version = db::Migrate(**migrated_conn, [](const std::string&) {});
  if (!version.ok()) ADD_FAILURE() << version.status();
}

TestSchema::~TestSchema() {
  if (url_.empty()) return;
  try {
    pqxx::connection conn(url_);
    pqxx::nontransaction(conn).exec("DROP SCHEMA " + name_ + " CASCADE");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping schema " << name_ << ": " << e.what();
  }
}

db::DatabaseConfig TestSchema::config(int pool_size) const {
  db::DatabaseConfig config;
  config.url = url_;
  config.pool_size = pool_size;
  config.search_path = name_;
  return config;
}

TestDatabase::TestDatabase(const std::string& cluster_url)
    : cluster_url_(cluster_url), name_(RandomName("jobd_test_")) {
  if (cluster_url_.empty()) return;
  pqxx::connection conn(cluster_url_);
  pqxx::nontransaction(conn).exec("CREATE DATABASE " + name_);
  url_ = WithDatabase(cluster_url_, name_);
}

TestDatabase::~TestDatabase() {
  if (cluster_url_.empty()) return;
  try {
    pqxx::connection conn(cluster_url_);
    pqxx::nontransaction(conn).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "dropping database " << name_ << ": " << e.what();
  }
}

DatabaseAtSchema::DatabaseAtSchema(int version) : database_(TestDatabaseUrl()) {
  config_.url = database_.url();
  auto conn = db::OpenConnection(config_);
  EXPECT_TRUE(conn.ok()) << conn.status();
  if (!conn.ok()) return;
  absl::StatusOr<int> reached = db::Migrate(
      **conn, [](const std::string&) {}, version);
  EXPECT_TRUE(reached.ok() && *reached == version) << "migrating to schema " << version;
}

absl::StatusOr<int> DatabaseAtSchema::Upgrade() {
  auto conn = db::OpenConnection(config_);
  if (!conn.ok()) return conn.status();
  return db::Migrate(**conn, [](const std::string&) {});
}

}  // namespace jobd::testing
