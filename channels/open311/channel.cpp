#include "channels/open311/channel.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "channels/open311/media.hpp"
#include "channels/open311/open311.hpp"
#include "channels/open311/routes.hpp"
#include "channels/open311/settings.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"

namespace meldestelle::open311 {

namespace {

// The media_url the gateway put into the message; for a message queued before it did so, the
// one in the raw POST body kept for audit.
std::string MediaUrlOf(const Envelope& env) {
  if (env.channel_data.empty())
    return MediaUrlFromRaw(env.raw);
  auto data = nlohmann::json::parse(env.channel_data, nullptr, false);
  return data.is_object() ? data.value("media_url", "") : "";
}

class RequestHandler final : public channels::Handler {
 public:
  explicit RequestHandler(channels::WorkerServices& s)
      : admission_(s.NewAdmission()), media_(s.config()) {}

  Status Handle(const channels::Delivery& d) override {
    // The worker retries a delivery in place while the database is away: the media_url is
    // fetched once per delivery, not once per retry.
    if (!prepared_ || prepared_->attempt != d.attempt || prepared_->body != d.body) {
      prepared_.reset();
      auto request = Prepare(d);
      if (!request)
        return request.error();
      prepared_.emplace(Prepared{std::string(d.body), d.attempt, std::move(request).value()});
    }
    auto admitted = admission_->Admit(prepared_->request);
    if (!admitted)
      return admitted.error();
    prepared_.reset();
    return Ok{};
  }

 private:
  // The request to admit, with the photo behind the media_url fetched now, outside the ticket's
  // transaction (docs/open311.md).
  Result<channels::AdmitRequest> Prepare(const channels::Delivery& d) {
    auto env = DecodeEnvelope(d.body);
    if (!env)
      return MakeError(errors::kMessageInvalid, "unparseable: " + env.error().message);
    channels::AdmitRequest request{std::move(env).value(), {}, ""};
    Report& report = request.envelope.report;
    std::string url = MediaUrlOf(request.envelope);
    if (!report.attachments.empty() || url.empty())
      return request;
    auto photo = media_.Fetch(url, *d.stop);
    if (d.stop->load())
      return MakeError(errors::kStopping, "stopping");
    if (photo) {
      report.attachments.push_back(std::move(photo).value());
    } else if (photo.error().code == errors::kStorageFailed) {
      return photo.error();  // our disk: the message is tried again
    } else {
      request.flags.push_back(kFlagPhotoUnavailable);
      log::Warn("open311 media_url not fetched", {{"reference", report.reference},
                                                  {"url", RedactUrl(url)},
                                                  {"reason", photo.error().message}});
    }
    return request;
  }

  struct Prepared {
    std::string body;
    int attempt = 0;
    channels::AdmitRequest request;
  };
  std::unique_ptr<channels::Admission> admission_;
  MediaFetcher media_;
  std::optional<Prepared> prepared_;
};

// A message queued before messages carried their type: an envelope of an Open311 report.
bool IsUntypedRequest(std::string_view body) {
  if (body.find("\"channel\":\"open311\"") == std::string_view::npos)
    return false;
  auto env = DecodeEnvelope(body);
  return env && env->report.channel == "open311";
}

}  // namespace

channels::Channel Channel() {
  channels::Channel c;
  c.name = "open311";
  c.display_name = "Open311";
  c.routes = RegisterRoutes;
  c.message_types.push_back(channels::HandledBy<RequestHandler>(kMessageType, IsUntypedRequest));
  c.enabled = [](const Config& config) { return config.Get<Settings>().enabled(); };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::open311
