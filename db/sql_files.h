// SQL kept in db/queries/*.sql and db/migrations/*.sql, embedded at build time.
#pragma once

#include <string>
#include <vector>

namespace jobd::db {

struct SqlFile {
  std::string name;  // file name without ".sql", e.g. "insert_job" or "0001_init"
  std::string text;
};

// Named statements, prepared once per connection under their name.
const std::vector<SqlFile>& Queries();
// Numbered migrations in order.
const std::vector<SqlFile>& Migrations();

}  // namespace jobd::db
