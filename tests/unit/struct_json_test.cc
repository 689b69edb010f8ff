// StructToJson (server/api/convert.cc): a payload or result is stored as the JSON it was
// sent as, or refused with INVALID_ARGUMENT naming the field and where in it the value is;
// never changed on the way (protobuf's printer would drop or stringify these).
#include <cmath>
#include <limits>

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "server/api/convert.h"

namespace jobd::api {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

TEST(StructToJson, KeepsOrdinaryValues) {
  Struct payload;
  (*payload.mutable_fields())["n"].set_number_value(1.5);
  (*payload.mutable_fields())["s"].set_string_value("'; DROP TABLE jobs; --\"\\");
  (*payload.mutable_fields())["z"].set_null_value(google::protobuf::NULL_VALUE);
  (*payload.mutable_fields())["l"].mutable_list_value()->add_values()->set_bool_value(true);
  absl::StatusOr<std::string> json = StructToJson(payload, "payload");
  ASSERT_TRUE(json.ok()) << json.status();
  // Map order is protobuf's; compare as JSON values.
  EXPECT_EQ(
      nlohmann::json::parse(*json),
      nlohmann::json::parse(R"({"l":[true],"n":1.5,"s":"'; DROP TABLE jobs; --\"\\","z":null})"));
}

TEST(StructToJson, RefusesNonFiniteNumbers) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    Struct payload;
    (*payload.mutable_fields())["a"]
        .mutable_struct_value()
        ->mutable_fields()
        ->
        operator[]("b")
        .set_number_value(bad);
    absl::StatusOr<std::string> json = StructToJson(payload, "payload");
    EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(json.status().message(), "payload: value at .a.b is "))
        << json.status();
  }
}

TEST(StructToJson, RefusesValuesWithoutAKind) {
  Struct in_struct;
  (*in_struct.mutable_fields())["a"];  // no kind
  EXPECT_EQ(StructToJson(in_struct, "result").status().message(),
            "result: value at .a has no kind set (null, number, string, bool, struct or list)");

  Struct in_list;
  Value* list = &(*in_list.mutable_fields())["l"];
  list->mutable_list_value()->add_values()->set_number_value(1);
  list->mutable_list_value()->add_values();  // no kind
  EXPECT_TRUE(absl::StartsWith(StructToJson(in_list, "payload").status().message(),
                               "payload: value at .l[1] has no kind set"));
}

TEST(StructToJson, RefusesUnknownFields) {
  Struct payload;
  Value* value = &(*payload.mutable_fields())["l"];
  value->mutable_list_value();
  // A ListValue holding only an unknown field (number 2, varint 5), as a client could send.
  value->mutable_list_value()
      ->GetReflection()
      ->MutableUnknownFields(value->mutable_list_value())
      ->AddVarint(2, 5);
  absl::StatusOr<std::string> json = StructToJson(payload, "payload");
  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(json.status().message(), "unknown")) << json.status();
}

}  // namespace
}  // namespace jobd::api
