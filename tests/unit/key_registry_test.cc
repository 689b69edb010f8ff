// API key secrets, hashes and prefixes, and KeyRegistry (server/core/key_registry.cc): who a
// secret authenticates as, refusals of unknown, revoked and expired keys, and the order in
// which concurrent versions of one key are applied.
#include "server/core/key_registry.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "db/model/api_key.h"
#include "server/core/streams_by_key.h"
#include "tests/support/test_clock.h"

namespace jobd::core {
namespace {

using test::kNow;

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A key as the store would return it, for `secret`.
ApiKey KeyFor(const std::string& secret, int64_t change_seq) {
  ApiKey key;
  key.id = "0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81";
  key.name = "alice";
  key.role = Role::kMember;
  key.workspace_id = "ws1";
  key.key_hash = HashApiKey(secret);
  key.key_prefix = ApiKeyPrefix(secret);
  key.created_by = "root";
  key.create_time = kNow - absl::Hours(24);
  key.change_seq = change_seq;
  return key;
}

TEST(NewApiKeySecret, IsJobdAnd43Base64UrlChars) {
  const std::string secret = NewApiKeySecret();
  ASSERT_EQ(secret.size(), 5u + 43u) << secret;
  EXPECT_TRUE(absl::StartsWith(secret, "jobd_")) << secret;
  for (char c : secret.substr(5)) EXPECT_TRUE(IsBase64UrlChar(c)) << secret;
}

TEST(NewApiKeySecret, TwoCallsDiffer) { EXPECT_NE(NewApiKeySecret(), NewApiKeySecret()); }

TEST(HashApiKey, Is32BytesAndDeterministic) {
  const std::string secret = NewApiKeySecret();
  EXPECT_EQ(HashApiKey(secret).size(), 32u);
  EXPECT_EQ(HashApiKey(secret), HashApiKey(secret));
  EXPECT_NE(HashApiKey(secret), HashApiKey(secret + "x"));
  EXPECT_EQ(HashApiKey("").size(), 32u);
}

TEST(ApiKeyPrefix, IsTheFirst12Chars) {
  EXPECT_EQ(ApiKeyPrefix("jobd_AbCdEfGhIjKlMn"), "jobd_AbCdEfG");
  const std::string secret = NewApiKeySecret();
  EXPECT_EQ(ApiKeyPrefix(secret), secret.substr(0, 12));
}

TEST(KeyRegistry, UnknownKeyIsUnauthenticated) {
  KeyRegistry registry;
  EXPECT_EQ(registry.Authenticate(NewApiKeySecret(), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
  registry.Apply({KeyFor(NewApiKeySecret(), 1)}, /*from_feed=*/false);
  EXPECT_EQ(registry.Authenticate(NewApiKeySecret(), kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(registry.Authenticate("", kNow).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(KeyRegistry, ValidMemberKeyAuthenticatesAsItsPrincipal) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  registry.Apply({KeyFor(secret, 1)}, /*from_feed=*/false);
  EXPECT_EQ(registry.size(), 1u);
  const absl::StatusOr<Principal> principal = registry.Authenticate(secret, kNow);
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->name, "alice");
  EXPECT_EQ(principal->role, Role::kMember);
  EXPECT_EQ(principal->workspace_id, "ws1");
  EXPECT_EQ(principal->key_id, "0190f3a6-7d3c-7b1e-9a4f-2c8d5e6f7a81");
}

TEST(KeyRegistry, RevokedKeyIsUnauthenticatedSayingRevoked) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  ApiKey key = KeyFor(secret, 2);
  key.revoke_time = kNow - absl::Minutes(1);
  registry.Apply({key}, /*from_feed=*/false);
  const absl::StatusOr<Principal> principal = registry.Authenticate(secret, kNow);
  ASSERT_FALSE(principal.ok());
  EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(principal.status().message(), "revoked")) << principal.status();
}

TEST(KeyRegistry, ExpiredKeyIsUnauthenticatedSayingExpiredAndWorksBefore) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  ApiKey key = KeyFor(secret, 1);
  key.expire_time = kNow + absl::Hours(1);
  registry.Apply({key}, /*from_feed=*/false);

  EXPECT_TRUE(registry.Authenticate(secret, kNow).ok());
  EXPECT_TRUE(registry.Authenticate(secret, kNow + absl::Hours(1) - absl::Microseconds(1)).ok());
  for (absl::Time now : {kNow + absl::Hours(1), kNow + absl::Hours(2)}) {  // expire_time <= now
    const absl::StatusOr<Principal> principal = registry.Authenticate(secret, now);
    ASSERT_FALSE(principal.ok()) << now;
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_TRUE(absl::StrContains(principal.status().message(), "expired")) << principal.status();
  }
}

TEST(KeyRegistry, OlderChangeNeverReplacesNewer) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  ApiKey revoked = KeyFor(secret, 5);
  revoked.revoke_time = kNow - absl::Minutes(1);
  registry.Apply({revoked}, /*from_feed=*/false);

  // An old, unrevoked copy (e.g. from a feed read that started before the revocation).
  registry.Apply({KeyFor(secret, 3)}, /*from_feed=*/true);
  registry.Apply({KeyFor(secret, 4)}, /*from_feed=*/false);
  EXPECT_EQ(registry.size(), 1u);
  const absl::StatusOr<Principal> principal = registry.Authenticate(secret, kNow);
  ASSERT_FALSE(principal.ok());
  EXPECT_TRUE(absl::StrContains(principal.status().message(), "revoked")) << principal.status();
}

TEST(KeyRegistry, NewerChangeReplacesOlder) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  registry.Apply({KeyFor(secret, 1)}, /*from_feed=*/false);
  ASSERT_TRUE(registry.Authenticate(secret, kNow).ok());
  ApiKey revoked = KeyFor(secret, 2);
  revoked.revoke_time = kNow;
  registry.Apply({revoked}, /*from_feed=*/true);
  EXPECT_EQ(registry.Authenticate(secret, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(KeyRegistry, FeedAdvancesLastChangeToTheMaxSeen) {
  KeyRegistry registry;
  EXPECT_EQ(registry.last_change(), 0);
  registry.Apply(
      {KeyFor(NewApiKeySecret(), 3), KeyFor(NewApiKeySecret(), 7), KeyFor(NewApiKeySecret(), 5)},
      /*from_feed=*/true);
  EXPECT_EQ(registry.last_change(), 7);
  EXPECT_EQ(registry.size(), 3u);
  registry.Apply({KeyFor(NewApiKeySecret(), 6)}, /*from_feed=*/true);  // lower: no move back
  EXPECT_EQ(registry.last_change(), 7);
  registry.Apply({}, /*from_feed=*/true);
  EXPECT_EQ(registry.last_change(), 7);
  registry.Apply({KeyFor(NewApiKeySecret(), 9)}, /*from_feed=*/true);
  EXPECT_EQ(registry.last_change(), 9);
}

TEST(KeyRegistry, NonFeedApplyNeverMovesLastChange) {
  KeyRegistry registry;
  registry.Apply({KeyFor(NewApiKeySecret(), 100)}, /*from_feed=*/false);
  EXPECT_EQ(registry.last_change(), 0);
  registry.Apply({KeyFor(NewApiKeySecret(), 4)}, /*from_feed=*/true);
  EXPECT_EQ(registry.last_change(), 4);
  registry.Apply({KeyFor(NewApiKeySecret(), 200)}, /*from_feed=*/false);
  EXPECT_EQ(registry.last_change(), 4);
  EXPECT_EQ(registry.size(), 3u);
}

TEST(KeyRegistry, TellsTheListenerOnceWhenAKnownKeyBecomesRevoked) {
  KeyRegistry registry;
  std::vector<std::string> revoked;
  registry.SetRevocationListener([&](const std::string& id) { revoked.push_back(id); });
  const std::string secret = NewApiKeySecret();
  registry.Apply({KeyFor(secret, 1)}, /*from_feed=*/true);
  EXPECT_TRUE(revoked.empty());
  ApiKey gone = KeyFor(secret, 2);
  gone.revoke_time = kNow;
  registry.Apply({gone}, /*from_feed=*/false);  // this process revoked it
  registry.Apply({gone}, /*from_feed=*/true);   // then the feed brings the same change
  EXPECT_EQ(revoked, std::vector<std::string>{gone.id});
}

TEST(StreamsByKey, RevokedEndsOnlyThatKeysStreamsOnce) {
  StreamsByKey streams;
  std::vector<std::string> ended;
  auto end = [&](const std::string& name) {
    return [&ended, name](const absl::Status& status) {
      EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
      ended.push_back(name);
    };
  };
  absl::Status refused;
  streams.Add("k1", "one", end("a"), &refused);
  const uint64_t b = streams.Add("k1", "one", end("b"), &refused);
  streams.Add("k2", "two", end("c"), &refused);
  streams.Remove(b);  // finished before the revocation
  streams.Revoked("k1");
  streams.Revoked("k1");
  EXPECT_EQ(ended, std::vector<std::string>{"a"});
  EXPECT_EQ(streams.size(), 1u);
  streams.Revoked("k2");
  EXPECT_EQ(ended, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(streams.size(), 0u);
}

TEST(KeyRegistry, CheckStillValidFollowsRevocationAndExpiryById) {
  KeyRegistry registry;
  const std::string secret = NewApiKeySecret();
  ApiKey key = KeyFor(secret, 1);
  key.expire_time = kNow + absl::Hours(1);
  registry.Apply({key}, /*from_feed=*/true);
  EXPECT_TRUE(registry.CheckStillValid(key.id, kNow).ok());
  EXPECT_EQ(registry.CheckStillValid(key.id, kNow + absl::Hours(2)).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(registry.CheckStillValid("0190f3a6-0000-7000-8000-000000000000", kNow).code(),
            absl::StatusCode::kUnauthenticated);
  key.change_seq = 2;
  key.revoke_time = kNow;
  registry.Apply({key}, /*from_feed=*/true);
  EXPECT_EQ(registry.CheckStillValid(key.id, kNow).code(), absl::StatusCode::kUnauthenticated);
}

TEST(StreamsByKey, AStreamOfAKeyRevokedBeforeItRegistersIsRefused) {
  StreamsByKey streams;
  streams.Revoked("k1");
  bool ended = false;
  absl::Status refused;
  EXPECT_EQ(streams.Add(
                "k1", "one", [&](const absl::Status&) { ended = true; }, &refused),
            0u);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(ended);  // the caller ends it
  EXPECT_EQ(streams.size(), 0u);
  EXPECT_NE(streams.Add(
                "k2", "two", [](const absl::Status&) {}, &refused),
            0u);
}

TEST(StreamsByKey, AKeyMayOpenExactlyMaxPerKeyStreams) {
  StreamsByKey streams(/*max_per_key=*/2);
  absl::Status refused;
  auto nothing = [](const absl::Status&) {};
  const uint64_t first = streams.Add("k1", "one", nothing, &refused);
  EXPECT_NE(first, 0u);
  EXPECT_NE(streams.Add("k1", "one", nothing, &refused), 0u);
  EXPECT_EQ(streams.Add("k1", "one", nothing, &refused), 0u);
  EXPECT_EQ(refused, absl::ResourceExhaustedError(
                         "quota: API key \"one\" may have 2 watch streams open on one jobd "
                         "(--max_streams_per_key); end one first"));
  EXPECT_NE(streams.Add("k2", "two", nothing, &refused), 0u);  // another key's share
  streams.Remove(first);
  EXPECT_NE(streams.Add("k1", "one", nothing, &refused), 0u);  // room again
  EXPECT_EQ(streams.size(), 3u);
}

TEST(KeyRegistry, ExpireDueReportsEachExpiredKeyOnce) {
  KeyRegistry registry;
  std::vector<std::string> ended;
  registry.SetRevocationListener([&](const std::string& id) { ended.push_back(id); });
  ApiKey soon = KeyFor(NewApiKeySecret(), 1);
  soon.id = "0190f3a6-0000-7000-8000-000000000001";
  soon.expire_time = kNow + absl::Minutes(1);
  ApiKey later = KeyFor(NewApiKeySecret(), 2);
  later.id = "0190f3a6-0000-7000-8000-000000000002";
  later.expire_time = kNow + absl::Hours(1);
  ApiKey never = KeyFor(NewApiKeySecret(), 3);
  never.id = "0190f3a6-0000-7000-8000-000000000003";
  registry.Apply({soon, later, never}, /*from_feed=*/true);
  registry.ExpireDue(kNow);
  EXPECT_TRUE(ended.empty());
  registry.ExpireDue(kNow + absl::Minutes(1));
  registry.ExpireDue(kNow + absl::Minutes(2));
  EXPECT_EQ(ended, std::vector<std::string>{soon.id});
  registry.ExpireDue(kNow + absl::Hours(2));
  EXPECT_EQ(ended, (std::vector<std::string>{soon.id, later.id}));
}

}  // namespace
}  // namespace jobd::core
