#include "channels/email/intake.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "channels/email/settings.hpp"
#include "channels/email/tnef.hpp"
#include "channels/phone/settings.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/photo.hpp"
#include "core/sql.hpp"
#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"
#include "outbox/outbox.hpp"
#include "routing/gazetteer.hpp"
#include "tickets/followups.hpp"
#include "tickets/provider_events.hpp"

namespace meldestelle::email {

using nlohmann::json;
using tickets::RememberProviderEvent;

struct MailIntake::Stored {
  meldestelle::Attachment attachment;
  std::optional<double> lat, lon;
};

struct MailIntake::Files {
  std::vector<Stored> stored;
  bool unclean = false;  // a photo that could not be cleaned was not kept
  bool documents_dropped = false;  // a document (PDF, office file) was not kept
};

MailIntake::MailIntake(const Config& config, channels::Admission& admission,
                       const routing::Gazetteer* gazetteer, metrics::Registry& registry)
    : config_(config),
      admission_(admission),
      gazetteer_(gazetteer),
      blobs_(config.storage.media_dir),
      session_(config.database.url),
      reports_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                   {{"outcome", "report"}})),
      followups_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                     {{"outcome", "followup"}})),
      bounces_(registry.GetCounter("meldestelle_mail_total", "E-mails handled, by outcome.",
                                   {{"outcome", "bounce"}})) {}

Status MailIntake::Process(const Message& m, bool last_attempt) {
  auto mail = Parse(m, last_attempt);
  if (!mail)
    return mail.error();
  auto files = StoreFiles(*mail);
  if (!files)
    return files.error();
  auto known = HandleKnown(*mail, *files);
  if (!known)
    return known.error();
  if (*known)
    return Ok{};
  std::string place;
  auto admitted = admission_.Admit(ReportOf(m, *mail, *files, &place));
  if (!admitted)
    return admitted.error();
  reports_.Inc();
  log::Info("mail report",
            {{"reference", m.reference}, {"department", admitted->department}, {"place", place}});
  return Ok{};
}

namespace {

// The files inside a winmail.dat, read by `meldestelle-tnef` (beside our own executable) in a
// process of its own (channels/email/tnef.hpp): what goes wrong in the library (a crash, its CPU
// limit, a stream it refuses) ends there, and the stream is taken as unreadable. What may pass
// (it could not run, took too long) is an error, and the mail is tried again; on the last attempt
// the stream is taken as unreadable too, unless the program is missing or broken.
Result<std::optional<std::vector<Attachment>>> UnpackTnefApart(std::string_view bytes,
                                                               bool last_attempt) {
  const std::string program =
      std::filesystem::path(OwnExecutable()).parent_path() / "meldestelle-tnef";
  FilterLimits limits;
  limits.timeout = std::chrono::seconds(10);
  limits.max_output = bytes.size() + (size_t{1} << 20);  // the files are parts of the stream
  // The sanitizer build's options reach it; the worker's secrets do not.
  FilterResult run =
      RunFilter({program}, bytes, limits, {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"});
  // Its own verdict on the stream is exit status 3 (app/tnef_main.cpp); another status is a
  // program that could not run as it should (a library missing, a usage error).
  const bool streams_fault =
      run.failure == FilterFailure::kProgram && (run.exit_status == -1 || run.exit_status == 3);
  // The program missing or broken where it is installed (not started; 126, 127: exec or its
  // libraries; 2: a usage error): never the stream's, on no attempt. The mail waits in the
  // dead letters, whole, until it is fixed.
  const bool installation_fault =
      run.failure != FilterFailure::kNone &&
      (!run.started || run.exit_status == 126 || run.exit_status == 127 || run.exit_status == 2);
  if (run.failure != FilterFailure::kNone && !streams_fault &&
      (!last_attempt || installation_fault))
    return MakeError(errors::kMediaTransient, "winmail.dat not read for now", run.reason);
  if (run.failure != FilterFailure::kNone) {
    log::Warn("winmail.dat not read", {{"bytes", std::to_string(bytes.size())},
                                       {"reason", run.reason},
                                       {"last_attempt", last_attempt ? "yes" : "no"}});
    return std::optional<std::vector<Attachment>>();
  }
  auto files = DecodeFiles(run.output);
  if (!files)
    log::Warn("winmail.dat not read", {{"reason", "meldestelle-tnef wrote no list of files"}});
  return files;
}

}  // namespace

Result<Mail> MailIntake::Parse(const Message& m, bool last_attempt) const {
  const auto& cfg = config_.Get<Settings>();
  Limits limits{cfg.max_message_bytes, cfg.max_attachments, cfg.max_depth};
  Result<Mail> parsed = MakeError(errors::kMailInvalid, "unknown format " + m.format);
  if (m.format == "rfc822") {
    parsed = ParseMail(m.raw, limits);
  } else if (m.format == "mailgun" || m.format == "sendgrid") {
    auto fields = DecodeFields(m.raw);
    if (!fields)
      return fields.error();
    parsed = m.format == "mailgun" ? FromMailgun(*fields, limits) : FromSendGrid(*fields, limits);
  }
  if (!parsed)
    return MakeError(errors::kMailInvalid, parsed.error().message);
  TakeFormRelay(cfg.form_senders, cfg.from, &*parsed);
  auto unpack = [last_attempt](std::string_view bytes) {
    return UnpackTnefApart(bytes, last_attempt);
  };
  if (auto st = ExpandTnef(limits, unpack, &*parsed); !st)
    return st.error();
  return parsed;
}

namespace {

// What of a mail's attachments is not kept, as notes for staff (a ticket's flags, a follow-up's
// last lines).
std::vector<std::string> NotKept(const Mail& mail) {
  std::vector<std::string> notes;
  if (mail.attachments_not_kept > 0)
    notes.push_back("Anhänge über der Höchstzahl nicht gespeichert");
  if (mail.tnef_not_read > 0)
    notes.push_back("Outlook-Anhang (winmail.dat) nicht lesbar");
  return notes;
}

// The mail as raw_payloads keeps it: without its attachments' bytes (the photos are kept cleaned
// as attachments of the ticket; docs/datenschutz.md, "Minimisation").
std::string RawForEvidence(const Message& m) {
  if (m.format == "rfc822")
    return WithoutAttachments(m.raw);
  auto fields = DecodeFields(m.raw);
  if (!fields)
    return "";
  std::vector<FormField> kept;
  for (auto& f : *fields) {
    if (!f.filename.empty())
      continue;  // an attachment-N file
    if (f.name == "body-mime" || f.name == "email")
      f.value = WithoutAttachments(f.value);  // Mailgun's and SendGrid's whole MIME
    kept.push_back(std::move(f));
  }
  return EncodeFields(kept);
}

}  // namespace

// Attachments first (file system, no transaction): photos without metadata and voice messages;
// documents are not kept (core/media.hpp, KeepsFileType).
Result<MailIntake::Files> MailIntake::StoreFiles(const Mail& mail) {
  Files out;
  for (const auto& a : mail.attachments) {
    if (a.bytes.empty() || IsTnef(a))
      continue;  // ExpandTnef leaves no winmail.dat; one would never be kept as a document
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
        out.unclean = true;  // staff only ever see cleaned copies
        continue;
      }
      bytes = std::move(stripped->bytes);
      type = std::move(stripped->media_type);  // HEIC and AVIF become JPEG
    } else if (!KeepsFileType(type)) {
      out.documents_dropped = true;  // documents carry their author's metadata
      continue;
    }
    std::string sha = Sha256Hex(bytes);
    if (auto put = blobs_.Put(bytes, sha); !put) {
      return MakeError(errors::kDbUnavailable, "media storage failed", put.error().message);
    }
    s.attachment = {sha, type, static_cast<int64_t>(bytes.size()),
                    a.filename.empty() ? "anhang" : PhotoFileName(a.filename, type)};
    out.stored.push_back(std::move(s));
  }
  return out;
}

Result<bool> MailIntake::HandleKnown(const Mail& mail, const Files& files) {
  // Bounces and follow-ups: one transaction, remembered by the mail's key.
  return session_.Transact<bool>([&](db::Tx& tx) -> bool {
    if (mail.robot == Robot::kBounce) {
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
    // At most the first 20 ids (In-Reply-To, then References from the thread's start, where our
    // own mail is): a mail listing thousands is no way to try Message-IDs (they are signed, too:
    // channels/email/compose.hpp).
    std::string ticket;
    int looked = 0;
    for (const auto& id : mail.in_reply_to_and_references) {
      if (++looked > 20)
        break;
      ticket = outbox::TicketOfMessage(tx, "email", id);
      if (!ticket.empty())
        break;
    }
    // Not for a web form's mail (nor our own address's), relayed or not: the form checks no
    // address.
    const auto& cfg = config_.Get<Settings>();
    if (ticket.empty() && !mail.references_reference.empty() &&
        !IsFormSender(cfg.form_senders, cfg.from, mail.from_address)) {
      // A reference is public (the status page): by it alone, only its reporter's own address
      // adds to a ticket, as the From (which DMARC checks; a Reply-To nobody checks). Anyone
      // else's mail naming it is a report of its own.
      auto own = tx.exec_params(
          "SELECT id::text FROM tickets WHERE reference = $1 AND lower(NULLIF($2, '')) IN"
          " (lower(reporter->>'address'), lower(reporter->'ack'->>'address'))",
          mail.references_reference, mail.from_address);
      if (!own.empty())
        ticket = own[0][0].as<std::string>();
    }
    if (ticket.empty())
      return false;
    if (!RememberProviderEvent(tx, "email", mail.dedupe_key, "", "followup"))
      return true;
    json list = json::array();
    for (const auto& f : files.stored) {
      list.push_back({{"sha256", f.attachment.sha256},
                      {"media_type", f.attachment.media_type},
                      {"size", f.attachment.size},
                      {"filename", f.attachment.filename}});
    }
    std::string text = mail.text;
    if (mail.robot != Robot::kNone)
      text = "[Automatische Nachricht] " + text;
    // What of the mail is not with the follow-up, for the department to ask for.
    for (const std::string& note : NotKept(mail))
      text += "\n[" + note + "]";
    tickets::Followup f{ticket,      "email",      mail.dedupe_key, text,
                        list.dump(), std::nullopt, std::nullopt};
    // A robot's answer (out of office) stays with the ticket but is not sent to the department.
    f.tell_department = mail.robot == Robot::kNone;
    tickets::RecordFollowup(tx, config_, f);
    tx.commit();
    followups_.Inc();
    return true;
  });
}

// A new report: the sender's address for the answer (none for robots), photos and their GPS
// position, else the place named in the text; threaded to the citizen's mail.
channels::AdmitRequest MailIntake::ReportOf(const Message& m, const Mail& mail, const Files& files,
                                            std::string* place_kind) const {
  channels::AdmitRequest request;
  Report& r = request.envelope.report;
  std::vector<std::string>& flags = request.flags;
  r.id = m.report_id;
  r.reference = m.reference;
  r.channel = "email";
  r.channel_message_id = mail.dedupe_key;
  r.received_at = m.received_at;
  // Addresses from headers become recipients only when they are plain addresses of a domain: a
  // Reply-To that is not is ignored, and without a usable From no acknowledgement goes out.
  std::string address = IsRecipientAddress(mail.reply_to)       ? mail.reply_to
                        : IsRecipientAddress(mail.from_address) ? mail.from_address
                                                                : "";
  // A web form's mail (Mail::relayed_by) is the citizen's at its Reply-To; its From's display
  // name is often theirs ("[your-name] <wordpress@…>").
  r.reporter.address = mail.relayed_by.empty() ? mail.from_address : mail.reply_to;
  r.reporter.name = mail.from_name;
  // The acknowledgement in the language the citizen wrote in, where its letters tell
  // (docs/languages.md); German otherwise.
  if (std::string written = texts::LanguageOfText(mail.text); !written.empty())
    r.reporter.language = written;
  // Never to our own address (a mail "from" it is an echo or a forgery: channels.md 4.6). A
  // mail from it, or from one of email.form_senders, with a citizen's Reply-To (the town's
  // website form) is answered to the citizen (TakeFormRelay in Parse).
  const std::string& own = config_.Get<Settings>().from;
  const bool ours = AsciiEqualIgnoringCase(address, own);
  bool answer = mail.robot == Robot::kNone && !mail.return_path_empty && !address.empty() && !ours;
  r.reporter.ack_channel = answer ? "email" : "none";
  r.reporter.ack_address = answer ? address : "";
  // The rules, the classifier and staff read the first 16 KiB of the text (a report is at most
  // 4,000 characters elsewhere); a longer mail is cut there, marked.
  r.text = std::string(Utf8Prefix(mail.text, kMaxReportTextBytes));
  if (r.text.size() < mail.text.size())
    r.text += "\n[… gekürzt]";
  for (const auto& f : files.stored) {
    r.attachments.push_back(f.attachment);
    if (!r.location.lat && f.lat) {
      r.location.lat = f.lat;
      r.location.lon = f.lon;
      r.location.source = LocationSource::kPhoto;
    }
  }
  if (files.unclean)
    flags.push_back("Foto nicht bereinigt, nicht gespeichert");
  if (files.documents_dropped)
    flags.push_back("Dokument nicht gespeichert (Datenschutz)");
  for (const std::string& note : NotKept(mail))
    flags.push_back(note);
  *place_kind = r.location.lat ? "photo" : "none";
  std::optional<routing::PlaceMatch> place;
  if (!r.location.lat && gazetteer_ != nullptr)
    place = routing::FindPlace(*gazetteer_, r.text);
  if (place) {
    r.location.lat = place->lat;
    r.location.lon = place->lon;
    r.location.source = LocationSource::kAddress;
    r.location.address =
        place->street + (place->house_number.empty() ? "" : " " + place->house_number);
    if (place->confidence < config_.Get<phone::Settings>().location_min_confidence)
      flags.push_back("Ort unsicher");
    *place_kind = place->kind;
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
  if (mail.robot != Robot::kNone)
    flags.push_back("Automatische Nachricht");
  request.envelope.raw = {
      m.format == "rfc822" ? "message/rfc822" : "application/vnd.meldestelle." + m.format + "+json",
      RawForEvidence(m)};
  request.ack_extra = extra.dump(-1, ' ', false, json::error_handler_t::replace);
  return request;
}

}  // namespace meldestelle::email
