#include "workers/chat_drafts.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "core/log.hpp"
#include "core/sql.hpp"
#include "core/wait.hpp"
#include "outbox/outbox.hpp"
#include "workers/chat_texts.hpp"

namespace meldestelle::workers {

using namespace meldestelle::tickets;  // NOLINT: until the outbox and channel moves

DraftCloser::DraftCloser(const Config& config, const RuleSource& rules, metrics::Registry& registry)
    : config_(config),
      rules_(rules),
      store_(config),
      published_(registry.GetCounter("meldestelle_chat_drafts_published_total",
                                     "Chat drafts turned into reports.")),
      asked_(registry.GetCounter("meldestelle_chat_location_asked_total",
                                 "Chat drafts without a place whose sender was asked for it.")) {}

namespace {

struct Draft {
  int64_t id = 0;
  std::string channel, sender, report_id, reference, state, first_message_id, opened_at;
  std::string name, language;
};

}  // namespace

Result<int> DraftCloser::RunOnce() {
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  int handled = 0;
  while (true) {
    int64_t current = 0;
    // One draft per transaction; the row lock keeps other closers and the intake away from it.
    auto r = RunDb<bool>([&]() -> bool {
      db::Tx tx(*conn_);
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
      Draft d;
      const auto& row = rows[0];
      d.id = row[0].as<int64_t>();
      current = d.id;
      d.channel = row[1].as<std::string>();
      d.sender = row[2].as<std::string>();
      d.report_id = row[3].as<std::string>();
      d.reference = row[4].as<std::string>();
      d.state = row[5].as<std::string>();
      d.first_message_id = row[6].as<std::string>();
      d.opened_at = row[7].as<std::string>();
      d.name = row[8].as<std::string>();
      d.language = row[9].as<std::string>();

      Report report;
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
      bool voice = false, unloadable = false, has_content = false;
      std::optional<std::pair<double, double>> photo_place;
      auto items = tx.exec_params(
          "SELECT kind, text, lat, lon, accuracy_m, place, sha256, media_type, size, filename,"
          " photo_lat, photo_lon FROM chat_draft_items WHERE draft_id = $1"
          " ORDER BY received_at, message_id",
          d.id);
      for (const auto& it : items) {
        std::string kind = it[0].as<std::string>();
        if (kind == "text") {
          std::string t = it[1].as<std::string>();
          if (!report.text.empty())
            report.text += "\n";
          report.text += t;
          has_content = true;
        } else if (kind == "location") {
          report.location.lat = it[2].as<double>();
          report.location.lon = it[3].as<double>();
          report.location.accuracy_m =
              it[4].is_null() ? std::optional<double>() : std::optional<double>(it[4].as<double>());
          report.location.source = LocationSource::kDevice;
          report.location.address = it[5].as<std::string>();
        } else {
          has_content = true;
          voice = voice || kind == "audio";
          if (it[6].is_null()) {
            unloadable = true;
            continue;
          }
          Attachment a;
          a.sha256 = it[6].as<std::string>();
          a.media_type = it[7].as<std::string>();
          a.size = it[8].as<int64_t>();
          a.filename = it[9].as<std::string>();
          report.attachments.push_back(std::move(a));
          if (!photo_place && !it[10].is_null() && !it[11].is_null()) {
            photo_place = {it[10].as<double>(), it[11].as<double>()};
          }
        }
      }
      if (!report.location.lat && photo_place) {
        // No pin: the GPS position the camera wrote into the photo.
        report.location.lat = photo_place->first;
        report.location.lon = photo_place->second;
        report.location.source = LocationSource::kPhoto;
      }
      bool located = report.location.lat.has_value();
      if (!located && d.state == "open" && has_content) {
        nlohmann::json payload{{"text", AskLocationText(d.language)},
                               {"language", d.language},
                               {"reply_to", ""},
                               {"reference", ""}};
        outbox::Enqueue(tx, {outbox::Kind::kChatReply, "", d.channel, d.sender, payload.dump(),
                             "ask_location:" + std::to_string(d.id)});
        tx.exec_params0(
            "UPDATE chat_drafts SET state = 'asked_location',"
            " deadline = now() + make_interval(secs => $2) WHERE id = $1",
            d.id, config_.chat.draft_window_seconds);
        tx.commit();
        asked_.Inc();
        log::Info("chat draft without a place: asked the citizen",
                  {{"reference", d.reference}, {"channel", d.channel}});
        return true;
      }
      RuleSets sets = rules_.Current();
      routing::Decision decision = routing::Route(*sets.live, report);
      if (!located)
        decision.flags.push_back("Ort fehlt");
      if (voice)
        decision.flags.push_back("Sprachnachricht");
      if (unloadable)
        decision.flags.push_back("Anhang nicht geladen");
      std::optional<routing::Decision> shadow;
      if (sets.candidate) {
        routing::Decision candidate = routing::Route(*sets.candidate, report);
        if (candidate.department != decision.department || candidate.rule_id != decision.rule_id) {
          shadow = std::move(candidate);
        }
      }
      const Department* dept = config_.FindDepartment(decision.department);
      Envelope env{report, {}};
      auto outcome =
          store_.CreateTicket(env, decision, dept != nullptr ? dept->name : decision.department,
                              shadow ? &*shadow : nullptr);
      if (!outcome) {
        throw std::runtime_error("ticket for chat draft " + d.reference + ": " +
                                 outcome.error().message + ": " + outcome.error().detail);
      }
      tx.exec_params0(
          "UPDATE chat_drafts SET state = 'published', published_at = now(),"
          " ticket_id = (SELECT id FROM tickets WHERE channel = $2 AND channel_message_id = $3)"
          " WHERE id = $1",
          d.id, d.channel, report.channel_message_id);
      tx.commit();
      published_.Inc();
      log::Info("chat draft published", {{"reference", d.reference},
                                         {"channel", d.channel},
                                         {"department", decision.department},
                                         {"located", located ? "yes" : "no"}});
      return true;
    });
    if (!r) {
      if (IsTransientDbError(r.error())) {
        conn_.reset();
        return r.error();
      }
      if (current == 0)
        return r.error();  // failed before a draft was taken: nothing to set aside
      // Not the environment's fault: set this draft aside for a while so the others proceed.
      log::Error("chat draft could not be published; retrying it in 5 minutes",
                 {{"error", r.error().message + ": " + r.error().detail}});
      auto later = RunDb<Ok>([&] {
        db::Tx tx(*conn_);
        tx.exec_params0(
            "UPDATE chat_drafts SET deadline = now() + interval '5 minutes' WHERE id = $1",
            current);
        tx.commit();
        return Ok{};
      });
      if (!later)
        return later.error();
      continue;
    }
    if (!*r)
      return handled;
    ++handled;
  }
}

Result<int64_t> DraftCloser::ForgetOldEvents() {
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st.error();
  return RunDb<int64_t>([&] {
    db::Tx tx(*conn_);
    auto r = tx.exec_params(
        "DELETE FROM chat_events WHERE received_at < now() - make_interval(days => $1)",
        config_.chat.dedupe_days);
    // Receipts parked for ids we never recorded (not ours, or long gone).
    outbox::ForgetParkedReceipts(tx, config_.chat.dedupe_days);
    tx.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

void DraftCloser::Run(const std::atomic<bool>& stop, std::chrono::milliseconds interval) {
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

}  // namespace meldestelle::workers
