// Times and durations as the API's protobuf types, for tests (protobuf's own TimeUtil).
#pragma once

#include <cstdint>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "absl/time/time.h"

namespace jobd::test {

inline google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

inline absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
}

inline google::protobuf::Duration Millis(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToDuration(ms);
}

}  // namespace jobd::test
