#include "channels/chat/drafts.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "channels/chat/settings.hpp"
#include "channels/chat/texts.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/wait.hpp"
#include "outbox/outbox.hpp"
#include "routing/settings.hpp"

namespace meldestelle::chat {

struct DraftCloser::Draft {
  int64_t id = 0;
  std::string channel, sender, report_id, reference, state, first_message_id, opened_at;
  std::string name, language;
};

// What the draft's items add up to.
struct DraftCloser::Contents {
  Report report;
  bool voice = false, unloadable = false, has_content = false;
  bool transcribed = false;  // a voice note's text is in the report's text
  bool cut = false;          // text or attachments beyond the caps below were left out
};

namespace {

// A report from a chat holds what a report from an e-mail holds at most: kMaxReportTextBytes of
// text (core/report.hpp) and 20 files. A draft grows with every message its sender sends within
// the window; what is beyond stays in the chat's history, flagged for staff.
constexpr size_t kMaxAttachments = 20;

}  // namespace

DraftCloser::DraftCloser(const Config& config, std::unique_ptr<channels::Admission> admission,
                         const routing::Gazetteer* gazetteer, metrics::Registry& registry)
    : settings_(config.Get<Settings>()),
      admission_(std::move(admission)),
      gazetteer_(gazetteer),
      place_min_confidence_(config.Get<routing::Settings>().place_min_confidence),
      texts_(texts::Of(config)),
      session_(config.database.url),
      published_(registry.GetCounter("meldestelle_chat_drafts_published_total",
                                     "Chat drafts turned into reports.")),
      asked_(registry.GetCounter("meldestelle_chat_location_asked_total",
                                 "Chat drafts without a place whose sender was asked for it.")) {}

Result<int> DraftCloser::RunOnce() {
  int handled = 0;
  while (true) {
    int64_t taken = 0;
    // One draft per transaction; the row lock keeps other closers and the intake away from it.
    auto r = session_.Transact<bool>([&](db::Tx& tx) { return CloseOne(tx, &taken); });
    if (!r) {
      if (db::IsTransient(r.error()) || taken == 0)
        return r.error();
      // Not the environment's fault: set this draft aside for a while so the others proceed.
      log::Error("chat draft could not be published; retrying it in 5 minutes",
                 {{"error", r.error().message + ": " + r.error().detail}});
      if (auto st = SetAside(taken); !st)
        return st.error();
      continue;
    }
    if (!*r)
      return handled;
    ++handled;
  }
}

bool DraftCloser::CloseOne(db::Tx& tx, int64_t* taken) {
  auto rows = tx.exec(
      "SELECT d.id, d.channel, d.sender, d.report_id::text, d.reference, d.state,"
      " d.first_message_id,"
      " to_char(d.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
      " coalesce(c.name, ''), coalesce(c.language, 'de')"
      " FROM chat_drafts d LEFT JOIN chat_contacts c"
      "   ON c.channel = d.channel AND c.address = d.sender"
      " WHERE d.state <> 'published' AND d.deadline <= now()"
      " ORDER BY d.deadline LIMIT 1 FOR UPDATE OF d SKIP LOCKED");
  if (rows.empty())
    return false;
  const auto& row = rows[0];
  Draft d{row[0].as<int64_t>(),     row[1].as<std::string>(), row[2].as<std::string>(),
          row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<std::string>(),
          row[6].as<std::string>(), row[7].as<std::string>(), row[8].as<std::string>(),
          row[9].as<std::string>()};
  *taken = d.id;
  Contents c = Read(tx, d);
  // "Lindenstraße 7" in the text is a place: the admit step gives it its position.
  std::optional<routing::LocatedPlace> named;
  if (!c.report.location.lat && gazetteer_ != nullptr)
    named = routing::LocateReport(*gazetteer_, c.report);
  bool placeable = named && named->match.confidence >= place_min_confidence_;
  if (!c.report.location.lat && !placeable && d.state == "open" && c.has_content) {
    AskForPlace(tx, d);
  } else {
    Publish(tx, d, std::move(c));
  }
  return true;
}

// The report the draft's items make: texts joined, photos and recordings attached, the pin (or
// else the first photo's GPS) as the place.
DraftCloser::Contents DraftCloser::Read(db::Tx& tx, const Draft& d) const {
  Contents c;
  Report& report = c.report;
  report.id = d.report_id;
  report.reference = d.reference;
  report.channel = d.channel;
  report.channel_message_id = "draft:" + d.first_message_id;
  report.received_at = d.opened_at;
  report.reporter.address = d.sender;
  report.reporter.name = d.name;
  report.reporter.ack_channel = d.channel;
  report.reporter.ack_address = d.sender;
  report.reporter.language = d.language;
  std::optional<std::pair<double, double>> photo_place;
  auto items = tx.exec_params(
      "SELECT kind, text, lat, lon, accuracy_m, place, sha256, media_type, size, filename,"
      " photo_lat, photo_lon, transcript FROM chat_draft_items WHERE draft_id = $1"
      " ORDER BY received_at, message_id",
      d.id);
  for (const auto& it : items) {
    std::string kind = it[0].as<std::string>();
    if (kind == "text") {
      if (!report.text.empty())
        report.text += "\n";
      report.text += it[1].as<std::string>();
      c.has_content = true;
    } else if (kind == "location") {
      report.location.lat = it[2].as<double>();
      report.location.lon = it[3].as<double>();
      report.location.accuracy_m =
          it[4].is_null() ? std::optional<double>() : std::optional<double>(it[4].as<double>());
      report.location.source = LocationSource::kDevice;
      report.location.address = it[5].as<std::string>();
    } else {
      c.has_content = true;
      c.voice = c.voice || kind == "audio";
      if (std::string said = it[12].as<std::string>(); kind == "audio" && !said.empty()) {
        // What the voice note says counts as text: routing and the place read it.
        if (!report.text.empty())
          report.text += "\n";
        report.text += said;
        c.transcribed = true;
      }
      if (it[6].is_null()) {
        c.unloadable = true;
        continue;
      }
      if (report.attachments.size() == kMaxAttachments) {
        c.cut = true;
        continue;
      }
      report.attachments.push_back({it[6].as<std::string>(), it[7].as<std::string>(),
                                    it[8].as<int64_t>(), it[9].as<std::string>()});
      if (!photo_place && !it[10].is_null() && !it[11].is_null()) {
        photo_place = {it[10].as<double>(), it[11].as<double>()};
      }
    }
  }
  if (report.text.size() > kMaxReportTextBytes) {
    report.text.resize(Utf8Prefix(report.text, kMaxReportTextBytes).size());
    c.cut = true;
  }
  if (!report.location.lat && photo_place) {
    // No pin: the GPS position the camera wrote into the photo.
    report.location.lat = photo_place->first;
    report.location.lon = photo_place->second;
    report.location.source = LocationSource::kPhoto;
  }
  return c;
}

// Without a place and not asked yet: the question, and another window.
void DraftCloser::AskForPlace(db::Tx& tx, const Draft& d) {
  nlohmann::json payload{{"text", AskLocationText(texts::Lang(texts_, d.language))},
                         {"language", d.language},
                         {"reply_to", ""},
                         {"reference", ""}};
  outbox::Enqueue(tx, {outbox::Kind::kChatReply, "", d.channel, d.sender, payload.dump(),
                       "ask_location:" + std::to_string(d.id)});
  tx.exec_params0(
      "UPDATE chat_drafts SET state = 'asked_location',"
      " deadline = now() + make_interval(secs => $2) WHERE id = $1",
      d.id, settings_.draft_window_seconds);
  tx.commit();
  asked_.Inc();
  log::Info("chat draft without a place: asked the citizen",
            {{"reference", d.reference}, {"channel", d.channel}});
}

void DraftCloser::Publish(db::Tx& tx, const Draft& d, Contents c) {
  const bool located = c.report.location.lat.has_value();
  channels::AdmitRequest request{{c.report, {}, ""}, {}, ""};
  if (!located)
    request.flags.push_back("Ort fehlt");
  if (c.voice && c.transcribed)
    request.flags.push_back("Sprachnachricht, Text automatisch erkannt");
  else if (c.voice && !settings_.stt_url.empty())
    request.flags.push_back("Sprachnachricht, nicht transkribiert");
  else if (c.voice)
    request.flags.push_back("Sprachnachricht");
  if (c.unloadable)
    request.flags.push_back("Anhang nicht geladen");
  if (c.cut)
    request.flags.push_back("Gekürzt: mehr als 16 KiB Text oder 20 Anhänge");
  auto admitted = admission_->Admit(request);
  if (!admitted) {
    // The database away: the draft is tried again as soon as it answers (RunOnce), not set
    // aside for minutes as a draft that cannot be published is.
    if (db::IsTransient(admitted.error()))
      throw pqxx::broken_connection("ticket store");
    throw std::runtime_error("ticket for chat draft " + d.reference + ": " +
                             admitted.error().message + ": " + admitted.error().detail);
  }
  tx.exec_params0(
      "UPDATE chat_drafts SET state = 'published', published_at = now(),"
      " ticket_id = (SELECT id FROM tickets WHERE channel = $2 AND channel_message_id = $3)"
      " WHERE id = $1",
      d.id, d.channel, c.report.channel_message_id);
  tx.commit();
  published_.Inc();
  log::Info("chat draft published", {{"reference", d.reference},
                                     {"channel", d.channel},
                                     {"department", admitted->department},
                                     {"located", located ? "yes" : "no"}});
}

Status DraftCloser::SetAside(int64_t draft) {
  return session_.Transact<Ok>([&](db::Tx& tx) {
    tx.exec_params0("UPDATE chat_drafts SET deadline = now() + interval '5 minutes' WHERE id = $1",
                    draft);
    tx.commit();
    return Ok{};
  });
}

Result<int64_t> DraftCloser::ForgetOldEvents() {
  return session_.Transact<int64_t>([&](db::Tx& tx) {
    auto r = tx.exec_params(
        "DELETE FROM chat_events WHERE received_at < now() - make_interval(days => $1)",
        settings_.dedupe_days);
    // Receipts parked for ids we never recorded (not ours, or long gone).
    outbox::ForgetParkedReceipts(tx, settings_.dedupe_days);
    tx.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

void DraftCloser::Run(const std::atomic<bool>& stop) {
  // Drafts are checked often enough that a window closes within a quarter of its length.
  const auto interval =
      std::chrono::milliseconds(std::clamp(settings_.draft_window_seconds * 250, 200, 1000));
  auto next_cleanup = std::chrono::steady_clock::now();
  while (!stop.load()) {
    if (std::chrono::steady_clock::now() >= next_cleanup) {
      // Provider ids older than the retry horizon are forgotten (chat.dedupe_days).
      if (auto n = ForgetOldEvents(); n && *n > 0) {
        log::Info("forgot old chat event ids", {{"count", std::to_string(*n)}});
      }
      next_cleanup = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    }
    auto r = RunOnce();
    if (!r) {
      log::Warn("closing chat drafts failed, retrying",
                {{"error", r.error().message + ": " + r.error().detail}});
    }
    // Polling interval of a background loop (not a test synchronisation).
    WaitUnlessStopped(interval, stop);
  }
}

}  // namespace meldestelle::chat
