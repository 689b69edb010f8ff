#include "server/core/payload_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace jobd::core {

using nlohmann::json;

namespace internal_payload_schema {

struct Node {
  uint8_t types = 0;                    // bits of kTypes; 0: any type
  std::vector<std::string> type_names;  // as written (without repeats), for messages
  std::map<std::string, std::unique_ptr<Node>> properties;
  std::vector<std::string> required;
  bool additional_properties = true;
  std::unique_ptr<Node> items;
  std::optional<json> enum_values;  // a non-empty array
  std::optional<json> const_value;
  std::optional<json> minimum, exclusive_minimum, maximum, exclusive_maximum;
  std::optional<uint64_t> min_length, max_length, min_items, max_items, min_properties,
      max_properties;
};

}  // namespace internal_payload_schema

namespace {

using internal_payload_schema::Node;

constexpr uint8_t kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32,
                  kNull = 64;

struct TypeInfo {
  const char* name;
  uint8_t bit;
  const char* described;  // after "must be"
};
constexpr TypeInfo kTypes[] = {
    {"object", kObject, "an object"},
    {"array", kArray, "an array"},
    {"string", kString, "a string"},
    {"number", kNumber, "a number"},
    {"integer", kInteger, "an integer"},
    {"boolean", kBoolean, "a boolean"},
    {"null", kNull, "null"},
};

// Keywords that differ only in the member they fill.
constexpr std::pair<const char*, std::optional<json> Node::*> kBounds[] = {
    {"minimum", &Node::minimum},
    {"exclusiveMinimum", &Node::exclusive_minimum},
    {"maximum", &Node::maximum},
    {"exclusiveMaximum", &Node::exclusive_maximum},
};
constexpr std::pair<const char*, std::optional<uint64_t> Node::*> kCounts[] = {
    {"minLength", &Node::min_length},         {"maxLength", &Node::max_length},
    {"minItems", &Node::min_items},           {"maxItems", &Node::max_items},
    {"minProperties", &Node::min_properties}, {"maxProperties", &Node::max_properties},
};
// Annotations for the dashboard's form. "format" is deliberately not enforced.
constexpr const char* kStringAnnotations[] = {"title", "description", "$comment", "$schema",
                                              "format"};

absl::Status Invalid(const std::string& path, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

// Never throws, even on invalid UTF-8 in a json built by hand.
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Quote(const std::string& text) { return Dump(json(text)); }

// "a.b" for plain keys, a["x y"] otherwise, so any path can be read back unambiguously.
void AppendKey(std::string* path, const std::string& key) {
  bool plain = !key.empty();
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      plain = false;
      break;
    }
  }
  if (plain) {
    absl::StrAppend(path, ".", key);
  } else {
    absl::StrAppend(path, "[", Quote(key), "]");
  }
}

std::string WithKey(std::string path, const std::string& key) {
  AppendKey(&path, key);
  return path;
}

bool IsIntegral(const json& number) {
  if (!number.is_number_float()) return number.is_number();
  double x = number.get<double>();
  return std::isfinite(x) && std::trunc(x) == x;
}

// long double holds every int64, uint64 and double exactly on the platforms we build for, so
// comparing 2^53 + 1 with 2^53 is not fooled by rounding.
long double AsLongDouble(const json& number) {
  if (number.is_number_unsigned()) return static_cast<long double>(number.get<uint64_t>());
  if (number.is_number_integer()) return static_cast<long double>(number.get<int64_t>());
  return static_cast<long double>(number.get<double>());
}

// 1000 rather than 1000.0, whichever way the schema wrote it.
std::string FormatNumber(const json& number) {
  if (number.is_number_float()) {
    double x = number.get<double>();
    if (IsIntegral(number) && std::fabs(x) < 9e18) return std::to_string(static_cast<int64_t>(x));
  }
  return Dump(number);
}

std::string FormatValue(const json& value) {
  return value.is_number() ? FormatNumber(value) : Dump(value);
}

std::string Counted(uint64_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// ---- Parse ----

absl::Status AddType(const json& name, const std::string& path, Node* node) {
  if (!name.is_string()) return Invalid(path, "must be a string");
  for (const TypeInfo& type : kTypes) {
    if (name.get_ref<const std::string&>() != type.name) continue;
    if (!(node->types & type.bit)) node->type_names.push_back(type.name);
    node->types |= type.bit;
    return absl::OkStatus();
  }
  return Invalid(path, absl::StrCat("unknown type ", Quote(name.get<std::string>())));
}

absl::Status ParseType(const json& value, const std::string& path, Node* node) {
  if (value.is_string()) return AddType(value, path, node);
  if (!value.is_array()) return Invalid(path, "must be a string or an array of strings");
  if (value.empty()) return Invalid(path, "must not be empty");
  for (size_t i = 0; i < value.size(); ++i) {
    absl::Status status = AddType(value[i], absl::StrCat(path, "[", i, "]"), node);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ParseCount(const json& value, const std::string& path, std::optional<uint64_t>* out) {
  if (!value.is_number() || !IsIntegral(value) || AsLongDouble(value) < 0) {
    return Invalid(path, "must be a non-negative integer");
  }
  if (value.is_number_float()) {
    double x = value.get<double>();
    // Past 2^64 every bound is the same in practice: no payload is that large.
    *out = x >= 18446744073709551615.0 ? std::numeric_limits<uint64_t>::max()
                                       : static_cast<uint64_t>(x);
  } else {
    *out = value.get<uint64_t>();
  }
  return absl::OkStatus();
}

absl::Status ParseNode(const json& schema, const std::string& path, Node* node);

absl::Status ParseKeyword(const std::string& key, const json& value, const std::string& path,
                          Node* node) {
  const std::string at = WithKey(path, key);
  if (key == "type") return ParseType(value, at, node);
  if (key == "properties") {
    if (!value.is_object()) return Invalid(at, "must be an object");
    for (const auto& [name, child_schema] : value.items()) {
      auto child = std::make_unique<Node>();
      absl::Status status = ParseNode(child_schema, WithKey(at, name), child.get());
      if (!status.ok()) return status;
      node->properties.emplace(name, std::move(child));
    }
    return absl::OkStatus();
  }
  if (key == "required") {
    if (!value.is_array()) return Invalid(at, "must be an array of strings");
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) return Invalid(absl::StrCat(at, "[", i, "]"), "must be a string");
      node->required.push_back(value[i].get<std::string>());
    }
    return absl::OkStatus();
  }
  if (key == "additionalProperties") {
    // Only the boolean form: a schema here would be one more language to document.
    if (!value.is_boolean()) return Invalid(at, "must be a boolean");
    node->additional_properties = value.get<bool>();
    return absl::OkStatus();
  }
  if (key == "items") {
    node->items = std::make_unique<Node>();
    return ParseNode(value, at, node->items.get());
  }
  if (key == "enum") {
    if (!value.is_array()) return Invalid(at, "must be an array");
    // An empty enum would refuse every payload: surely a mistake.
    if (value.empty()) return Invalid(at, "must not be empty");
    node->enum_values = value;
    return absl::OkStatus();
  }
  if (key == "const") {
    node->const_value = value;
    return absl::OkStatus();
  }
  for (const auto& [name, member] : kBounds) {
    if (key != name) continue;
    if (!value.is_number()) return Invalid(at, "must be a number");
    node->*member = value;
    return absl::OkStatus();
  }
  for (const auto& [name, member] : kCounts) {
    if (key == name) return ParseCount(value, at, &(node->*member));
  }
  for (const char* name : kStringAnnotations) {
    if (key != name) continue;
    // The dashboard shows these; a non-string would break its form, not our checks.
    return value.is_string() ? absl::OkStatus() : Invalid(at, "must be a string");
  }
  if (key == "examples") {
    return value.is_array() ? absl::OkStatus() : Invalid(at, "must be an array");
  }
  if (key == "default") return absl::OkStatus();
  // Refused rather than ignored: the author would believe the rule is enforced.
  return Invalid(path, absl::StrCat("keyword ", Quote(key), " is not supported"));
}

absl::Status ParseNode(const json& schema, const std::string& path, Node* node) {
  // Boolean schemas (true/false) are not in the subset.
  if (!schema.is_object()) return Invalid(path, "must be an object");
  for (const auto& [key, value] : schema.items()) {  // sorted: the first error is stable
    absl::Status status = ParseKeyword(key, value, path, node);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// ---- Validate ----

bool HasType(uint8_t types, const json& value) {
  if (types == 0) return true;
  switch (value.type()) {
    case json::value_t::object:
      return types & kObject;
    case json::value_t::array:
      return types & kArray;
    case json::value_t::string:
      return types & kString;
    case json::value_t::boolean:
      return types & kBoolean;
    case json::value_t::null:
      return types & kNull;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return (types & kNumber) || ((types & kInteger) && IsIntegral(value));
    default:  // binary, discarded: never in a parsed payload
      return false;
  }
}

std::string TypeMessage(const Node& node) {
  std::vector<std::string> described;
  for (const std::string& name : node.type_names) {
    for (const TypeInfo& type : kTypes) {
      if (name == type.name) described.push_back(type.described);
    }
  }
  std::string last = described.back();
  described.pop_back();
  if (described.empty()) return absl::StrCat("must be ", last);
  return absl::StrCat("must be ", absl::StrJoin(described, ", "), " or ", last);
}

std::string EnumMessage(const json& values) {
  // A long list (country codes, say) would swamp the message: name the first few.
  constexpr size_t kShown = 10;
  std::vector<std::string> shown;
  for (size_t i = 0; i < values.size() && i < kShown; ++i) shown.push_back(FormatValue(values[i]));
  std::string message = absl::StrCat("must be one of ", absl::StrJoin(shown, ", "));
  if (values.size() > kShown) absl::StrAppend(&message, ", ... (", values.size(), " in all)");
  return message;
}

absl::Status CheckNumber(const Node& node, const json& value, const std::string& path) {
  const long double x = AsLongDouble(value);
  if (node.minimum && x < AsLongDouble(*node.minimum)) {
    return Invalid(path, "must be at least " + FormatNumber(*node.minimum));
  }
  if (node.exclusive_minimum && x <= AsLongDouble(*node.exclusive_minimum)) {
    return Invalid(path, "must be greater than " + FormatNumber(*node.exclusive_minimum));
  }
  if (node.maximum && x > AsLongDouble(*node.maximum)) {
    return Invalid(path, "must be at most " + FormatNumber(*node.maximum));
  }
  if (node.exclusive_maximum && x >= AsLongDouble(*node.exclusive_maximum)) {
    return Invalid(path, "must be less than " + FormatNumber(*node.exclusive_maximum));
  }
  return absl::OkStatus();
}

// "must be at least 3 characters", "must have at most 1 item", ...
absl::Status CheckCount(uint64_t count, const std::optional<uint64_t>& min,
                        const std::optional<uint64_t>& max, const char* verb, const char* one,
                        const char* many, const std::string& path) {
  if (min && count < *min) {
    return Invalid(path, absl::StrCat("must ", verb, " at least ", Counted(*min, one, many)));
  }
  if (max && count > *max) {
    return Invalid(path, absl::StrCat("must ", verb, " at most ", Counted(*max, one, many)));
  }
  return absl::OkStatus();
}

uint64_t CodePoints(const std::string& text) {
  uint64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation
  return n;
}

// `path` is extended and restored around each child, rather than copied for each.
absl::Status Check(const Node& node, const json& value, std::string* path) {
  if (!HasType(node.types, value)) return Invalid(*path, TypeMessage(node));
  if (node.enum_values) {
    const json& allowed = *node.enum_values;
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      return Invalid(*path, EnumMessage(allowed));
    }
  }
  if (node.const_value && value != *node.const_value) {
    return Invalid(*path, "must equal " + FormatValue(*node.const_value));
  }
  if (value.is_number()) return CheckNumber(node, value, *path);
  if (value.is_string()) {
    return CheckCount(CodePoints(value.get_ref<const std::string&>()), node.min_length,
                      node.max_length, "be", "character", "characters", *path);
  }
  if (value.is_array()) {
    absl::Status status =
        CheckCount(value.size(), node.min_items, node.max_items, "have", "item", "items", *path);
    if (!status.ok() || !node.items) return status;
    const size_t length = path->size();
    for (size_t i = 0; i < value.size(); ++i) {
      absl::StrAppend(path, "[", i, "]");
      status = Check(*node.items, value[i], path);
      path->resize(length);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  if (value.is_object()) {
    absl::Status status = CheckCount(value.size(), node.min_properties, node.max_properties, "have",
                                     "property", "properties", *path);
    if (!status.ok()) return status;
    for (const std::string& name : node.required) {
      if (!value.contains(name)) return Invalid(WithKey(*path, name), "is required");
    }
    const size_t length = path->size();
    for (const auto& [key, child] : value.items()) {  // nlohmann objects iterate sorted
      auto it = node.properties.find(key);
      if (it == node.properties.end() && node.additional_properties) continue;
      AppendKey(path, key);
      status = it == node.properties.end() ? Invalid(*path, "is not allowed")
                                           : Check(*it->second, child, path);
      path->resize(length);
      if (!status.ok()) return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

json MergePayloads(const json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) return over;
  json merged = base;
  for (const auto& [key, value] : over.items()) {
    auto it = merged.find(key);
    if (it == merged.end()) {
      merged.emplace(key, value);
    } else {
      *it = MergePayloads(*it, value);
    }
  }
  return merged;
}

absl::StatusOr<PayloadSchema> PayloadSchema::Parse(const std::string& schema_json,
                                                   const std::string& field) {
  if (schema_json.size() > kMaxSchemaBytes) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxSchemaBytes, " bytes"));
  }
  // Depth is measured while parsing (nlohmann's parser and destructor do not recurse), before
  // anything below recurses over the document.
  int depth = 0;
  json schema;
  try {
    schema = json::parse(schema_json, [&depth](int level, json::parse_event_t event, json&) {
      if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
        depth = std::max(depth, level + 1);  // `level` counts the enclosing containers
      }
      return true;
    });
  } catch (const json::exception& e) {
    std::string what = e.what();
    size_t bracket = what.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] "
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    return Invalid(field, "not valid JSON: " + what);
  }
  if (depth > kMaxDepth) {
    return Invalid(field,
                   absl::StrCat("objects and arrays must be nested at most ", kMaxDepth, " deep"));
  }
  auto root = std::make_shared<Node>();
  absl::Status status = ParseNode(schema, field, root.get());
  if (!status.ok()) return status;
  // Payloads are always objects; a root that allowed anything else would mislead.
  if (root->types == 0) {
    root->types = kObject;
    root->type_names = {"object"};
  } else if (root->types != kObject) {
    return Invalid(field + ".type", "must be \"object\" at the root");
  }
  return PayloadSchema(std::move(root));
}

absl::Status PayloadSchema::Validate(const json& payload) const {
  std::string path = "payload";
  return Check(*root_, payload, &path);
}

}  // namespace jobd::core
