#include "channels/webform/channel.hpp"

#include "channels/webform/routes.hpp"
#include "channels/webform/settings.hpp"
#include "core/errors.hpp"

namespace meldestelle::webform {

namespace {

// A report that needs nothing but admitting.
class ReportHandler final : public channels::Handler {
 public:
  explicit ReportHandler(channels::WorkerServices& s) : admission_(s.NewAdmission()) {}
  Status Handle(const channels::Delivery& d) override {
    auto env = DecodeEnvelope(d.body);
    if (!env)
      return MakeError(errors::kMessageInvalid, "unparseable: " + env.error().message);
    auto admitted = admission_->Admit({std::move(env).value(), {}, ""});
    if (!admitted)
      return admitted.error();
    return Ok{};
  }

 private:
  std::unique_ptr<channels::Admission> admission_;
};

}  // namespace

channels::Channel WebFormChannel() {
  channels::Channel c;
  c.name = "webform";
  c.display_name = "Webformular";
  c.routes = RegisterFormRoutes;
  // Text as url-encoded or JSON (the default limit); photos as multipart, up to the largest body.
  c.body_limits = [](const Config& config) {
    return std::vector<channels::BodyLimit>{
        {"/formular/meldung", 0, config.gateway.max_request_bytes}};
  };
  channels::MessageType reports = channels::HandledBy<ReportHandler>(kReportType);
  // Messages without a type that no other channel claims are report envelopes.
  reports.untyped_default = true;
  c.message_types.push_back(std::move(reports));
  c.enabled = [](const Config&) { return true; };
  c.config_sections = Sections();
  return c;
}

channels::Channel AppChannel() {
  channels::Channel c;
  c.name = "app";
  c.display_name = "App/API";
  c.routes = RegisterApiRoutes;
  c.body_limits = [](const Config& config) {
    return std::vector<channels::BodyLimit>{
        {"/api/v1/reports", 0, config.gateway.max_request_bytes}};
  };
  c.enabled = [](const Config&) { return true; };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::webform
