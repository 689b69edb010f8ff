// What the tests of jobctl's request builders share: a message written in text format, the
// exact comparison of a built request with one, and the exact INVALID_ARGUMENT of a refusal.
#pragma once

#include <string>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace jobd::jobctl::builder_test {

// The message written in text format, for exact comparisons that read like the request.
template <typename Message>
Message Proto(const std::string& text) {
  Message message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

template <typename Message>
void ExpectProto(const absl::StatusOr<Message>& actual, const std::string& expected) {
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*actual, Proto<Message>(expected)))
      << "actual:\n"
      << actual->DebugString() << "expected:\n"
      << expected;
}

inline void ExpectError(const absl::Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
}

}  // namespace jobd::jobctl::builder_test
