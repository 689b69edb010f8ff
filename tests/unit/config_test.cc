#include "server/config.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "proto/common/local_address.h"

extern char** environ;

namespace jobd {
namespace {

TEST(IsLoopbackListen, LoopbackHostsWithOrWithoutPortAndUnixSockets) {
  for (const char* listen :
       {"127.0.0.1:50051", "127.0.0.1:0", "127.1.2.3:9", "localhost:50051", "LOCALHOST:1",
        "[::1]:50051", "::1", "127.0.0.1", "unix:/tmp/jobd.sock"}) {
    EXPECT_TRUE(IsLocalAddress(listen)) << listen;
  }
}

TEST(IsLoopbackListen, EverythingElseIsNot) {
  for (const char* listen : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "example.com:1",
                             "128.0.0.1:1", ":50051", ""}) {
    EXPECT_FALSE(IsLocalAddress(listen)) << listen;
  }
}

// LoadServerConfig may run once per process: it parses into absl's global flags and sets the
// program's usage message, which absl allows only once (a second call aborts). So each Load
// runs it in a forked child, which sends the status and the fields these tests check back
// through a pipe; JOBD_* variables of the environment running the tests are cleared there.
class LoadServerConfigTest : public ::testing::Test {
 protected:
  static absl::StatusOr<ServerConfig> Load(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) return absl::InternalError("pipe failed");
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      close(fds[0]);
      const std::string reply = RunInChild(std::move(args));
      size_t written = 0;
      while (written < reply.size()) {
        const ssize_t n = write(fds[1], reply.data() + written, reply.size() - written);
        if (n <= 0) _exit(2);
        written += static_cast<size_t>(n);
      }
      _exit(0);
    }
    close(fds[1]);
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) reply.append(buffer, n);
    close(fds[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
      return absl::InternalError(absl::StrCat("LoadServerConfig's child died: ", wstatus));
    }
    return Decode(reply);
  }

  static void ExpectError(const absl::StatusOr<ServerConfig>& config,
                          std::vector<std::string> mentions) {
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
    for (const std::string& text : mentions) {
      EXPECT_TRUE(absl::StrContains(config.status().message(), text))
          << config.status() << " does not mention " << text;
    }
  }

 private:
  static std::string Exact(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
  }

  static std::string RunInChild(std::vector<std::string> args) {
    std::vector<std::string> names;
    for (char** env = environ; *env != nullptr; ++env) {
      const std::string entry = *env;
      if (absl::StartsWith(entry, "JOBD_")) names.push_back(entry.substr(0, entry.find('=')));
    }
    for (const std::string& name : names) unsetenv(name.c_str());
    args.insert(args.begin(), "jobd");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const absl::StatusOr<ServerConfig> config =
        LoadServerConfig(static_cast<int>(args.size()), argv.data());
    std::vector<std::string> fields = {absl::StrCat(static_cast<int>(config.status().code())),
                                       std::string(config.status().message())};
    if (config.ok()) {
      const ServerConfig& c = *config;
      fields.insert(
          fields.end(),
          {c.command, c.listen, c.allow_insecure_listen ? "1" : "0", c.tls.cert_file,
           c.tls.key_file, c.tls.client_ca_file,
           absl::StrCat(c.quotas.max_active_jobs_per_workspace),
           Exact(c.quotas.create_rate_per_key), Exact(c.quotas.create_burst_per_key), c.keys.action,
           c.keys.id, c.keys.role, c.keys.workspace_id, c.keys.name,
           c.keys.expire_in ? absl::FormatDuration(*c.keys.expire_in) : "none", c.keys.key_file});
    }
    return absl::StrJoin(fields, std::string(1, '\0'));
  }

  static absl::StatusOr<ServerConfig> Decode(const std::string& reply) {
    const std::vector<std::string> f = absl::StrSplit(reply, '\0');
    if (f.size() < 2) return absl::InternalError("short reply from LoadServerConfig's child");
    const auto code = static_cast<absl::StatusCode>(std::stoi(f[0]));
    if (code != absl::StatusCode::kOk) return absl::Status(code, f[1]);
    if (f.size() != 18) return absl::InternalError("bad reply from LoadServerConfig's child");
    ServerConfig c;
    c.command = f[2];
    c.listen = f[3];
    c.allow_insecure_listen = f[4] == "1";
    c.tls.cert_file = f[5];
    c.tls.key_file = f[6];
    c.tls.client_ca_file = f[7];
    c.quotas.max_active_jobs_per_workspace = std::stoll(f[8]);
    c.quotas.create_rate_per_key = std::strtod(f[9].c_str(), nullptr);
    c.quotas.create_burst_per_key = std::strtod(f[10].c_str(), nullptr);
    c.keys.action = f[11];
    c.keys.id = f[12];
    c.keys.role = f[13];
    c.keys.workspace_id = f[14];
    c.keys.name = f[15];
    if (f[16] != "none") {
      absl::Duration d;
      if (!absl::ParseDuration(f[16], &d)) return absl::InternalError("bad expire_in");
      c.keys.expire_in = d;
    }
    c.keys.key_file = f[17];
    return c;
  }
};

TEST_F(LoadServerConfigTest, DefaultsServeOnLoopbackWithoutTlsOrQuotas) {
  const absl::StatusOr<ServerConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, "serve");
  EXPECT_EQ(config->listen, "127.0.0.1:50051");
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_FALSE(config->allow_insecure_listen);
  EXPECT_EQ(config->quotas.max_active_jobs_per_workspace, 0);
  EXPECT_EQ(config->quotas.create_rate_per_key, 0);
  EXPECT_EQ(config->quotas.create_burst_per_key, 0);
}

TEST_F(LoadServerConfigTest, TlsCertWithoutKeyNamesBothFlags) {
  ExpectError(Load({"--tls_cert_file=/etc/jobd/cert.pem"}), {"tls_cert_file", "tls_key_file"});
}

TEST_F(LoadServerConfigTest, TlsKeyWithoutCertNamesBothFlags) {
  ExpectError(Load({"--tls_key_file=/etc/jobd/key.pem"}), {"tls_cert_file", "tls_key_file"});
}

TEST_F(LoadServerConfigTest, TlsClientCaWithoutCertIsAnError) {
  ExpectError(Load({"--tls_client_ca_file=/etc/jobd/ca.pem"}), {"tls_client_ca_file"});
}

TEST_F(LoadServerConfigTest, TlsAllowsANonLoopbackListen) {
  // LoadServerConfig opens no socket and reads no file: the paths need not exist.
  const absl::StatusOr<ServerConfig> config =
      Load({"--listen=0.0.0.0:50051", "--tls_cert_file=/nonexistent/cert.pem",
            "--tls_key_file=/nonexistent/key.pem", "--tls_client_ca_file=/nonexistent/ca.pem"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:50051");
  EXPECT_TRUE(config->tls.enabled());
  EXPECT_EQ(config->tls.cert_file, "/nonexistent/cert.pem");
  EXPECT_EQ(config->tls.key_file, "/nonexistent/key.pem");
  EXPECT_EQ(config->tls.client_ca_file, "/nonexistent/ca.pem");
}

TEST_F(LoadServerConfigTest, PlaintextNonLoopbackListenIsRefused) {
  ExpectError(Load({"--listen=0.0.0.0:50051"}),
              {"listen", "0.0.0.0:50051", "--allow_insecure_listen"});
}

TEST_F(LoadServerConfigTest, PlaintextNonLoopbackListenWithAllowInsecureListen) {
  const absl::StatusOr<ServerConfig> config =
      Load({"--listen=0.0.0.0:50051", "--allow_insecure_listen"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:50051");
  EXPECT_TRUE(config->allow_insecure_listen);
  EXPECT_FALSE(config->tls.enabled());
}

TEST_F(LoadServerConfigTest, KeysCreateParsesItsFlags) {
  const absl::StatusOr<ServerConfig> config =
      Load({"keys", "create", "--role", "member", "--workspace", "w", "--name", "n", "--expire_in",
            "1h"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, "keys");
  EXPECT_EQ(config->keys.action, "create");
  EXPECT_EQ(config->keys.role, "member");
  EXPECT_EQ(config->keys.workspace_id, "w");
  EXPECT_EQ(config->keys.name, "n");
  EXPECT_EQ(config->keys.expire_in, absl::Hours(1));
  EXPECT_EQ(config->keys.key_file, "");
}

TEST_F(LoadServerConfigTest, KeysCreateWithoutExpireInNeverExpires) {
  const absl::StatusOr<ServerConfig> config =
      Load({"keys", "create", "--role=admin", "--name=root", "--key_file=/tmp/k"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->keys.role, "admin");
  EXPECT_EQ(config->keys.workspace_id, "");
  EXPECT_EQ(config->keys.expire_in, std::nullopt);
  EXPECT_EQ(config->keys.key_file, "/tmp/k");
}

TEST_F(LoadServerConfigTest, KeysListAndRevoke) {
  const absl::StatusOr<ServerConfig> list = Load({"keys", "list"});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->keys.action, "list");
  const absl::StatusOr<ServerConfig> revoke = Load({"keys", "revoke", "key-id-1"});
  ASSERT_TRUE(revoke.ok()) << revoke.status();
  EXPECT_EQ(revoke->keys.action, "revoke");
  EXPECT_EQ(revoke->keys.id, "key-id-1");
}

TEST_F(LoadServerConfigTest, KeysRevokeWithoutAnIdIsAnError) {
  ExpectError(Load({"keys", "revoke"}), {"revoke"});
}

TEST_F(LoadServerConfigTest, KeysUnknownActionIsAnError) {
  ExpectError(Load({"keys", "frob"}), {"frob"});
  ExpectError(Load({"keys"}), {"keys"});
}

TEST_F(LoadServerConfigTest, NegativeMaxActiveJobsPerWorkspaceIsAnError) {
  ExpectError(Load({"--max_active_jobs_per_workspace=-1"}), {"max_active_jobs_per_workspace"});
}

TEST_F(LoadServerConfigTest, NegativeCreateRateIsAnError) {
  ExpectError(Load({"--create_rate_per_key=-1"}), {"create_rate_per_key"});
}

TEST_F(LoadServerConfigTest, ABurstBelowOneIsAnError) {
  ExpectError(Load({"--create_rate_per_key=2", "--create_burst_per_key=0.5"}),
              {"create_burst_per_key"});
}

TEST_F(LoadServerConfigTest, QuotasParsed) {
  const absl::StatusOr<ServerConfig> config =
      Load({"--create_rate_per_key", "2.5", "--create_burst_per_key=10",
            "--max_active_jobs_per_workspace=1000"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->quotas.create_rate_per_key, 2.5);
  EXPECT_EQ(config->quotas.create_burst_per_key, 10);
  EXPECT_EQ(config->quotas.max_active_jobs_per_workspace, 1000);
}

TEST_F(LoadServerConfigTest, FlagsDoNotLeakBetweenLoads) {
  // Runs after the tests above in file order: their flags stayed in their children.
  const absl::StatusOr<ServerConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:50051");
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_EQ(config->quotas.create_rate_per_key, 0);
}

}  // namespace
}  // namespace jobd
