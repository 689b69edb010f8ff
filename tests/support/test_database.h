// Throwaway databases and schemas on the test cluster named by JOBD_TEST_DATABASE_URL
// (started by deploy/test.sh). Without that variable, tests fail; they never skip.
#pragma once

#include <string>

#include "db/connection_pool.h"

namespace jobd::testing {

// The cluster's URL; fails the current test (and returns "") when unset.
std::string TestDatabaseUrl();

// `url` with its database name replaced (a libpq keyword/value string).
std::string WithDatabase(const std::string& url, const std::string& dbname);

// A random lower-case identifier with `prefix`.
std::string RandomName(const std::string& prefix);

// A fresh schema with every migration applied, dropped when this goes out of scope.
class TestSchema {
 public:
  TestSchema();
  ~TestSchema();
  db::DatabaseConfig config(int pool_size = 4) const;
  const std::string& name() const { return name_; }

 private:
  std::string url_;
  std::string name_;
};

// A fresh database (for a whole jobd process), dropped when this goes out of scope.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& cluster_url);
  ~TestDatabase();
  const std::string& url() const { return url_; }

 private:
  std::string cluster_url_;
  std::string name_;
  std::string url_;
};

// A fresh database migrated up to schema `version` (a test failure when that fails), for an
// upgrade test: fill it through connections of that schema, then Upgrade.
class DatabaseAtSchema {
 public:
  explicit DatabaseAtSchema(int version);
  const db::DatabaseConfig& config() const { return config_; }
  // Applies every later migration; the version reached.
  absl::StatusOr<int> Upgrade();

 private:
  TestDatabase database_;
  db::DatabaseConfig config_;
};

}  // namespace jobd::testing
