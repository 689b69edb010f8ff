#include "server/http/sse_stream.h"

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/api/convert.h"
#include "server/api/unary_call.h"
#include "server/http/http_errors.h"
#include "server/http/message_json.h"

namespace jobd::http {
namespace {

// "progress" for JOB_EVENT_KIND_PROGRESS.
std::string KindName(const v1::JobEvent& event) {
  absl::string_view name = v1::JobEventKind_Name(event.kind());
  absl::ConsumePrefix(&name, "JOB_EVENT_KIND_");
  return absl::AsciiStrToLower(name);
}

// The event's SSE text, made once per event however many streams send it.
const std::string& EventText(const core::BusEvent& event, bool with_id) {
  std::call_once(event.text_once, [&event] {
    v1::JobEvent proto;
    api::ToProto(event.event, *event.job, absl::Now(), &proto);
    event.text = std::make_shared<const std::string>(
        absl::StrCat("id: ", proto.sequence(), "\nevent: ", KindName(proto),
                     "\ndata: ", MessageToJson(proto), "\n\n"));
  });
  if (with_id) return *event.text;
  // Workspace streams leave the id out (it is per job, so no resume point for them).
  thread_local std::string without_id;
  const size_t line_end = event.text->find('\n');
  without_id.assign(*event.text, line_end + 1, std::string::npos);
  return without_id;
}

template <typename Watch>
class SseStream final : public core::WatchSink,
                        public std::enable_shared_from_this<SseStream<Watch>> {
 public:
  SseStream(const char* method, std::string job_id, std::shared_ptr<Exchange> exchange,
            HttpResponse head, ErrorResponder errors, bool with_ids)
      : method_(method),
        job_id_(std::move(job_id)),
        exchange_(std::move(exchange)),
        head_(std::move(head)),
        errors_(std::move(errors)),
        with_ids_(with_ids),
        start_(absl::Now()) {}

  // Keeps itself alive until End; `open` starts the watch.
  template <typename Open>
  void Start(const core::WatchDeps& deps, const std::string& key_id, const std::string& key_name,
             std::shared_ptr<Watch> watch, Open open) {
    self_ = this->shared_from_this();
    watch_ = std::move(watch);
    std::function<void()> end_now;
    key_handle_ = core::RegisterStream(deps.streams_by_key, deps.executor, key_id, key_name,
                                       std::weak_ptr<Watch>(watch_), &end_now);
    if (key_handle_ != 0) streams_by_key_ = deps.streams_by_key;
    std::weak_ptr<Watch> weak = watch_;
    exchange_->SetOnClosed([weak] {
      if (auto watch = weak.lock()) watch->Cancel();
    });
    if (end_now) return end_now();  // instead of opening
    open(*watch_);
  }

  void Opened() override { StartIfNeeded(); }

  void Write(const core::BusEventPtr& event) override {
    StartIfNeeded();
    ++events_sent_;
    std::weak_ptr<Watch> weak = watch_;
    exchange_->SendEvent(EventText(*event, with_ids_), [weak](bool ok) {
      if (auto watch = weak.lock()) watch->WriteDone(ok);
    });
  }

  void End(const absl::Status& status) override {
    api::LogRpc(method_, status, absl::Now() - start_, job_id_, "",
                {{"events", events_sent_}, {"transport", "http"}});
    if (streams_by_key_ != nullptr) streams_by_key_->Remove(key_handle_);
    // The watch makes no call after End. Both go once the last write is done, on the
    // connection's strand: never here, inside the watch's own call.
    auto release = [self = std::move(self_)](bool) {};
    if (!started() && !status.ok()) {
      exchange_->Respond(errors_(status), std::move(release));
    } else {
      StartIfNeeded();
      if (!status.ok()) {
        exchange_->SendEvent(absl::StrCat("event: error\ndata: ", ErrorBody(status), "\n\n"),
                             nullptr);
      }
      exchange_->EndEvents(std::move(release));
    }
  }

 private:
  void StartIfNeeded() {
    std::lock_guard<std::mutex> lock(head_mu_);
    if (started_) return;
    started_ = true;
    exchange_->StartEvents(std::move(head_));
  }
  bool started() {
    std::lock_guard<std::mutex> lock(head_mu_);
    return started_;
  }

  const char* const method_;
  const std::string job_id_;
  const std::shared_ptr<Exchange> exchange_;
  HttpResponse head_;
  const ErrorResponder errors_;
  const bool with_ids_;
  const absl::Time start_;
  std::shared_ptr<SseStream> self_;
  std::shared_ptr<Watch> watch_;
  core::StreamsByKey* streams_by_key_ = nullptr;
  uint64_t key_handle_ = 0;
  int64_t events_sent_ = 0;
  std::mutex head_mu_;    // Opened may race the first Write
  bool started_ = false;  // the head is out
};

}  // namespace

void StartJobEvents(core::WatchDeps deps, core::Principal caller, const std::string& job_id,
                    std::optional<int64_t> after_sequence, std::shared_ptr<Exchange> exchange,
                    HttpResponse head, ErrorResponder errors) {
  auto stream = std::make_shared<SseStream<core::JobWatch>>(
      "WatchJob", job_id, std::move(exchange), std::move(head), std::move(errors), true);
  const std::string key_id = caller.key_id, key_name = caller.name;
  auto watch = std::make_shared<core::JobWatch>(deps, std::move(caller), job_id, stream.get());
  stream->Start(deps, key_id, key_name, std::move(watch),
                [after_sequence](core::JobWatch& watch) { watch.Open(after_sequence); });
}

void StartWorkspaceEvents(core::WatchDeps deps, core::Principal caller,
                          core::WorkspaceWatchFilter filter, std::shared_ptr<Exchange> exchange,
                          HttpResponse head, ErrorResponder errors) {
  auto stream = std::make_shared<SseStream<core::WorkspaceWatch>>(
      "WatchJobs", "", std::move(exchange), std::move(head), std::move(errors), false);
  const std::string key_id = caller.key_id, key_name = caller.name;
  auto watch = std::make_shared<core::WorkspaceWatch>(deps, std::move(caller), std::move(filter),
                                                      stream.get());
  stream->Start(deps, key_id, key_name, std::move(watch),
                [](core::WorkspaceWatch& watch) { watch.Open(); });
}

}  // namespace jobd::http
