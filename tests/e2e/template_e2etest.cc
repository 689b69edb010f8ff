// Job templates against a real jobd: defaults and the payload merge, schema refusals with
// exact paths, shared templates and who may make them, and schedules that name a template.
#include <string>

#include "jobd/v1/admin_service.grpc.pb.h"
#include "jobd/v1/schedule_service.grpc.pb.h"
#include "jobd/v1/template_service.grpc.pb.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

class TemplateTest : public JobdTest {
 protected:
  void SetUp() override {
    JobdTest::SetUp();
    if (HasFatalFailure()) return;
    templates_ = v1::TemplateService::NewStub(jobd_->channel());
    const std::string member_key =
        CreateApiKey(database_->url(), "member", "mia", {"--workspace", "ws"});
    member_ = KeyedChannel(jobd_->address(), member_key);
    // The key reaches jobd with its next key sync.
    ASSERT_TRUE(WaitFor(
        [&] {
          v1::WhoAmIResponse me;
          return v1::AdminService::NewStub(member_)
              ->WhoAmI(Ctx().get(), v1::WhoAmIRequest(), &me)
              .ok();
        },
        absl::Seconds(10)));
  }
  void TearDown() override {
    templates_.reset();
    member_.reset();
    JobdTest::TearDown();
  }

  grpc::Status CreateTemplate(const v1::JobTemplate& t, v1::JobTemplate* out,
                              const std::shared_ptr<grpc::Channel>& as) {
    v1::CreateJobTemplateRequest request;
    *request.mutable_job_template() = t;
    v1::CreateJobTemplateResponse response;
    grpc::Status status =
        v1::TemplateService::NewStub(as)->CreateJobTemplate(Ctx().get(), request, &response);
    if (out) *out = response.job_template();
    return status;
  }

  // A crawl template of `workspace` ("" shared) with a schema.
  v1::JobTemplate Crawl(const std::string& workspace, int priority) {
    v1::JobTemplate t;
    t.set_workspace_id(workspace);
    t.set_name("crawl");
    t.set_description("crawl a site");
    t.mutable_defaults()->set_type("crawl");
    t.mutable_defaults()->set_priority(priority);
    *t.mutable_defaults()->mutable_payload() =
        JsonStruct(R"({"depth": 2, "opts": {"a": 1, "b": 2}, "tags": ["x"]})");
    (*t.mutable_defaults()->mutable_labels())["team"] = "crawlers";
    t.mutable_defaults()->mutable_retry_policy()->set_max_attempts(7);
    *t.mutable_payload_schema() = JsonStruct(R"({
      "type": "object", "required": ["url"],
      "properties": {"url": {"type": "string", "maxLength": 100},
                     "pages": {"type": "integer", "minimum": 1, "maximum": 1000},
                     "mode": {"enum": ["fast", "full"]}}})");
    return t;
  }

  grpc::Status CreateJobFrom(const std::string& template_name, const std::string& payload,
                             v1::Job* out, const std::shared_ptr<grpc::Channel>& as) {
    v1::CreateJobRequest request;
    request.set_workspace_id("ws");
    request.set_template_(template_name);
    *request.mutable_payload() = JsonStruct(payload);
    (*request.mutable_labels())["run"] = "1";
    v1::CreateJobResponse response;
    grpc::Status status = v1::JobService::NewStub(as)->CreateJob(Ctx().get(), request, &response);
    if (out) *out = response.job();
    return status;
  }

  std::unique_ptr<v1::TemplateService::Stub> templates_;
  std::shared_ptr<grpc::Channel> member_;
};

TEST_F(TemplateTest, DefaultsFillTheRequestAndPayloadsMergeDeeply) {
  v1::JobTemplate made;
  ASSERT_TRUE(CreateTemplate(Crawl("ws", 5), &made, member_).ok());
  v1::Job job;
  grpc::Status status = CreateJobFrom(
      "crawl", R"({"url": "https://a.example", "opts": {"b": 3}, "tags": ["y"]})", &job, member_);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(job.type(), "crawl");
  EXPECT_EQ(job.priority(), 5);
  EXPECT_EQ(job.retry_policy().max_attempts(), 7);
  EXPECT_EQ(job.labels().at("team"), "crawlers");
  EXPECT_EQ(job.labels().at("run"), "1");
  // Objects merged key by key, arrays replaced, the request's values win.
  EXPECT_TRUE(
      SameJson(Get(job.id()).payload(),
               R"({"depth":2,"opts":{"a":1,"b":3},"tags":["y"],"url":"https://a.example"})"));
}

TEST_F(TemplateTest, PayloadsFailingTheSchemaAreRefusedWithThePath) {
  ASSERT_TRUE(CreateTemplate(Crawl("ws", 0), nullptr, member_).ok());
  const std::string before = Sql("SELECT count(*) FROM jobs");
  struct Case {
    std::string payload, message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"url": "u", "pages": 2000})", "payload.pages: must be at most 1000"},
           {R"({"pages": 3})", "payload.url: is required"},
           {R"({"url": "u", "mode": "slow"})", R"(payload.mode: must be one of "fast", "full")"},
           {R"({"url": "u", "pages": 2.5})", "payload.pages: must be an integer"},
       }) {
    grpc::Status status = CreateJobFrom("crawl", c.payload, nullptr, member_);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << c.payload;
    EXPECT_EQ(status.error_message(), c.message) << c.payload;
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs"), before);
  // A schema using what the subset lacks is refused when the template is made.
  v1::JobTemplate unsupported = Crawl("ws", 0);
  unsupported.set_name("patterned");
  *unsupported.mutable_payload_schema() =
      JsonStruct(R"({"properties": {"url": {"type": "string", "pattern": "^https"}}})");
  grpc::Status status = CreateTemplate(unsupported, nullptr, member_);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "job_template.payload_schema.properties.url: keyword \"pattern\" is not supported");
}

TEST_F(TemplateTest, SharedTemplatesAreAdminsAndAWorkspacesOwnWins) {
  v1::JobTemplate shared = Crawl("", 1);
  grpc::Status refused = CreateTemplate(shared, nullptr, member_);
  EXPECT_EQ(refused.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(refused.error_message(),
            "workspace_id: only admin keys make, change or delete shared templates");
  v1::JobTemplate made_shared;
  ASSERT_TRUE(CreateTemplate(shared, &made_shared, jobd_->channel()).ok());
  v1::Job from_shared;
  ASSERT_TRUE(CreateJobFrom("crawl", R"({"url": "u"})", &from_shared, member_).ok());
  EXPECT_EQ(from_shared.priority(), 1);
  // The workspace's own template of the same name takes precedence.
  ASSERT_TRUE(CreateTemplate(Crawl("ws", 9), nullptr, member_).ok());
  v1::Job from_own;
  ASSERT_TRUE(CreateJobFrom("crawl", R"({"url": "u"})", &from_own, member_).ok());
  EXPECT_EQ(from_own.priority(), 9);
  // The member sees both in its list, and may not delete the shared one.
  v1::ListJobTemplatesRequest list;
  list.set_workspace_id("ws");
  v1::ListJobTemplatesResponse listed;
  ASSERT_TRUE(
      v1::TemplateService::NewStub(member_)->ListJobTemplates(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.job_templates_size(), 2);
  EXPECT_EQ(listed.job_templates(0).workspace_id(), "");
  EXPECT_EQ(listed.job_templates(1).workspace_id(), "ws");
  v1::DeleteJobTemplateRequest del;
  del.set_id(made_shared.id());
  v1::DeleteJobTemplateResponse deleted;
  EXPECT_EQ(v1::TemplateService::NewStub(member_)
                ->DeleteJobTemplate(Ctx().get(), del, &deleted)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  // An unknown template is NOT_FOUND and creates nothing.
  grpc::Status unknown = CreateJobFrom("nope", "{}", nullptr, member_);
  EXPECT_EQ(unknown.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(),
            "template: \"nope\" is neither in workspace \"ws\" nor shared");
}

TEST_F(TemplateTest, ScheduleRunsAreMadeFromTheirTemplate) {
  ASSERT_TRUE(CreateTemplate(Crawl("ws", 4), nullptr, member_).ok());
  v1::CreateScheduleRequest request;
  v1::Schedule* s = request.mutable_schedule();
  s->set_workspace_id("ws");
  s->set_name("nightly-crawl");
  s->mutable_spec()->add_cron("0 3 * * *");
  s->mutable_spec()->set_time_zone("Europe/Berlin");
  s->mutable_job()->set_template_("crawl");
  *s->mutable_job()->mutable_payload() = JsonStruct(R"({"url": "https://b.example"})");
  v1::CreateScheduleResponse made;
  grpc::Status status =
      v1::ScheduleService::NewStub(member_)->CreateSchedule(Ctx().get(), request, &made);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::TriggerScheduleRequest trigger;
  trigger.set_id(made.schedule().id());
  v1::TriggerScheduleResponse triggered;
  ASSERT_TRUE(v1::ScheduleService::NewStub(member_)
                  ->TriggerSchedule(Ctx().get(), trigger, &triggered)
                  .ok());
  EXPECT_EQ(triggered.job().type(), "crawl");
  EXPECT_EQ(triggered.job().priority(), 4);
  EXPECT_TRUE(
      SameJson(triggered.job().payload(),
               R"({"depth":2,"opts":{"a":1,"b":2},"tags":["x"],"url":"https://b.example"})"));
  // A schedule whose payload fails the template's schema is refused when made.
  s->set_name("bad-crawl");
  *s->mutable_job()->mutable_payload() = JsonStruct(R"({"url": "u", "pages": 0})");
  status = v1::ScheduleService::NewStub(member_)->CreateSchedule(Ctx().get(), request, &made);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "schedule.job.payload.pages: must be at least 1");
}

TEST_F(TemplateTest, ARunWhoseTemplateIsGoneIsSkippedWithWhyAndTheScheduleMovesOn) {
  v1::JobTemplate made;
  ASSERT_TRUE(CreateTemplate(Crawl("ws", 0), &made, member_).ok());
  v1::CreateScheduleRequest request;
  v1::Schedule* s = request.mutable_schedule();
  s->set_workspace_id("ws");
  s->set_name("every-second");
  s->mutable_spec()->add_cron("* * * * * *");
  s->set_overlap_policy(v1::OVERLAP_POLICY_ALLOW_ALL);
  s->mutable_job()->set_template_("crawl");
  *s->mutable_job()->mutable_payload() = JsonStruct(R"({"url": "u"})");
  v1::CreateScheduleResponse created;
  auto schedules = v1::ScheduleService::NewStub(member_);
  ASSERT_TRUE(schedules->CreateSchedule(Ctx().get(), request, &created).ok());
  v1::GetScheduleRequest get;
  get.set_id(created.schedule().id());
  auto current = [&] {
    v1::GetScheduleResponse out;
    EXPECT_TRUE(schedules->GetSchedule(Ctx().get(), get, &out).ok());
    return out.schedule();
  };
  ASSERT_TRUE(WaitFor([&] { return current().runs_fired() >= 1; }, absl::Seconds(10)));
  v1::DeleteJobTemplateRequest del;
  del.set_id(made.id());
  v1::DeleteJobTemplateResponse deleted;
  ASSERT_TRUE(templates_->DeleteJobTemplate(Ctx().get(), del, &deleted).ok());
  ASSERT_TRUE(WaitFor([&] { return current().runs_skipped() >= 2; }, absl::Seconds(10)));
  const v1::Schedule after = current();
  EXPECT_EQ(after.last_skip_reason(),
            "template: \"crawl\" is neither in workspace \"ws\" nor shared");
  ASSERT_EQ(after.next_run_times_size(), 5);
  EXPECT_GT(ToTime(after.next_run_times(0)), absl::Now() - absl::Seconds(2));  // moving on
}

}  // namespace
}  // namespace jobd::testing
