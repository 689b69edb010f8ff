// Page tokens: round trip, and refusal when altered or reused with other filters.
#include "server/core/page_token.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "server/core/job_manager.h"

namespace jobd::core {
namespace {

const char kId[] = "01a201e7-5c53-7000-bf26-50a897f50418";

TEST(PageToken, RoundTrip) {
  PageTokenCodec codec("key");
  const std::string token = codec.Encode(kId, "query");
  auto id = codec.Decode(token, "query");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, kId);
}

TEST(PageToken, OtherQueryIsRefused) {
  PageTokenCodec codec("key");
  auto id = codec.Decode(codec.Encode(kId, "query"), "other");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(), "page_token: was issued for a query with other filters");
}

TEST(PageToken, EveryAlteredByteIsRefused) {
  PageTokenCodec codec("key");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(codec.Encode(kId, "q"), &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string altered = raw;
    altered[i] ^= 0x01;
    auto id = codec.Decode(absl::WebSafeBase64Escape(altered), "q");
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << "byte " << i;
  }
}

TEST(PageToken, GarbageAndOtherKeyAreRefused) {
  PageTokenCodec codec("key");
  for (std::string bad : {"", "x", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    EXPECT_EQ(codec.Decode(bad, "q").status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  PageTokenCodec other("another key");
  EXPECT_EQ(other.Decode(codec.Encode(kId, "q"), "q").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Key sync replaces the ring's set while calls decode: every token signed by a key that stays in
// every set verifies, however the swaps interleave (under ASan this also catches a decoder that
// reads a set after its last owner let it go).
TEST(PageToken, DecodesWhileTheKeysAreReplaced) {
  auto ring = std::make_shared<PageTokenKeyring>(std::vector<std::string>{"signing"});
  PageTokenCodec codec(ring);
  const std::string token = codec.Encode(kId, "query");
  std::atomic<bool> done{false};
  std::thread swapper([&] {
    for (int i = 0; !done; ++i) {
      ring->Set(i % 2 == 0 ? std::vector<std::string>{"signing", "older"}
                           : std::vector<std::string>{"signing"});
    }
  });
  int refused = 0;
  for (int i = 0; i < 200000; ++i) {
    if (!codec.Decode(token, "query").ok()) ++refused;
  }
  done = true;
  swapper.join();
  EXPECT_EQ(refused, 0);
}

TEST(ListQueryFingerprint, BindsFiltersButNotPageSize) {
  ListJobsCommand a;
  a.workspace_id = "demo";
  a.states = {JobState::kQueued, JobState::kRunning};
  ListJobsCommand b = a;
  b.states = {JobState::kRunning, JobState::kQueued};
  b.page_size = 7;
  EXPECT_EQ(ListQueryFingerprint(a), ListQueryFingerprint(b));
  b.type = "x";
  EXPECT_NE(ListQueryFingerprint(a), ListQueryFingerprint(b));
  b = a;
  b.labels["k"] = "v";
  EXPECT_NE(ListQueryFingerprint(a), ListQueryFingerprint(b));
  b = a;
  b.workspace_id = "demo2";
  EXPECT_NE(ListQueryFingerprint(a), ListQueryFingerprint(b));
  // No states means all states: the same query as listing all seven explicitly.
  ListJobsCommand none;
  none.workspace_id = "demo";
  ListJobsCommand all = none;
  all.states = {JobState::kScheduled, JobState::kQueued, JobState::kRunning,
                JobState::kSucceeded, JobState::kFailed, JobState::kCancelled,
                JobState::kPaused};
  EXPECT_EQ(ListQueryFingerprint(none), ListQueryFingerprint(all));
}

}  // namespace
}  // namespace jobd::core
