// Template payloads: the deep merge, and the JSON Schema subset with its exact messages.
#include "server/core/payload_schema.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace jobd::core {
namespace {

using nlohmann::json;

constexpr char kField[] = "payload_schema";

// One schema, one payload, and the expected message ("" when the payload is valid).
struct Case {
  std::string schema;
  std::string payload;
  std::string error;
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("schema ", c.schema, " payload ", c.payload));
    absl::StatusOr<PayloadSchema> schema = PayloadSchema::Parse(c.schema, kField);
    ASSERT_TRUE(schema.ok()) << schema.status();
    absl::Status status = schema->Validate(json::parse(c.payload));
    if (c.error.empty()) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
      EXPECT_EQ(std::string(status.message()), c.error);
    }
  }
}

// Scalars cannot be payloads (the root is an object): each case puts its schema and value
// under the key "v", so its messages name "payload.v".
void RunValueCases(const std::vector<Case>& cases) {
  std::vector<Case> wrapped;
  for (const Case& c : cases) {
    wrapped.push_back({R"({"properties":{"v":)" + c.schema + "}}", R"({"v":)" + c.payload + "}",
                       c.error.empty() ? "" : "payload.v: " + c.error});
  }
  RunCases(wrapped);
}

// Schema text and the expected refusal ("" when it parses).
void RunParseCases(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [text, error] : cases) {
    SCOPED_TRACE(text.substr(0, 200));
    absl::StatusOr<PayloadSchema> schema = PayloadSchema::Parse(text, kField);
    if (error.empty()) {
      EXPECT_TRUE(schema.ok()) << schema.status();
    } else {
      EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument) << schema.status();
      EXPECT_EQ(std::string(schema.status().message()), error);
    }
  }
}

TEST(MergePayloads, Rules) {
  struct MergeCase {
    const char* base;
    const char* over;
    const char* merged;
  };
  const std::vector<MergeCase> cases = {
      // Nested objects merged; base keys kept; over keys added.
      {R"({"a":1,"b":{"c":1,"d":2}})", R"({"b":{"d":3,"e":4},"f":5})",
       R"({"a":1,"b":{"c":1,"d":3,"e":4},"f":5})"},
      {R"({"x":{"y":{"z":1,"k":2}}})", R"({"x":{"y":{"z":9}}})", R"({"x":{"y":{"z":9,"k":2}}})"},
      // Arrays replaced, never concatenated or merged by index.
      {R"({"a":[1,2,3]})", R"({"a":[4]})", R"({"a":[4]})"},
      {R"({"a":[{"k":1}]})", R"({"a":[{"j":2}]})", R"({"a":[{"j":2}]})"},
      // Null replaces (it does not delete, unlike a JSON merge patch).
      {R"({"a":{"b":1}})", R"({"a":null})", R"({"a":null})"},
      // Any non-object replaces, and replaces an object.
      {R"({"a":1})", R"({"a":{"b":2}})", R"({"a":{"b":2}})"},
      {R"({"a":{"b":1}})", R"({"a":"x"})", R"({"a":"x"})"},
      {R"({"a":true})", R"({"a":0.5})", R"({"a":0.5})"},
      // Empty sides.
      {R"({"a":1})", R"({})", R"({"a":1})"},
      {R"({})", R"({"a":1})", R"({"a":1})"},
      {R"({})", R"({})", R"({})"},
  };
  for (const MergeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.base, " + ", c.over));
    const json base = json::parse(c.base);
    const json over = json::parse(c.over);
    EXPECT_EQ(MergePayloads(base, over), json::parse(c.merged));
    EXPECT_EQ(base, json::parse(c.base));  // inputs untouched
  }
}

TEST(MergePayloads, ThenValidate) {
  auto schema = PayloadSchema::Parse(
      R"({"properties":{"mode":{"enum":["fast","full"]},"pages":{"maximum":1000}}})", kField);
  ASSERT_TRUE(schema.ok()) << schema.status();
  const json defaults = json::parse(R"({"mode":"fast","pages":10})");
  EXPECT_TRUE(schema->Validate(MergePayloads(defaults, json::parse(R"({"pages":20})"))).ok());
  EXPECT_EQ(schema->Validate(MergePayloads(defaults, json::parse(R"({"pages":2000})"))).message(),
            "payload.pages: must be at most 1000");
}

TEST(PayloadSchemaValidate, SingleTypes) {
  RunValueCases({
      {R"({"type":"string"})", R"("x")", ""},
      {R"({"type":"string"})", "1", "must be a string"},
      {R"({"type":"number"})", "1.5", ""},
      {R"({"type":"number"})", "3", ""},
      {R"({"type":"number"})", R"("1")", "must be a number"},
      {R"({"type":"number"})", "true", "must be a number"},
      {R"({"type":"boolean"})", "false", ""},
      {R"({"type":"boolean"})", "0", "must be a boolean"},
      {R"({"type":"null"})", "null", ""},
      {R"({"type":"null"})", "0", "must be null"},
      {R"({"type":"object"})", "{}", ""},
      {R"({"type":"object"})", "[]", "must be an object"},
      {R"({"type":"array"})", "[]", ""},
      {R"({"type":"array"})", "{}", "must be an array"},
      {R"({})", R"([1,"x",null])", ""},  // no type: anything
  });
}

// As in JSON Schema, "integer" means a number with no fractional part, however it is written:
// 3.0 is an integer.
TEST(PayloadSchemaValidate, IntegerVersusNumber) {
  RunValueCases({
      {R"({"type":"integer"})", "3", ""},
      {R"({"type":"integer"})", "3.0", ""},
      {R"({"type":"integer"})", "-7", ""},
      {R"({"type":"integer"})", "0", ""},
      {R"({"type":"integer"})", "18446744073709551615", ""},
      {R"({"type":"integer"})", "1e300", ""},
      {R"({"type":"integer"})", "3.5", "must be an integer"},
      {R"({"type":"integer"})", "-0.25", "must be an integer"},
      {R"({"type":"integer"})", "true", "must be an integer"},
      {R"({"type":"integer"})", R"("3")", "must be an integer"},
  });
}

TEST(PayloadSchemaValidate, TypeArrays) {
  RunValueCases({
      {R"({"type":["string","null"]})", R"("x")", ""},
      {R"({"type":["string","null"]})", "null", ""},
      {R"({"type":["string","null"]})", "1", "must be a string or null"},
      {R"({"type":["integer","string","boolean"]})", "1.5",
       "must be an integer, a string or a boolean"},
      {R"({"type":["integer","string","boolean"]})", "2.0", ""},
      {R"({"type":["string","string"]})", "1", "must be a string"},  // repeats said once
      {R"({"type":["array"]})", "{}", "must be an array"},
  });
}

TEST(PayloadSchemaValidate, EnumAndConst) {
  RunValueCases({
      {R"({"enum":["fast","full"]})", R"("fast")", ""},
      {R"({"enum":["fast","full"]})", R"("slow")", R"(must be one of "fast", "full")"},
      // JSON equality: 1 equals 1.0; objects and arrays compare by content.
      {R"({"enum":[1,"a",null,{"k":[1]}]})", "1.0", ""},
      {R"({"enum":[1,"a",null,{"k":[1]}]})", R"({"k":[1]})", ""},
      {R"({"enum":[1,"a",null,{"k":[1]}]})", "null", ""},
      {R"({"enum":[1,"a",null,{"k":[1]}]})", R"({"k":[2]})",
       R"(must be one of 1, "a", null, {"k":[1]})"},
      {R"({"enum":[2.0,2.5]})", "3", "must be one of 2, 2.5"},
      {R"({"enum":[1,2,3,4,5,6,7,8,9,10,11,12]})", "13",
       "must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (12 in all)"},
      {R"({"const":"report"})", R"("report")", ""},
      {R"({"const":"report"})", R"("x")", R"(must equal "report")"},
      {R"({"const":5.0})", "5", ""},
      {R"({"const":5.0})", "6", "must equal 5"},
      {R"({"const":{"a":1}})", R"({"a":2})", R"(must equal {"a":1})"},
      {R"({"const":null})", "false", "must equal null"},
      // Type is checked first, then enum, then const.
      {R"({"type":"string","enum":[1]})", "2", "must be a string"},
      {R"({"enum":[1,2],"const":1})", "3", "must be one of 1, 2"},
      {R"({"enum":[1,2],"const":1})", "2", "must equal 1"},
  });
}

TEST(PayloadSchemaValidate, NumberBounds) {
  RunValueCases({
      {R"({"minimum":1})", "1", ""},
      {R"({"minimum":1})", "0", "must be at least 1"},
      {R"({"minimum":1})", "0.5", "must be at least 1"},
      {R"({"minimum":-3.25})", "-4", "must be at least -3.25"},
      {R"({"maximum":1000})", "1000", ""},
      {R"({"maximum":1000})", "1001", "must be at most 1000"},
      {R"({"maximum":1000.0})", "1000.5", "must be at most 1000"},
      {R"({"exclusiveMinimum":0})", "0.001", ""},
      {R"({"exclusiveMinimum":0})", "0", "must be greater than 0"},
      {R"({"exclusiveMaximum":2.5})", "2.4", ""},
      {R"({"exclusiveMaximum":2.5})", "2.5", "must be less than 2.5"},
      {R"({"maximum":1e300})", "1e301", "must be at most 1e+300"},
      // Exact beyond 2^53, where doubles would round both sides to the same value.
      {R"({"maximum":9007199254740992})", "9007199254740993", "must be at most 9007199254740992"},
      {R"({"minimum":-1})", "18446744073709551615", ""},
      // Bounds say nothing about other types.
      {R"({"minimum":5})", R"("abc")", ""},
      {R"({"minimum":10,"exclusiveMinimum":20})", "5", "must be at least 10"},
      {R"({"type":"integer","maximum":10})", "10.0", ""},
  });
}

TEST(PayloadSchemaValidate, StringLengthInCodePoints) {
  RunValueCases({
      {R"({"minLength":2})", R"("ab")", ""},
      {R"({"minLength":2})", R"("a")", "must be at least 2 characters"},
      {R"({"minLength":1})", R"("")", "must be at least 1 character"},
      {R"({"maxLength":64})", "\"" + std::string(64, 'n') + "\"", ""},
      {R"({"maxLength":64})", "\"" + std::string(65, 'n') + "\"", "must be at most 64 characters"},
      {R"({"maxLength":1})", R"("é")", ""},    // 2 bytes, 1 code point
      {R"({"maxLength":3})", R"("été")", ""},  // 5 bytes
      {R"({"maxLength":3})", R"("étés")", "must be at most 3 characters"},
      {R"({"maxLength":2})", R"("😀😀")", ""},  // 8 bytes
      {R"({"maxLength":1})", R"("😀😀")", "must be at most 1 character"},
      {R"({"maxLength":1})", R"("\u00e9")", ""},  // escaped in the JSON text
      {R"({"maxLength":0})", R"("")", ""},
      {R"({"minLength":5})", "12", ""},  // lengths say nothing about numbers
  });
}

TEST(PayloadSchemaValidate, Arrays) {
  RunValueCases({
      {R"({"minItems":1})", "[1]", ""},
      {R"({"minItems":1})", "[]", "must have at least 1 item"},
      {R"({"minItems":2})", "[1]", "must have at least 2 items"},
      {R"({"maxItems":2})", "[1,2]", ""},
      {R"({"maxItems":2})", "[1,2,3]", "must have at most 2 items"},
      {R"({"items":{"type":"string"}})", R"(["a","b"])", ""},
      {R"({"minItems":3})", R"("abc")", ""},
  });
  // Counts before items.
  RunCases({
      {R"({"properties":{"tags":{"items":{"type":"string"},"maxItems":1}}})", R"({"tags":[1,2]})",
       "payload.tags: must have at most 1 item"},
      {R"({"properties":{"tags":{"items":{"type":"string"}}}})", R"({"tags":["a","b",3]})",
       "payload.tags[2]: must be a string"},
      {R"({"properties":{"m":{"items":{"items":{"type":"integer"}}}}})", R"({"m":[[1],[2,0.5]]})",
       "payload.m[1][1]: must be an integer"},
  });
}

TEST(PayloadSchemaValidate, Objects) {
  RunCases({
      {R"({"required":["url"]})", R"({"url":"x"})", ""},
      {R"({"required":["url"]})", R"({})", "payload.url: is required"},
      {R"({"required":["url"]})", R"({"url":null})", ""},  // present, even if null
      // Required before properties; required in the order written.
      {R"({"required":["url"],"properties":{"a":{"type":"string"}}})", R"({"a":1})",
       "payload.url: is required"},
      {R"({"required":["b","a"]})", R"({})", "payload.b: is required"},
      // Properties in sorted key order, whatever the order in the text.
      {R"({"properties":{"b":{"type":"string"},"a":{"type":"string"}}})", R"({"b":1,"a":2})",
       "payload.a: must be a string"},
      {R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1})", ""},
      {R"({"properties":{"a":{}},"additionalProperties":false})", R"({"a":1,"extra":2})",
       "payload.extra: is not allowed"},
      {R"({"properties":{"b":{"type":"string"}},"additionalProperties":false})", R"({"a":1,"b":2})",
       "payload.a: is not allowed"},
      {R"({"properties":{"a":{}},"additionalProperties":true})", R"({"a":1,"extra":2})", ""},
      {R"({"properties":{"a":{}}})", R"({"extra":2})", ""},
      {R"({"minProperties":1})", R"({})", "payload: must have at least 1 property"},
      {R"({"minProperties":2})", R"({"a":1})", "payload: must have at least 2 properties"},
      {R"({"maxProperties":1})", R"({"a":1})", ""},
      {R"({"maxProperties":1})", R"({"a":1,"b":2})", "payload: must have at most 1 property"},
      // Counts before required.
      {R"({"required":["a"],"minProperties":2})", R"({})",
       "payload: must have at least 2 properties"},
      // The root is an object schema whether or not it says so.
      {R"({})", R"([1])", "payload: must be an object"},
      {R"({"type":"object"})", R"("x")", "payload: must be an object"},
      {R"({"properties":{"o":{"required":["k"]}}})", R"({"o":{}})", "payload.o.k: is required"},
  });
}

TEST(PayloadSchemaValidate, Paths) {
  RunCases({
      {R"({"properties":{"items":{"type":"array","items":{"type":"object","properties":{
          "name":{"type":"string"}}}}}})",
       R"({"items":[{"name":"a"},{"name":"b"},{"name":3}]})",
       "payload.items[2].name: must be a string"},
      {R"({"properties":{"a b":{"type":"integer"}}})", R"({"a b":"x"})",
       R"(payload["a b"]: must be an integer)"},
      {R"({"properties":{"say \"hi\"":{"type":"integer"}}})", R"({"say \"hi\"":"x"})",
       R"(payload["say \"hi\""]: must be an integer)"},
      {R"({"properties":{"":{"type":"integer"}}})", R"({"":"x"})",
       R"(payload[""]: must be an integer)"},
      {R"({"properties":{"a.b":{"type":"integer"}}})", R"({"a.b":"x"})",
       R"(payload["a.b"]: must be an integer)"},
      {R"({"properties":{"é":{"type":"integer"}}})", R"({"é":"x"})",
       R"(payload["é"]: must be an integer)"},
      {R"({"properties":{"Plain_key-9":{"type":"integer"}}})", R"({"Plain_key-9":"x"})",
       "payload.Plain_key-9: must be an integer"},
      {R"({"required":["a b"]})", R"({})", R"(payload["a b"]: is required)"},
      {R"({"properties":{"x":{"properties":{"y z":{"additionalProperties":false}}}}})",
       R"({"x":{"y z":{"q":1}}})", R"(payload.x["y z"].q: is not allowed)"},
  });
}

TEST(PayloadSchemaParse, AcceptsAnnotationsAndIgnoresFormat) {
  auto schema = PayloadSchema::Parse(R"({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "$comment": "for the dashboard", "title": "Crawl", "description": "Crawls a site",
      "default": {"url": "https://example.com"}, "examples": [{"url": "https://a.example"}],
      "type": "object", "required": ["url"], "additionalProperties": false,
      "properties": {
        "url": {"type": "string", "format": "uri", "title": "URL", "default": 7},
        "pages": {"type": "integer", "minimum": 1, "maximum": 1000, "examples": [10]}
      }})",
                                     kField);
  ASSERT_TRUE(schema.ok()) << schema.status();
  // "format" is an annotation only: not a URI, still valid.
  EXPECT_TRUE(schema->Validate(json::parse(R"({"url":"not a uri"})")).ok());
  EXPECT_EQ(schema->Validate(json::parse(R"({"url":"x","pages":0})")).message(),
            "payload.pages: must be at least 1");
  PayloadSchema copy = *schema;  // copies share the checked schema
  EXPECT_EQ(copy.Validate(json::parse(R"({})")).message(), "payload.url: is required");
}

TEST(PayloadSchemaParse, Refusals) {
  RunParseCases({
      {R"([])", "payload_schema: must be an object"},
      {R"(true)", "payload_schema: must be an object"},
      {R"({"properties":{"pages":{"type":"integer","pattern":"x"}}})",
       R"(payload_schema.properties.pages: keyword "pattern" is not supported)"},
      {R"({"oneOf":[]})", R"(payload_schema: keyword "oneOf" is not supported)"},
      {R"({"$ref":"#/x"})", R"(payload_schema: keyword "$ref" is not supported)"},
      {R"({"zzz":1,"aaa":1})", R"(payload_schema: keyword "aaa" is not supported)"},
      {R"({"properties":{"a b":{"foo":1}}})",
       R"(payload_schema.properties["a b"]: keyword "foo" is not supported)"},
      {R"({"properties":{"a":{"items":{"uniqueItems":true}}}})",
       R"(payload_schema.properties.a.items: keyword "uniqueItems" is not supported)"},
      // Types.
      {R"({"type":"int"})", R"(payload_schema.type: unknown type "int")"},
      {R"({"type":["object","int"]})", R"(payload_schema.type[1]: unknown type "int")"},
      {R"({"type":[]})", "payload_schema.type: must not be empty"},
      {R"({"type":5})", "payload_schema.type: must be a string or an array of strings"},
      {R"({"type":["object",5]})", "payload_schema.type[1]: must be a string"},
      {R"({"properties":{"a":{"items":{"type":"strin"}}}})",
       R"(payload_schema.properties.a.items.type: unknown type "strin")"},
      // The root describes an object.
      {R"({"type":"object"})", ""},
      {R"({"type":["object","object"]})", ""},
      {R"({"type":"string"})", R"(payload_schema.type: must be "object" at the root)"},
      {R"({"type":["object","null"]})", R"(payload_schema.type: must be "object" at the root)"},
      // Keyword value types.
      {R"({"properties":{"pages":{"minimum":"1"}}})",
       "payload_schema.properties.pages.minimum: must be a number"},
      {R"({"properties":{"p":{"exclusiveMaximum":null}}})",
       "payload_schema.properties.p.exclusiveMaximum: must be a number"},
      {R"({"properties":{"a":{"maxLength":-1}}})",
       "payload_schema.properties.a.maxLength: must be a non-negative integer"},
      {R"({"properties":{"a":{"minLength":1.5}}})",
       "payload_schema.properties.a.minLength: must be a non-negative integer"},
      {R"({"properties":{"a":{"minItems":"3"}}})",
       "payload_schema.properties.a.minItems: must be a non-negative integer"},
      {R"({"maxProperties":true})", "payload_schema.maxProperties: must be a non-negative integer"},
      {R"({"properties":{"a":{"maxItems":2.0}}})", ""},
      {R"({"required":"a"})", "payload_schema.required: must be an array of strings"},
      {R"({"required":["a",1]})", "payload_schema.required[1]: must be a string"},
      {R"({"additionalProperties":{}})", "payload_schema.additionalProperties: must be a boolean"},
      {R"({"properties":[]})", "payload_schema.properties: must be an object"},
      {R"({"properties":{"a":true}})", "payload_schema.properties.a: must be an object"},
      {R"({"properties":{"a":{"items":[{}]}}})",
       "payload_schema.properties.a.items: must be an object"},
      {R"({"properties":{"a":{"enum":"x"}}})",
       "payload_schema.properties.a.enum: must be an array"},
      {R"({"properties":{"a":{"enum":[]}}})",
       "payload_schema.properties.a.enum: must not be empty"},
      {R"({"title":5})", "payload_schema.title: must be a string"},
      {R"({"$comment":1})", R"(payload_schema["$comment"]: must be a string)"},
      {R"({"properties":{"u":{"format":1}}})",
       "payload_schema.properties.u.format: must be a string"},
      {R"({"examples":{}})", "payload_schema.examples: must be an array"},
  });
}

TEST(PayloadSchemaParse, BadJson) {
  for (const std::string text : {"", "{", "{x}", "{\"a\":1,}", "{} {}", "{\"a\":1e400}"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<PayloadSchema> schema = PayloadSchema::Parse(text, kField);
    EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(schema.status().message(), "payload_schema: not valid JSON: "))
        << schema.status();
    EXPECT_FALSE(absl::StrContains(schema.status().message(), "[json.exception"))
        << schema.status();
  }
  EXPECT_EQ(PayloadSchema::Parse("{", kField).status().message(),
            "payload_schema: not valid JSON: parse error at line 1, column 2: syntax error while "
            "parsing object key - unexpected end of input; expected string literal");
}

TEST(PayloadSchemaParse, FieldPrefix) {
  EXPECT_EQ(
      PayloadSchema::Parse(R"({"type":"int"})", "templates[2].payload_schema").status().message(),
      R"(templates[2].payload_schema.type: unknown type "int")");
}

TEST(PayloadSchemaParse, Size) {
  const std::string at_limit = "{}" + std::string(PayloadSchema::kMaxSchemaBytes - 2, ' ');
  EXPECT_TRUE(PayloadSchema::Parse(at_limit, kField).ok());
  EXPECT_EQ(PayloadSchema::Parse(at_limit + " ", kField).status().message(),
            "payload_schema: must be at most 65536 bytes");
}

// {"default": [[...]]}: the root object is level 1, each array one more.
std::string NestedDefault(int arrays) {
  return R"({"default":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

// {"properties":{"a":{"properties":{"a":{...}}}}}: two levels per schema.
std::string NestedProperties(int schemas) {
  std::string text = "{}";
  for (int i = 1; i < schemas; ++i) text = R"({"properties":{"a":)" + text + "}}";
  return text;
}

TEST(PayloadSchemaParse, Depth) {
  const std::string too_deep = "payload_schema: objects and arrays must be nested at most 32 deep";
  RunParseCases({
      {NestedDefault(31), ""},
      {NestedDefault(32), too_deep},
      {NestedProperties(16), ""},  // 31 levels
      {NestedProperties(17), too_deep},
      // Far deeper than any stack would survive if parsing recursed.
      {NestedDefault(30000), too_deep},
  });
  // The deepest schema still applies: "payload" then fifteen ".a".
  std::string deepest = R"({"type":"string"})";
  for (int i = 1; i < 16; ++i) deepest = R"({"properties":{"a":)" + deepest + "}}";
  auto schema = PayloadSchema::Parse(deepest, kField);
  ASSERT_TRUE(schema.ok()) << schema.status();
  json payload = "x";
  for (int i = 0; i < 15; ++i) payload = json{{"a", payload}};
  EXPECT_TRUE(schema->Validate(payload).ok());
  std::string path = "payload";
  json* leaf = &payload;
  for (int i = 0; i < 15; ++i, leaf = &(*leaf)["a"]) path += ".a";
  *leaf = 1;
  EXPECT_EQ(schema->Validate(payload).message(), path + ": must be a string");
}

}  // namespace
}  // namespace jobd::core
