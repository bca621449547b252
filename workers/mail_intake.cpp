#include "workers/mail_intake.hpp"

#include <nlohmann/json.hpp>

#include "channels/email/mail.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/photo.hpp"
#include "core/sql.hpp"
#include "outbox/outbox.hpp"
#include "tickets/followups.hpp"
#include "tickets/provider_events.hpp"

namespace meldestelle::workers {

using namespace meldestelle::tickets;  // NOLINT: until the outbox and channel moves

using nlohmann::json;

MailIntake::MailIntake(const Config& config, const RuleSource& rules,
                       const routing::Gazetteer* gazetteer, metrics::Registry& registry)
    : config_(config),
      rules_(rules),
      gazetteer_(gazetteer),
      blobs_(config.storage.media_dir),
      store_(config),
      reports_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                   {{"outcome", "report"}})),
      followups_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                     {{"outcome", "followup"}})),
      bounces_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                   {{"outcome", "bounce"}})) {}

namespace {

struct Stored {
  Attachment attachment;
  std::optional<double> lat, lon;
};

}  // namespace

Status MailIntake::Process(const email::Message& m) {
  if (auto st = EnsureConnected(conn_, config_.database.url); !st)
    return st;
  const auto& cfg = config_.email;
  email::Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  Result<email::Mail> parsed = MakeError(errors::kMailInvalid, "unknown format " + m.format);
  if (m.format == "rfc822") {
    parsed = email::ParseMail(m.raw, limits);
  } else if (m.format == "mailgun" || m.format == "sendgrid") {
    auto fields = email::DecodeFields(m.raw);
    if (!fields)
      return fields.error();
    parsed = m.format == "mailgun" ? email::FromMailgun(*fields, limits)
                                   : email::FromSendGrid(*fields, limits);
  }
  if (!parsed)
    return MakeError(errors::kMailInvalid, parsed.error().message);
  const email::Mail& mail = *parsed;

  // Attachments first (file system, no transaction): photos without metadata, others as they are.
  std::vector<Stored> files;
  bool unclean = false;
  for (const auto& a : mail.attachments) {
    if (a.bytes.empty())
      continue;
    std::string type = SniffMediaType(a.bytes);
    std::string bytes = a.bytes;
    Stored s;
    if (IsImageMediaType(type)) {
      if (auto meta = ReadPhotoMetadata(bytes); meta && meta->lat && meta->lon) {
        s.lat = meta->lat;
        s.lon = meta->lon;
      }
      auto stripped = StripPhoto(bytes);
      if (!stripped) {
        unclean = true;  // staff only ever see cleaned copies
        continue;
      }
      bytes = std::move(stripped).value();
    } else if (type.empty()) {
      type = "application/octet-stream";
    }
    std::string sha = Sha256Hex(bytes);
    if (auto put = blobs_.Put(bytes, sha); !put) {
      return MakeError(errors::kDbUnavailable, "media storage failed", put.error().message);
    }
    s.attachment = {sha, type, static_cast<int64_t>(bytes.size()),
                    a.filename.empty() ? "anhang" : a.filename};
    files.push_back(std::move(s));
  }

  // Bounces and follow-ups: one transaction, remembered by the mail's key.
  auto handled = RunDb<bool>([&]() -> bool {
    db::Tx tx(*conn_);
    if (mail.robot == email::Robot::kBounce) {
      if (!RememberProviderEvent(tx, "email", mail.dedupe_key, "", "bounce"))
        return true;
      if (!mail.bounced_message_id.empty()) {
        outbox::MarkBounced(tx, mail.bounced_message_id, mail.subject.substr(0, 200));
      }
      tx.commit();
      bounces_.Inc();
      return true;
    }
    // A reply to one of our mails, or a mail that names a reference: a follow-up.
    std::string ticket;
    for (const auto& id : mail.in_reply_to_and_references) {
      ticket = outbox::TicketOfMessage(tx, "email", id);
      if (!ticket.empty())
        break;
    }
    if (ticket.empty() && !mail.references_reference.empty()) {
      ticket = TicketIdOf(tx, mail.references_reference);
    }
    if (ticket.empty())
      return false;
    if (!RememberProviderEvent(tx, "email", mail.dedupe_key, "", "followup"))
      return true;
    json list = json::array();
    for (const auto& f : files) {
      list.push_back({{"sha256", f.attachment.sha256},
                      {"media_type", f.attachment.media_type},
                      {"size", f.attachment.size},
                      {"filename", f.attachment.filename}});
    }
    std::string text = mail.text;
    if (mail.robot != email::Robot::kNone)
      text = "[Automatische Nachricht] " + text;
    RecordFollowup(tx, {ticket, "email", mail.dedupe_key, text, list.dump()});
    tx.commit();
    followups_.Inc();
    return true;
  });
  if (!handled) {
    if (IsTransientDbError(handled.error()))
      conn_.reset();
    return handled.error();
  }
  if (*handled)
    return Ok{};

  // A new report.
  Report r;
  r.id = m.report_id;
  r.reference = m.reference;
  r.channel = "email";
  r.channel_message_id = mail.dedupe_key;
  r.received_at = m.received_at;
  std::string address = mail.reply_to.empty() ? mail.from_address : mail.reply_to;
  r.reporter.address = mail.from_address;
  r.reporter.name = mail.from_name;
  bool answer = mail.robot == email::Robot::kNone && !mail.return_path_empty && !address.empty();
  r.reporter.ack_channel = answer ? "email" : "none";
  r.reporter.ack_address = answer ? address : "";
  r.text = mail.text;
  std::vector<std::string> flags;
  for (const auto& f : files) {
    r.attachments.push_back(f.attachment);
    if (!r.location.lat && f.lat) {
      r.location.lat = f.lat;
      r.location.lon = f.lon;
      r.location.source = LocationSource::kPhoto;
    }
  }
  if (unclean)
    flags.push_back("Foto nicht bereinigt, nicht gespeichert");
  std::optional<routing::PlaceMatch> place;
  if (!r.location.lat && gazetteer_ != nullptr)
    place = routing::FindPlace(*gazetteer_, mail.text);
  if (place) {
    r.location.lat = place->lat;
    r.location.lon = place->lon;
    r.location.source = LocationSource::kAddress;
    r.location.address =
        place->street + (place->house_number.empty() ? "" : " " + place->house_number);
    if (place->confidence < config_.phone.location_min_confidence)
      flags.push_back("Ort unsicher");
  }
  json extra{{"in_reply_to", mail.message_id}, {"subject", mail.subject}};
  json refs = json::array();
  for (auto it = mail.in_reply_to_and_references.rbegin();
       it != mail.in_reply_to_and_references.rend(); ++it) {
    refs.push_back(*it);
  }
  extra["references"] = refs;
  if (!r.location.lat) {
    flags.push_back("Ort fehlt");
    extra["ask_location"] = true;
    extra["location_message"] =
        "Leider konnten wir den Ort nicht erkennen. Bitte antworten Sie auf diese E-Mail mit "
        "Straße und Hausnummer oder einem Foto mit Standort.";
  }
  if (mail.robot != email::Robot::kNone)
    flags.push_back("Automatische Nachricht");
  RuleSets sets = rules_.Current();
  routing::Decision decision = routing::Route(*sets.live, r);
  for (auto& f : flags)
    decision.flags.push_back(f);
  const Department* dept = config_.FindDepartment(decision.department);
  Envelope env{r,
               {m.format == "rfc822" ? "message/rfc822"
                                     : "application/vnd.meldestelle." + m.format + "+json",
                m.raw}};
  auto outcome = store_.CreateTicket(
      env, decision, dept != nullptr ? dept->name : decision.department, nullptr, nullptr, &extra);
  if (!outcome)
    return outcome.error();
  reports_.Inc();
  log::Info("mail report", {{"reference", r.reference},
                            {"department", decision.department},
                            {"place", place ? place->kind : (r.location.lat ? "photo" : "none")},
                            {"answer", answer ? "yes" : "no"}});
  return Ok{};
}

}  // namespace meldestelle::workers
