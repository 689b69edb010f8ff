#include "server/config.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/common/local_address.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port to serve gRPC on (JOBD_LISTEN)");
ABSL_FLAG(std::string, listen_port_file, "",
          "write the bound port to this file once serving (for port 0)");
ABSL_FLAG(
    std::string, http_listen, "127.0.0.1:8080",
    "host:port to serve the HTTP/JSON API and the dashboard on; empty: no HTTP (JOBD_HTTP_LISTEN)");
ABSL_FLAG(std::string, http_port_file, "",
          "write the bound HTTP port to this file once serving (for port 0)");
ABSL_FLAG(
    std::string, http_cors_origins, "",
    "comma-separated origins allowed to call the HTTP API from a browser (CORS); empty: none");
ABSL_FLAG(int32_t, http_threads, 2, "threads that run the HTTP listener's I/O");
ABSL_FLAG(absl::Duration, http_read_timeout, absl::Seconds(30),
          "longest wait for an HTTP request (its headers and body), or for the next one on an "
          "idle connection");
ABSL_FLAG(absl::Duration, http_sse_heartbeat, absl::Seconds(15),
          "a comment line on an event stream quiet this long, so that proxies keep it open");
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string or URI; empty uses libpq's PG* defaults (JOBD_DATABASE_URL)");
ABSL_FLAG(int32_t, pool_size, 0, "database connections; 0 = 2 per core + 4 (JOBD_POOL_SIZE)");
ABSL_FLAG(int32_t, background_pool_size, 2,
          "database connections of the lease reaper, promoter and retention, apart from the "
          "requests' pool (key sync has one more of its own)");
ABSL_FLAG(absl::Duration, statement_timeout, absl::Seconds(30),
          "PostgreSQL statement_timeout of jobd's connections (0 = none); a call's own deadline "
          "stops its statements sooner");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error (JOBD_LOG_LEVEL)");
ABSL_FLAG(int32_t, rpc_threads, 0, "threads for blocking RPC work; 0 = pool_size");
ABSL_FLAG(int32_t, create_committers, 0,
          "CreateJob group-commit transactions in flight; 0 = half the pool, at least 2");
ABSL_FLAG(int32_t, create_batch_size, 128, "most jobs one CreateJob transaction inserts");
ABSL_FLAG(std::string, page_token_key, "",
          "HMAC key of page tokens; empty (the default): the installation's random keys, made by "
          "jobd migrate and kept in the database (rotate with jobd keys rotate-page-token-key)");
ABSL_FLAG(bool, allow_insecure_listen, false,
          "serve plaintext gRPC on a non-loopback --listen address (refused otherwise)");
ABSL_FLAG(int64_t, max_request_bytes, 0,
          "largest request message; 0 = the larger of max_payload_bytes + 256 KiB and 8 MiB. "
          "gRPC refuses a larger one with RESOURCE_EXHAUSTED before parsing it");
ABSL_FLAG(int64_t, max_payload_bytes, 256 * 1024, "largest payload/result, as JSON bytes");
ABSL_FLAG(int32_t, max_page_size, 500, "largest page_size of list calls");
ABSL_FLAG(int32_t, max_labels, 32, "most labels per job");
ABSL_FLAG(int64_t, max_text_bytes, 4096, "longest message text or cancel reason");
ABSL_FLAG(int32_t, max_type_length, 128, "longest job type");
ABSL_FLAG(int32_t, max_workspace_id_length, 64, "longest workspace id");
ABSL_FLAG(absl::Duration, max_ttl, absl::Hours(24 * 365), "longest ttl of a job");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(60), "longest AcquireJobs wait");
ABSL_FLAG(absl::Duration, health_interval, absl::Seconds(1), "database health probe interval");
ABSL_FLAG(absl::Duration, retention_interval, absl::Minutes(1),
          "how often finished jobs past their ttl are deleted (JOBD_RETENTION_INTERVAL)");
ABSL_FLAG(int64_t, retain_finished_per_workspace, 0,
          "keep at most this many finished jobs per workspace, deleting the oldest first at "
          "each retention pass; 0: no limit (JOBD_RETAIN_FINISHED_PER_WORKSPACE)");
ABSL_FLAG(bool, metrics, true,
          "serve Prometheus metrics at GET /metrics on the HTTP listener (JOBD_METRICS)");
ABSL_FLAG(
    absl::Duration, metrics_refresh_interval, absl::Seconds(15),
    "how often the job counts per queue are read for /metrics (JOBD_METRICS_REFRESH_INTERVAL)");
ABSL_FLAG(int64_t, metrics_max_label_values, 100,
          "distinct workspaces, and types, with label values of their own in /metrics; the "
          "rest are \"other\" (JOBD_METRICS_MAX_LABEL_VALUES)");
ABSL_FLAG(absl::Duration, reaper_interval, absl::Seconds(1),
          "how often expired leases and timed-out attempts are failed");
ABSL_FLAG(absl::Duration, promote_interval, absl::Milliseconds(500),
          "how often SCHEDULED jobs whose run_after passed become QUEUED");
ABSL_FLAG(absl::Duration, schedule_poll_interval, absl::Seconds(1),
          "longest sleep of the schedule loop: how soon a schedule made or resumed on another "
          "jobd is seen (runs are fired at their time, not on this beat)");
ABSL_FLAG(absl::Duration, notify_min_gap, absl::Milliseconds(2),
          "least time between two ready notifications to other jobd processes");
ABSL_FLAG(absl::Duration, acquire_poll_interval, absl::Seconds(10),
          "backstop: a waiting AcquireJobs call looks at the database again after this long "
          "without a wake-up (each call on its own timer)");
ABSL_FLAG(absl::Duration, event_poll_interval, absl::Seconds(1),
          "backstop: how often the latest sequence of every watched job is checked");
ABSL_FLAG(int64_t, watch_buffer_events, 256,
          "live events a watch stream buffers before it reads from the table instead");
ABSL_FLAG(int32_t, watch_threads, 4, "threads that read the database for watch streams");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain: serve TLS (with --tls_key_file)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: require and verify client certificates signed by it (mutual TLS)");
ABSL_FLAG(absl::Duration, key_refresh_interval, absl::Milliseconds(250),
          "how often API keys created or revoked elsewhere are read from the database");
ABSL_FLAG(int64_t, max_active_jobs_per_workspace, 0,
          "quota: most QUEUED+SCHEDULED+RUNNING jobs per workspace; 0 = no limit");
ABSL_FLAG(double, create_rate_per_key, 0,
          "quota: CreateJob calls per second per API key (per jobd process); 0 = no limit");
ABSL_FLAG(double, create_burst_per_key, 0,
          "quota: CreateJob calls an API key may make at once; 0 = max(1, create_rate_per_key)");
ABSL_FLAG(std::string, role, "", "jobd keys create: admin, member, worker or viewer");
ABSL_FLAG(std::string, workspace, "", "jobd keys create: the key's workspace (not for admin)");
ABSL_FLAG(std::string, name, "", "jobd keys create: the principal, recorded as requested_by");
ABSL_FLAG(absl::Duration, grace, absl::Hours(24),
          "jobd keys rotate-page-token-key: how long the keys in use still verify page tokens");
ABSL_FLAG(absl::Duration, expire_in, absl::ZeroDuration(),
          "jobd keys create: the key expires after this long; 0 = never");
ABSL_FLAG(std::string, key_file, "",
          "jobd keys create: write the key to this new file (mode 0600) instead of stdout");
ABSL_FLAG(absl::Duration, startup_timeout, absl::Seconds(30),
          "how long to wait for the database at start");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "how long in-flight calls may finish after SIGTERM");

namespace jobd {
namespace {

constexpr const char* kEnvFlags[] = {"listen",
                                     "listen_port_file",
                                     "http_listen",
                                     "http_port_file",
                                     "http_cors_origins",
                                     "http_threads",
                                     "http_sse_heartbeat",
                                     "http_read_timeout",
                                     "database_url",
                                     "pool_size",
                                     "statement_timeout",
                                     "background_pool_size",
                                     "log_level",
                                     "rpc_threads",
                                     "create_committers",
                                     "create_batch_size",
                                     "page_token_key",
                                     "max_payload_bytes",
                                     "allow_insecure_listen",
                                     "max_request_bytes",
                                     "max_page_size",
                                     "max_labels",
                                     "max_text_bytes",
                                     "max_type_length",
                                     "max_workspace_id_length",
                                     "max_ttl",
                                     "max_wait",
                                     "health_interval",
                                     "retention_interval",
                                     "retain_finished_per_workspace",
                                     "metrics",
                                     "metrics_refresh_interval",
                                     "metrics_max_label_values",
                                     "reaper_interval",
                                     "promote_interval",
                                     "schedule_poll_interval",
                                     "notify_min_gap",
                                     "acquire_poll_interval",
                                     "event_poll_interval",
                                     "watch_buffer_events",
                                     "watch_threads",
                                     "startup_timeout",
                                     "shutdown_grace",
                                     "tls_cert_file",
                                     "tls_key_file",
                                     "tls_client_ca_file",
                                     "key_refresh_interval",
                                     "max_active_jobs_per_workspace",
                                     "create_rate_per_key",
                                     "create_burst_per_key",
                                     "max_streams_per_key",
                                     "max_long_polls_per_key",
                                     "watch_max_jobs",
                                     "list_page_max_body_bytes",
                                     "grpc_max_concurrent_streams",
                                     "grpc_max_memory_bytes",
                                     "keepalive_time",
                                     "keepalive_timeout",
                                     "min_client_ping_interval",
                                     "http_max_connections",
                                     "max_progress_events_per_attempt",
                                     "max_messages_per_job"};

absl::Status ParseKeysCommand(const std::vector<char*>& positional, KeysCommand* keys) {
  if (positional.size() < 3) {
    return absl::InvalidArgumentError(
        "keys: use jobd keys create|list|revoke|rotate-page-token-key");
  }
  keys->action = positional[2];
  if (keys->action == "revoke") {
    if (positional.size() != 4) return absl::InvalidArgumentError("keys revoke: give one key id");
    keys->id = positional[3];
    return absl::OkStatus();
  }
  if (positional.size() > 3) return absl::InvalidArgumentError("too many arguments");
  if (keys->action == "list") return absl::OkStatus();
  if (keys->action == "rotate-page-token-key") {
    keys->grace = absl::GetFlag(FLAGS_grace);
    if (keys->grace < absl::ZeroDuration() || keys->grace > absl::Hours(24 * 30)) {
      return absl::InvalidArgumentError("grace: must be between 0 and 720h");
    }
    return absl::OkStatus();
  }
  if (keys->action != "create") {
    return absl::InvalidArgumentError(
        absl::StrCat("keys: unknown action '", keys->action,
                     "': use create, list, revoke or rotate-page-token-key"));
  }
  keys->role = absl::GetFlag(FLAGS_role);
  keys->workspace_id = absl::GetFlag(FLAGS_workspace);
  keys->name = absl::GetFlag(FLAGS_name);
  keys->key_file = absl::GetFlag(FLAGS_key_file);
  const absl::Duration expire_in = absl::GetFlag(FLAGS_expire_in);
  if (expire_in < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("expire_in: must not be negative");
  }
  if (expire_in > absl::ZeroDuration()) keys->expire_in = expire_in;
  return absl::OkStatus();
}

absl::Status ReadTlsConfig(TlsConfig* tls) {
  tls->cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls->key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls->client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return absl::InvalidArgumentError("tls_cert_file and tls_key_file: give both or neither");
  }
  if (!tls->client_ca_file.empty() && tls->cert_file.empty()) {
    return absl::InvalidArgumentError(
        "tls_client_ca_file: needs --tls_cert_file and --tls_key_file (mutual TLS is TLS)");
  }
  return absl::OkStatus();
}

absl::Status ReadQuotas(QuotaConfig* quotas) {
  quotas->max_active_jobs_per_workspace = absl::GetFlag(FLAGS_max_active_jobs_per_workspace);
  quotas->create_rate_per_key = absl::GetFlag(FLAGS_create_rate_per_key);
  quotas->create_burst_per_key = absl::GetFlag(FLAGS_create_burst_per_key);
  if (quotas->max_active_jobs_per_workspace < 0) {
    return absl::InvalidArgumentError("max_active_jobs_per_workspace: must not be negative");
  }
  if (!(quotas->create_rate_per_key >= 0) || !(quotas->create_burst_per_key >= 0)) {
    return absl::InvalidArgumentError(
        "create_rate_per_key and create_burst_per_key: must not be negative");
  }
  if (quotas->create_burst_per_key > 0 && quotas->create_burst_per_key < 1) {
    return absl::InvalidArgumentError(
        "create_burst_per_key: must be 0 (max(1, rate)) or at least 1, or no call would pass");
  }
  return absl::OkStatus();
}

absl::Status ApplyEnvironment() {
  for (const char* name : kEnvFlags) {
    const std::string variable = absl::StrCat("JOBD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "jobd [serve|migrate|keys ...] [--flags]\n"
      "  serve    serve JobService, WorkerService and AdminService over gRPC, and over HTTP/JSON\n"
      "           with the dashboard (default)\n"
      "  migrate  apply database migrations and exit\n"
      "  keys create --role R [--workspace W] --name N [--expire_in D] [--key_file F]\n"
      "  keys list | keys revoke ID   API keys, straight in the database\n"
      "  keys rotate-page-token-key [--grace 24h]   a new page-token signing key\n"
      "Every flag --foo_bar can also be set as JOBD_FOO_BAR.");
  if (absl::Status s = ApplyEnvironment(); !s.ok()) return s;
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  ServerConfig config;
  if (positional.size() >= 2) config.command = positional[1];
  if (config.command == "keys") {
    if (absl::Status s = ParseKeysCommand(positional, &config.keys); !s.ok()) return s;
  } else if (positional.size() > 2) {
    return absl::InvalidArgumentError("too many arguments");
  }
  if (config.command != "serve" && config.command != "migrate" && config.command != "keys") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command '", config.command, "': use serve, migrate or keys"));
  }
  config.listen = absl::GetFlag(FLAGS_listen);
  config.listen_port_file = absl::GetFlag(FLAGS_listen_port_file);
  config.allow_insecure_listen = absl::GetFlag(FLAGS_allow_insecure_listen);
  if (absl::Status s = ReadTlsConfig(&config.tls); !s.ok()) return s;
  if (!config.tls.enabled() && !config.allow_insecure_listen && !IsLocalAddress(config.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: ", config.listen,
        " is not a loopback address: serve TLS (--tls_cert_file, --tls_key_file) or allow "
        "plaintext with --allow_insecure_listen"));
  }
  config.http.listen = absl::GetFlag(FLAGS_http_listen);
  config.http.port_file = absl::GetFlag(FLAGS_http_port_file);
  for (absl::string_view origin :
       absl::StrSplit(absl::GetFlag(FLAGS_http_cors_origins), ',', absl::SkipWhitespace())) {
    config.http.cors_origins.emplace_back(absl::StripAsciiWhitespace(origin));
  }
  config.http.threads = absl::GetFlag(FLAGS_http_threads);
  config.http.sse_heartbeat = absl::GetFlag(FLAGS_http_sse_heartbeat);
  config.http.read_timeout = absl::GetFlag(FLAGS_http_read_timeout);
  if (config.http.read_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("http_read_timeout: must be at least 100ms");
  }
  if (config.http.sse_heartbeat < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("http_sse_heartbeat: must be at least 10ms");
  }
  if (config.http.threads < 1 || config.http.threads > 64) {
    return absl::InvalidArgumentError("http_threads: must be between 1 and 64");
  }
  if (!config.http.listen.empty() && !config.tls.enabled() && !config.allow_insecure_listen &&
      !IsLocalAddress(config.http.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http_listen: ", config.http.listen,
        " is not a loopback address: serve TLS (--tls_cert_file, --tls_key_file) or allow "
        "plaintext with --allow_insecure_listen"));
  }
  if (absl::Status s = ReadQuotas(&config.quotas); !s.ok()) return s;
  config.key_refresh_interval = absl::GetFlag(FLAGS_key_refresh_interval);
  config.database.url = absl::GetFlag(FLAGS_database_url);
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int pool_size = absl::GetFlag(FLAGS_pool_size);
  if (pool_size < 0 || pool_size > 1000) {
    return absl::InvalidArgumentError("pool_size: must be between 0 and 1000");
  }
  config.database.pool_size = pool_size > 0 ? pool_size : 2 * cores + 4;
  config.database.statement_timeout = absl::GetFlag(FLAGS_statement_timeout);
  config.background_pool_size = absl::GetFlag(FLAGS_background_pool_size);
  if (config.background_pool_size < 1 || config.background_pool_size > 100) {
    return absl::InvalidArgumentError("background_pool_size: must be between 1 and 100");
  }
  if (config.database.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("statement_timeout: must not be negative");
  }
  if (!core::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &config.log_level)) {
    return absl::InvalidArgumentError("log_level: use debug, info, warning or error");
  }
  const int rpc_threads = absl::GetFlag(FLAGS_rpc_threads);
  config.rpc_threads = rpc_threads > 0 ? rpc_threads : config.database.pool_size;
  const int committers = absl::GetFlag(FLAGS_create_committers);
  config.create_batcher.committers =
      committers > 0 ? committers : std::max(2, config.database.pool_size / 2);
  const int batch = absl::GetFlag(FLAGS_create_batch_size);
  if (batch < 1 || batch > 10000) {
    return absl::InvalidArgumentError("create_batch_size: must be between 1 and 10000");
  }
  config.create_batcher.max_batch = batch;
  // Worker writes (complete, fail, progress) share the committers' share of the pool.
  config.change_batcher.committers = config.create_batcher.committers;
  config.change_batcher.max_batch = batch;
  config.page_token_key = absl::GetFlag(FLAGS_page_token_key);
  config.limits.max_payload_bytes = absl::GetFlag(FLAGS_max_payload_bytes);
  config.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  if (config.max_request_bytes == 0) {
    // Room for one job at the payload limit, or a BatchCreateJobs of 1,000 jobs of ~8 KiB.
    config.max_request_bytes =
        std::max<int64_t>(config.limits.max_payload_bytes + 256 * 1024, 8 << 20);
  }
  if (config.max_request_bytes < 1024 || config.max_request_bytes > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("max_request_bytes: must be between 1 KiB and 1 GiB");
  }
  config.limits.max_page_size = absl::GetFlag(FLAGS_max_page_size);
  config.limits.max_labels = absl::GetFlag(FLAGS_max_labels);
  config.limits.max_text_bytes = absl::GetFlag(FLAGS_max_text_bytes);
  const int32_t max_type = absl::GetFlag(FLAGS_max_type_length);
  const int32_t max_workspace = absl::GetFlag(FLAGS_max_workspace_id_length);
  if (max_type < 1 || max_workspace < 1) {
    return absl::InvalidArgumentError(
        "max_type_length and max_workspace_id_length: must be at least 1");
  }
  config.limits.max_type_length = max_type;
  config.limits.max_workspace_id_length = max_workspace;
  config.limits.max_ttl = absl::GetFlag(FLAGS_max_ttl);
  config.limits.max_wait = absl::GetFlag(FLAGS_max_wait);
  if (config.limits.max_ttl <= absl::ZeroDuration() ||
      config.limits.max_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_ttl: must be positive; max_wait: must not be negative");
  }
  if (config.limits.max_page_size < 1) {
    return absl::InvalidArgumentError("max_page_size: must be at least 1");
  }
  config.limits.default_page_size = std::min(20, config.limits.max_page_size);
  if (absl::Status s = ReadBounds(&config.bounds, &config.limits); !s.ok()) return s;
  config.health_interval = absl::GetFlag(FLAGS_health_interval);
  config.retention_interval = absl::GetFlag(FLAGS_retention_interval);
  if (config.retention_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("retention_interval: must be positive");
  }
  config.retain_finished_per_workspace = absl::GetFlag(FLAGS_retain_finished_per_workspace);
  if (config.retain_finished_per_workspace < 0) {
    return absl::InvalidArgumentError("retain_finished_per_workspace: must be 0 or more");
  }
  config.metrics.enabled = absl::GetFlag(FLAGS_metrics);
  config.metrics.refresh_interval = absl::GetFlag(FLAGS_metrics_refresh_interval);
  if (config.metrics.refresh_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("metrics_refresh_interval: must be positive");
  }
  config.metrics.max_label_values = absl::GetFlag(FLAGS_metrics_max_label_values);
  if (config.metrics.max_label_values < 1 || config.metrics.max_label_values > 100000) {
    return absl::InvalidArgumentError("metrics_max_label_values: must be between 1 and 100000");
  }
  config.reaper_interval = absl::GetFlag(FLAGS_reaper_interval);
  config.promote_interval = absl::GetFlag(FLAGS_promote_interval);
  config.schedule_poll_interval = absl::GetFlag(FLAGS_schedule_poll_interval);
  config.notify_min_gap = absl::GetFlag(FLAGS_notify_min_gap);
  config.acquire_poll_interval = absl::GetFlag(FLAGS_acquire_poll_interval);
  config.event_poll_interval = absl::GetFlag(FLAGS_event_poll_interval);
  config.watch_buffer_events = absl::GetFlag(FLAGS_watch_buffer_events);
  config.watch_threads = absl::GetFlag(FLAGS_watch_threads);
  if (config.watch_buffer_events < 1) {
    return absl::InvalidArgumentError("watch_buffer_events: must be at least 1");
  }
  if (config.watch_threads < 1) {
    return absl::InvalidArgumentError("watch_threads: must be at least 1");
  }
  for (auto [name, value] :
       {std::pair<const char*, absl::Duration>{"reaper_interval", config.reaper_interval},
        {"promote_interval", config.promote_interval},
        {"schedule_poll_interval", config.schedule_poll_interval},
        {"acquire_poll_interval", config.acquire_poll_interval},
        {"event_poll_interval", config.event_poll_interval},
        {"key_refresh_interval", config.key_refresh_interval}}) {
    if (value <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": must be positive"));
    }
  }
  config.startup_timeout = absl::GetFlag(FLAGS_startup_timeout);
  config.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  if (config.health_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("health_interval: must be positive");
  }
  return config;
}

}  // namespace jobd
