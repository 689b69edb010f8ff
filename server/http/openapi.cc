#include "server/http/openapi.h"

#include <set>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "jobd/v1/admin_service.pb.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/queue_service.pb.h"
#include "jobd/v1/schedule_service.pb.h"
#include "jobd/v1/template_service.pb.h"
#include "jobd/v1/worker_service.pb.h"
#include "server/http/routes.h"

namespace jobd::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

std::string Ref(const Descriptor* type) {
  return absl::StrCat("#/components/schemas/", type->full_name());
}

class SchemaBuilder {
 public:
  // The schema of one field's value (not counting repetition).
  json ValueSchema(const FieldDescriptor* field) {
    switch (field->type()) {
      case FieldDescriptor::TYPE_STRING:
        return {{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES:
        return {{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_BOOL:
        return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        // The JSON mapping writes 64-bit integers as strings.
        return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_FLOAT:
      case FieldDescriptor::TYPE_DOUBLE:
        return {{"type", "number"}};
      case FieldDescriptor::TYPE_ENUM: {
        json values = json::array();
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          values.push_back(field->enum_type()->value(i)->name());
        }
        return {{"type", "string"}, {"enum", values}};
      }
      default:
        return MessageSchemaRef(field->message_type());
    }
  }

  json MessageSchemaRef(const Descriptor* type) {
    const std::string& name = type->full_name();
    if (name == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
    if (name == "google.protobuf.Duration") {
      return {{"type", "string"}, {"description", "seconds with an s suffix, e.g. \"1.5s\""}};
    }
    if (name == "google.protobuf.Struct") return {{"type", "object"}};
    if (name == "google.protobuf.Value") return json::object();
    Add(type);
    return {{"$ref", Ref(type)}};
  }

  void Add(const Descriptor* type) {
    if (!seen_.insert(type->full_name()).second) return;
    json properties = json::object();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      json schema;
      if (field->is_map()) {
        schema = {{"type", "object"},
                  {"additionalProperties", ValueSchema(field->message_type()->map_value())}};
      } else if (field->is_repeated()) {
        schema = {{"type", "array"}, {"items", ValueSchema(field)}};
      } else {
        schema = ValueSchema(field);
      }
      properties[field->json_name()] = schema;
    }
    schemas_[type->full_name()] = {{"type", "object"}, {"properties", properties}};
  }

  json& schemas() { return schemas_; }

 private:
  std::set<std::string> seen_;
  json schemas_ = json::object();
};

const google::protobuf::ServiceDescriptor* ServiceByName(const std::string& name) {
  for (const google::protobuf::FileDescriptor* file :
       {v1::CreateJobRequest::descriptor()->file(), v1::AcquireJobsRequest::descriptor()->file(),
        v1::CreateApiKeyRequest::descriptor()->file(),
        v1::CreateScheduleRequest::descriptor()->file(),
        v1::CreateJobTemplateRequest::descriptor()->file(),
        v1::ListQueuesRequest::descriptor()->file()}) {
    for (int i = 0; i < file->service_count(); ++i) {
      if (file->service(i)->full_name() == name) return file->service(i);
    }
  }
  return nullptr;
}

json ErrorResponse() {
  return {
      {"description", "an error: {code (the gRPC code number), message, details}"},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json JsonContent(const json& schema) { return {{"application/json", {{"schema", schema}}}}; }

std::string Build() {
  SchemaBuilder schemas;
  json paths = json::object();
  for (const Route& route : ApiRoutes()) {
    const google::protobuf::MethodDescriptor* method =
        ServiceByName(route.service)->FindMethodByName(route.rpc);
    const Descriptor* request = method->input_type();
    json parameters = json::array();
    std::set<std::string> bound;
    for (absl::string_view rest = route.path; !rest.empty();) {
      const size_t open = rest.find('{');
      if (open == absl::string_view::npos) break;
      const size_t close = rest.find('}', open);
      const std::string name(rest.substr(open + 1, close - open - 1));
      bound.insert(name);
      parameters.push_back(
          {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
      rest.remove_prefix(close + 1);
    }
    for (const QueryParam& param : route.query) {
      const FieldDescriptor* field = request->FindFieldByName(param.field);
      json schema = field->is_map() ? json{{"type", "string"}, {"description", "KEY:VALUE"}}
                                    : schemas.ValueSchema(field);
      parameters.push_back({{"name", param.name},
                            {"in", "query"},
                            {"required", false},
                            {"explode", true},
                            {"schema", field->is_repeated() && !field->is_map()
                                           ? json{{"type", "array"}, {"items", schema}}
                                           : schema}});
    }
    json operation = {{"operationId", route.rpc},
                      {"summary", route.summary},
                      {"tags", {route.service}},
                      {"parameters", parameters},
                      {"x-grpc-method", absl::StrCat(route.service, "/", route.rpc)}};
    if (route.body) {
      operation["requestBody"] = {
          {"required", false},
          {"description", "the request message; the path's fields may be left out"},
          {"content", JsonContent(schemas.MessageSchemaRef(request))}};
    }
    if (route.kind == RouteKind::kUnary) {
      operation["responses"] = {
          {"200",
           {{"description", "OK"},
            {"content", JsonContent(schemas.MessageSchemaRef(method->output_type()))}}},
          {"default", ErrorResponse()}};
    } else {
      schemas.Add(v1::JobEvent::descriptor());
      operation["responses"] = {
          {"200",
           {{"description",
             "server-sent events: `id: <sequence>` (job streams), `event: <kind>`, "
             "`data: <JobEvent as JSON>`; resume with the Last-Event-ID header"},
            {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}}},
          {"default", ErrorResponse()}};
    }
    std::string method_name = route.method;
    for (char& c : method_name) c = static_cast<char>(std::tolower(c));
    paths[route.path][method_name] = operation;
  }
  // Every unary RPC at POST /{package.Service}/{Method}.
  for (const char* service_name :
       {"jobd.v1.JobService", "jobd.v1.WorkerService", "jobd.v1.AdminService",
        "jobd.v1.ScheduleService", "jobd.v1.TemplateService", "jobd.v1.QueueService"}) {
    const google::protobuf::ServiceDescriptor* service = ServiceByName(service_name);
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      if (method->server_streaming() || method->client_streaming()) continue;
      paths[absl::StrCat("/", service->full_name(), "/", method->name())]["post"] = {
          {"operationId", absl::StrCat(service->name(), "_", method->name())},
          {"summary", absl::StrCat(method->name(), " with the whole request as the body")},
          {"tags", {"rpc"}},
          {"requestBody",
           {{"required", false},
            {"content", JsonContent(schemas.MessageSchemaRef(method->input_type()))}}},
          {"responses",
           {{"200",
             {{"description", "OK"},
              {"content", JsonContent(schemas.MessageSchemaRef(method->output_type()))}}},
            {"default", ErrorResponse()}}}};
    }
  }
  const json health = {
      {"get",
       {{"responses",
         {{"200", {{"description", "SERVING"}}}, {"503", {{"description", "NOT_SERVING"}}}}}}}};
  paths["/healthz"] = health;
  paths["/readyz"] = health;
  paths["/healthz"]["get"]["summary"] = "the process is up";
  paths["/readyz"]["get"]["summary"] = "the database is reachable and jobd is not stopping";
  schemas.schemas()["Error"] = {
      {"type", "object"},
      {"properties",
       {{"code", {{"type", "integer"}, {"description", "the gRPC status code number"}}},
        {"message", {{"type", "string"}}},
        {"details", {{"type", "array"}, {"items", json::object()}}}}}};
  json document = {{"openapi", "3.0.3"},
                   {"info",
                    {{"title", "jobd"},
                     {"version", "v1"},
                     {"description",
                      "jobd's HTTP/JSON API: the same calls, rules and errors as its gRPC "
                      "API, in protobuf's JSON mapping."}}},
                   {"components",
                    {{"securitySchemes", {{"apiKey", {{"type", "http"}, {"scheme", "bearer"}}}}},
                     {"schemas", schemas.schemas()}}},
                   {"security", {{{"apiKey", json::array()}}}},
                   {"paths", paths}};
  return document.dump(2);
}

}  // namespace

const std::string& OpenApiDocument() {
  static const std::string* document = new std::string(Build());
  return *document;
}

}  // namespace jobd::http
