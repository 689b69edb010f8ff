#include "server/config.h"

#include <gtest/gtest.h>

namespace jobd {
namespace {

TEST(IsLoopbackListen, LoopbackHostsWithOrWithoutPortAndUnixSockets) {
  for (const char* listen : {"127.0.0.1:50051", "127.0.0.1:0", "127.1.2.3:9", "localhost:50051",
                             "LOCALHOST:1", "[::1]:50051", "::1", "127.0.0.1",
                             "unix:/tmp/jobd.sock"}) {
    EXPECT_TRUE(IsLoopbackListen(listen)) << listen;
  }
}

TEST(IsLoopbackListen, EverythingElseIsNot) {
  for (const char* listen : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "example.com:1",
                             "128.0.0.1:1", ":50051", ""}) {
    EXPECT_FALSE(IsLoopbackListen(listen)) << listen;
  }
}

}  // namespace
}  // namespace jobd
