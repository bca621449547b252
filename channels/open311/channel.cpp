#include "channels/open311/channel.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "channels/open311/media.hpp"
#include "channels/open311/open311.hpp"
#include "channels/open311/routes.hpp"
#include "channels/open311/settings.hpp"
#include "core/db.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "tickets/actions.hpp"
#include "tickets/events.hpp"
#include "tickets/followups.hpp"

namespace meldestelle::open311 {

namespace {

// The strings of a JSON array of URLs, at most kMaxMediaUrls.
std::vector<std::string> UrlsIn(const nlohmann::json& list) {
  std::vector<std::string> urls;
  if (!list.is_array())
    return urls;
  for (const auto& u : list) {
    if (u.is_string() && urls.size() < kMaxMediaUrls)
      urls.push_back(u.get<std::string>());
  }
  return urls;
}

// The media_url values the gateway put into the message ("media_urls"; one "media_url" in
// messages queued before several were taken); for a message queued before it did either, those
// in the raw POST body kept for audit.
std::vector<std::string> MediaUrlsOf(const Envelope& env) {
  if (env.channel_data.empty())
    return MediaUrlsFromRaw(env.raw);
  auto data = nlohmann::json::parse(env.channel_data, nullptr, false);
  std::vector<std::string> urls;
  if (!data.is_object())
    return urls;
  if (auto list = data.find("media_urls"); list != data.end()) {
    urls = UrlsIn(*list);
  } else if (auto one = data.find("media_url"); one != data.end() && one->is_string()) {
    urls.push_back(one->get<std::string>());
  }
  return urls;
}

// Fetches every URL: the photos that could be had, and whether any could not. Errors: our disk
// (storage_failed: the message is tried again), stopping.
struct Fetched {
  std::vector<Attachment> photos;
  bool missing = false;
};
Result<Fetched> FetchAll(MediaFetcher& media, const std::vector<std::string>& urls,
                         const std::string& reference, const std::atomic<bool>& stop) {
  Fetched out;
  for (const auto& url : urls) {
    auto photo = media.Fetch(url, stop);
    if (stop.load())
      return MakeError(errors::kStopping, "stopping");
    if (photo) {
      bool seen = false;
      for (const auto& p : out.photos)
        seen = seen || p.sha256 == photo->sha256;
      if (!seen)
        out.photos.push_back(std::move(photo).value());
    } else if (photo.error().code == errors::kStorageFailed) {
      return photo.error();
    } else {
      out.missing = true;
      log::Warn(
          "open311 media_url not fetched",
          {{"reference", reference}, {"url", RedactUrl(url)}, {"reason", photo.error().message}});
    }
  }
  return out;
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
    std::vector<std::string> urls = MediaUrlsOf(request.envelope);
    if (urls.empty())
      return request;
    auto fetched = FetchAll(media_, urls, report.reference, *d.stop);
    if (!fetched)
      return fetched.error();
    // After the photos uploaded with the request (multipart "media"), if there were any.
    for (auto& photo : fetched->photos)
      report.attachments.push_back(std::move(photo));
    if (fetched->missing)
      request.flags.push_back(kFlagPhotoUnavailable);
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

// A client's update on a request (POST servicerequestupdates, queued by the gateway): kept with
// the ticket as a follow-up (once per client and client's update id), its photos fetched first;
// a "still broken" update (status OPEN, REOPEN, …) on a ticket that is done reopens it for its
// department (tickets::ReopenByCitizen). A request whose ticket the worker has not written yet is
// tried again later (the report's message is ahead of this one on the queue).
class UpdateHandler final : public channels::Handler {
 public:
  explicit UpdateHandler(channels::WorkerServices& s)
      : config_(s.config()), session_(s.config().database.url), media_(s.config()) {}

  Status Handle(const channels::Delivery& d) override {
    auto m = nlohmann::json::parse(d.body, nullptr, false);
    auto text = [&](const char* key) {
      auto it = m.find(key);
      return it != m.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!m.is_object() || text("reference").empty() || text("update_id").empty())
      return MakeError(errors::kMessageInvalid, "an Open311 update needs reference and update_id");
    const std::string reference = text("reference"), update_id = text("update_id");
    if (!fetched_ || fetched_->first != std::string(d.body)) {
      auto list = m.find("media_urls");
      auto photos = FetchAll(media_, list != m.end() ? UrlsIn(*list) : std::vector<std::string>(),
                             reference, *d.stop);
      if (!photos)
        return photos.error();
      fetched_.emplace(std::string(d.body), std::move(photos).value());
    }
    nlohmann::json files = nlohmann::json::array();
    for (const auto& p : fetched_->second.photos) {
      files.push_back({{"sha256", p.sha256},
                       {"media_type", p.media_type},
                       {"size", p.size},
                       {"filename", p.filename}});
    }
    // The same update sent again by its client is kept once (a client's update ids may be
    // unique per request only).
    std::string client = text("client"), client_id = text("client_update_id");
    std::string message_id =
        client_id.empty() ? update_id : client + ":" + reference + ":" + client_id;
    std::string status = text("status");
    // A "still broken" update reopens; an open status with any remark only when written well
    // after the closing (the client may not have fetched it yet). REOPEN always.
    const int grace =
        status == "REOPEN" ? 0 : config_.Get<Settings>().reopen_grace_minutes * 60;
    std::string said_at = text("updated_datetime");
    if (said_at.empty())
      said_at = text("received_at");
    auto keep = [&](db::Tx& tx) -> bool {
      std::string own = tickets::TicketIdOf(tx, reference);
      if (own.empty())
        return false;
      // Staff work on the ticket a duplicate joined: the update goes there.
      std::string ticket =
          tx.exec_params1("SELECT COALESCE(duplicate_of, id)::text FROM tickets WHERE id = $1::uuid",
                          own)[0]
              .as<std::string>();
      bool fresh = tickets::RecordFollowup(
          tx, config_, {ticket, "open311", message_id, text("description"), files.dump(), {}, {}});
      bool reopened = false;
      if (fresh && UpdateSaysOpen(status)) {
        auto r = tickets::ReopenByCitizen(
            tx, config_, ticket, "open311:" + client,
            "Über " + client + " (Open311) wird gemeldet, dass der Mangel noch besteht.",
            tickets::DetailsText({{"update_id", update_id}, {"reference", reference}}), said_at,
            grace);
        reopened = r && *r;
      }
      tx.commit();
      log::Info("open311 update kept", {{"reference", reference},
                                        {"update_id", update_id},
                                        {"new", fresh ? "yes" : "no"},
                                        {"reopened", reopened ? "yes" : "no"}});
      return true;
    };
    // The report's own message may still be on its way (another consumer fetching its photos):
    // wait for its ticket here, up to a minute, before the message goes round again.
    std::chrono::milliseconds backoff(100), waited(0);
    while (true) {
      auto written = session_.Transact<bool>(keep);
      if (!written)
        return written.error();
      if (*written)
        break;
      if (waited >= std::chrono::seconds(60) || d.stop->load()) {
        return MakeError(errors::kNotFound,
                         "the ticket of " + reference + " is not written yet; tried again later");
      }
      WaitUnlessStopped(backoff, *d.stop);
      waited += backoff;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2500));
    }
    fetched_.reset();
    return Ok{};
  }

 private:
  const Config& config_;
  db::Session session_;
  MediaFetcher media_;
  std::optional<std::pair<std::string, Fetched>> fetched_;  // the photos of the last delivery
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
  // A report may come as multipart with its photos (the GeoReporter apps' "media"): as large as
  // the web form's; its fields keep gateway.max_body_bytes (routes.cpp, ReadMultipart).
  c.body_limits = [](const Config& config) {
    return std::vector<channels::BodyLimit>{
        {"/open311/v2/requests", 0, config.gateway.max_request_bytes}};
  };
  c.uri_too_long = [](std::string_view target, httplib::Response& res) {
    constexpr std::string_view kPrefix = "/open311/";
    if (target.substr(0, kPrefix.size()) != kPrefix)
      return false;
    // The format from the path's suffix, as far as the cut-short target shows it.
    std::string_view path = target.substr(0, target.find_first_of("? "));
    Format f = SplitFormat(path).format;
    res.status = 414;
    res.set_content(RenderErrors({{"414",
                                   "the request line is longer than 8192 bytes, the most this "
                                   "server reads; ask for fewer service_request_ids at a time "
                                   "(about 500 fit), or follow changes with GET "
                                   "servicerequestupdates, which has no such limit"}},
                                 f),
                    ContentType(f));
    return true;
  };
  c.message_types.push_back(channels::HandledBy<RequestHandler>(kMessageType, IsUntypedRequest));
  c.message_types.push_back(channels::HandledBy<UpdateHandler>(kUpdateMessageType));
  c.enabled = [](const Config& config) { return config.Get<Settings>().enabled(); };
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::open311
