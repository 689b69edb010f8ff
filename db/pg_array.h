// Builds PostgreSQL array literals ({"a","b",NULL}) for statements that take a whole batch
// as one parameter per column and unnest it. Private to db/.
#pragma once

#include <optional>
#include <string>

namespace jobd::db {

class ArrayLiteral {
 public:
  // A quoted element: backslash and double quote escaped, as array input requires.
  void Add(const std::string& value) {
    Separate();
    text_.reserve(text_.size() + value.size() + 2);
    text_ += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  void Add(const std::optional<std::string>& value) {
    if (value) {
      Add(*value);
    } else {
      AddNull();
    }
  }
  void AddNull() {
    Separate();
    text_ += "NULL";
  }
  // The literal; usable once per builder.
  std::string Close() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  void Separate() { text_ += text_.empty() ? "{" : ","; }
  std::string text_;
};

}  // namespace jobd::db
