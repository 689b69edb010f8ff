// Job payloads against a template: a deep merge of the request's payload over the template's
// default payload, and a small, documented subset of JSON Schema to check the result.
//
// Supported subset of JSON Schema (anything else is refused when the schema is saved, so that
// nobody believes an unsupported rule is enforced):
//
//   type                  "object", "array", "string", "number", "integer", "boolean", "null",
//                         or an array of these. "integer" is a number with no fractional part,
//                         so 3.0 is an integer (as in JSON Schema); 3.5 is not.
//   properties            an object of schemas, one per key.
//   required              an array of strings: keys that must be present.
//   additionalProperties  a boolean only; false refuses keys not listed in "properties".
//   items                 one schema, applied to every element of an array.
//   enum                  a non-empty array of JSON values; the value must equal one of them.
//   const                 a JSON value; the value must equal it.
//   minimum, maximum,     numbers; inclusive and exclusive bounds on numbers.
//   exclusiveMinimum, exclusiveMaximum
//   minLength, maxLength  non-negative integers; the length of a string in Unicode code points
//                         (so "é" has length 1), not bytes.
//   minItems, maxItems    non-negative integers; the number of elements of an array.
//   minProperties, maxProperties
//                         non-negative integers; the number of keys of an object.
//   title, description, $comment, $schema, format (strings), examples (an array), default
//                         annotations: accepted for the dashboard's form and otherwise ignored.
//                         "format" in particular is NOT checked.
//
// As in JSON Schema, a keyword about one type says nothing about values of other types:
// "minimum" alone does not make a string invalid; add "type" for that.
// The root schema must describe an object (type "object" or no type); the schema text is at most
// 64 KiB, with objects and arrays nested at most 32 deep.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace jobd::core {

namespace internal_payload_schema {
struct Node;  // a checked schema; defined in the .cc
}  // namespace internal_payload_schema

// Objects are merged key by key, recursively; any other value in `over` (arrays, scalars,
// null) replaces the one in `base`. Both must be JSON objects (otherwise `over` is returned,
// by the same rule).
nlohmann::json MergePayloads(const nlohmann::json& base, const nlohmann::json& over);

class PayloadSchema {
 public:
  static constexpr size_t kMaxSchemaBytes = 64 * 1024;
  static constexpr int kMaxDepth = 32;

  // Parses and checks a schema (JSON text). INVALID_ARGUMENT naming the place, prefixed by
  // `field` (e.g. "payload_schema"): "payload_schema: not valid JSON: ...",
  // "payload_schema.properties.pages: keyword \"pattern\" is not supported",
  // "payload_schema.properties.pages.minimum: must be a number",
  // "payload_schema.type: unknown type \"int\"".
  static absl::StatusOr<PayloadSchema> Parse(const std::string& schema_json,
                                             const std::string& field);

  // INVALID_ARGUMENT naming the first failing path, rooted at "payload":
  // "payload.pages: must be at most 1000", "payload.url: is required",
  // "payload.mode: must be one of \"fast\", \"full\"", "payload.tags[2]: must be a string",
  // "payload.name: must be at most 64 characters", "payload.extra: is not allowed".
  // Within one schema: type, enum, const, then the keywords of the value's type; for objects,
  // the count bounds, then "required" in its order, then the keys in sorted order.
  absl::Status Validate(const nlohmann::json& payload) const;

 private:
  using Node = internal_payload_schema::Node;
  explicit PayloadSchema(std::shared_ptr<const Node> root) : root_(std::move(root)) {}

  // Shared and immutable: copies are cheap and safe to use from several threads.
  std::shared_ptr<const Node> root_;
};

}  // namespace jobd::core
