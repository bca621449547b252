#include "channels/chat/intake.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "channels/chat/json_reader.hpp"
#include "channels/chat/settings.hpp"
#include "channels/chat/texts.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/media.hpp"
#include "core/photo.hpp"
#include "core/speech.hpp"
#include "core/sql.hpp"
#include "outbox/outbox.hpp"
#include "tickets/fix_answers.hpp"
#include "tickets/followups.hpp"
#include "tickets/provider_events.hpp"
#include "tickets/questions.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::chat {

using tickets::RememberProviderEvent;

struct ChatIntake::StoredMedia {
  std::string kind;  // photo | audio | document
  std::string sha256;
  std::string media_type;
  int64_t size = 0;
  std::string filename;
  std::optional<double> photo_lat, photo_lon;
  std::string problem;     // why the file could not be loaded ("" = stored)
  std::string transcript;  // a voice note's text from the speech-to-text service
};

// One event on its way through ProcessEvent: what every step needs.
struct ChatIntake::Step {
  const Batch& batch;
  const Batch::Item& item;
  const ChatEvent& e;
  const std::vector<StoredMedia>& media;
  std::string language;
  std::string spoken;  // what the message's voice notes say, "" if none
};

ChatIntake::ChatIntake(const Config& config, MediaSource& media, metrics::Registry& registry)
    : config_(config),
      media_(media),
      blobs_(config.storage.media_dir),
      session_(config.database.url),
      rate_limited_(registry.GetCounter("meldestelle_chat_rate_limited_total",
                                        "Chat messages dropped by the per-sender rate limit.")),
      duplicates_(registry.GetCounter("meldestelle_chat_duplicate_events_total",
                                      "Redelivered provider events recognised and ignored.")),
      transcribed_(registry.GetCounter("meldestelle_chat_voice_notes_total",
                                       "Chat voice notes sent to the speech-to-text service, "
                                       "by outcome.",
                                       {{"outcome", "transcribed"}})),
      untranscribed_(registry.GetCounter("meldestelle_chat_voice_notes_total",
                                         "Chat voice notes sent to the speech-to-text service, "
                                         "by outcome.",
                                         {{"outcome", "failed"}})) {}

Status ChatIntake::Process(const Batch& batch, bool last_attempt) {
  for (const auto& item : batch.items) {
    if (auto st = ProcessEvent(batch, item, last_attempt); !st)
      return st;
  }
  return Ok{};
}

bool ChatIntake::Seen(const ChatEvent& e) {
  auto r = session_.Run<bool>([&](db::Connection& c) {
    pqxx::nontransaction tx(c);
    return !tx.exec_params("SELECT 1 FROM chat_events WHERE channel = $1 AND dedupe_key = $2",
                           e.channel, e.dedupe_key)
                .empty();
  });
  return r && *r;
}

Result<std::vector<ChatIntake::StoredMedia>> ChatIntake::FetchMedia(const ChatEvent& e,
                                                                    bool last_attempt) {
  std::vector<StoredMedia> out;
  for (const auto& m : e.media) {
    StoredMedia s;
    s.kind = e.type == MessageType::kAudio   ? "audio"
             : e.type == MessageType::kImage ? "photo"
                                             : "document";
    s.filename = SanitizeFilename(m.filename);
    auto bytes = media_.Fetch(e, m);
    if (!bytes) {
      if (bytes.error().code == errors::kMediaTransient && !last_attempt)
        return bytes.error();
      s.problem = bytes.error().message;
      log::Warn("chat media not loadable",
                {{"channel", e.channel}, {"reason", bytes.error().message}});
      out.push_back(std::move(s));
      continue;
    }
    std::string type = SniffMediaType(*bytes);
    std::string stored = std::move(bytes).value();
    if (IsImageMediaType(type)) {
      s.kind = "photo";  // a document that is an image by its bytes is a photo
      if (auto meta = ReadPhotoMetadata(stored); meta && meta->lat && meta->lon) {
        s.photo_lat = meta->lat;
        s.photo_lon = meta->lon;
      }
      // Staff see a copy without EXIF/XMP/IPTC, turned upright, HEIC as JPEG; the original is
      // not kept.
      if (auto stripped = StripPhoto(stored); stripped) {
        stored = std::move(stripped->bytes);
        type = std::move(stripped->media_type);
        s.filename = PhotoFileName(s.filename, type);
      } else {
        // Staff only ever see copies without metadata: a photo we cannot clean (TIFF, broken,
        // too many pixels) is not kept; the ticket says so.
        s.problem = "Foto nicht bereinigt: " + stripped.error().message;
        log::Warn("photo not kept: metadata could not be removed",
                  {{"channel", e.channel}, {"reason", stripped.error().message}});
        out.push_back(std::move(s));
        continue;
      }
    } else if (!KeepsFileType(type)) {
      // A document carries its author's metadata: not kept; the ticket says so.
      s.problem = "Dokument nicht gespeichert (Datenschutz)";
      log::Info("document not kept", {{"channel", e.channel}, {"type", type}});
      out.push_back(std::move(s));
      continue;
    }
    if (s.kind == "audio" && IsAudioMediaType(type)) {
      // A voice note's words join the report (routing, the place); the recording stays.
      if (auto st = TranscribeVoice(e, stored, type, last_attempt, s); !st)
        return st.error();
    }
    std::string sha = Sha256Hex(stored);
    if (auto put = blobs_.Put(stored, sha); !put) {
      return MakeError(errors::kDbUnavailable, "media storage failed", put.error().message);
    }
    s.sha256 = sha;
    s.media_type = type;
    s.size = static_cast<int64_t>(stored.size());
    out.push_back(std::move(s));
  }
  return out;
}

// The voice note's text in `s.transcript`; a failure that may pass is an error (the message is
// tried again) unless this is the last attempt, which goes on without text.
Status ChatIntake::TranscribeVoice(const ChatEvent& e, const std::string& audio,
                                   const std::string& type, bool last_attempt, StoredMedia& s) {
  const Settings& settings = config_.Get<Settings>();
  if (settings.stt_url.empty())
    return Ok{};
  // A sender over the rate limit is dropped anyway (WithinRateLimit): no minute of the
  // speech-to-text service for a flood.
  auto recent = session_.Run<int64_t>([&](db::Connection& c) {
    pqxx::nontransaction tx(c);
    return tx
        .exec_params1(
            "SELECT count(*) FROM chat_events WHERE channel = $1 AND sender = $2"
            " AND received_at > now() - interval '1 minute'"
            " AND outcome NOT IN ('status', 'location_update', 'blocked', 'unblocked')",
            e.channel, e.sender)[0]
        .as<int64_t>();
  });
  if (recent && *recent >= settings.rate_limit_per_minute)
    return Ok{};
  auto text =
      Transcribe(stt_http_, {settings.stt_url, std::chrono::seconds(settings.stt_timeout_seconds)},
                 audio, type == "audio/ogg" ? "audio/ogg; codecs=opus" : type);
  if (!text && text.error().code == errors::kUnavailable && !last_attempt)
    return MakeError(errors::kMediaTransient, text.error().message, text.error().detail);
  if (!text || text->empty()) {
    untranscribed_.Inc();
    log::Warn("voice note not transcribed",
              {{"channel", e.channel},
               {"reason", text ? std::string("nothing recognised") : text.error().message}});
    return Ok{};
  }
  transcribed_.Inc();
  s.transcript = std::move(text).value();
  return Ok{};
}

namespace {

void QueueReply(db::Tx& tx, const ChatEvent& e, const std::string& dedupe, const std::string& text,
                const std::string& language, const std::string& reference = {}) {
  nlohmann::json payload{
      {"text", text}, {"language", language}, {"reply_to", e.message_id}, {"reference", reference}};
  outbox::Enqueue(tx,
                  {outbox::Kind::kChatReply, "", e.channel, e.sender,
                   payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), dedupe});
}

// The "cannot process this" answer's key: once per message, and once per album (Telegram sends
// each of an album's videos as a message of its own).
std::string UnsupportedReplyKey(const ChatEvent& e) {
  if (!e.media_group_id.empty())
    return "unsupported:" + e.channel + ":" + e.sender + ":album:" + e.media_group_id;
  return "unsupported:" + e.channel + ":" + e.dedupe_key;
}

// An update of the chat ($1, $2) later than update_id $3 taken already, with an outcome the
// caller names ("… AND l.outcome …)" closes it). Within six days: after a week without updates
// Telegram may start its update_ids anew, lower (channels.md §2).
constexpr const char* kLaterUpdate =
    "EXISTS (SELECT 1 FROM chat_events l WHERE l.channel = $1 AND l.sender = $2"
    " AND l.received_at > now() - interval '6 days'"
    " AND substring(l.dedupe_key FROM '^update:([0-9]{1,18})$')::bigint > $3";

// Telegram's update_id of "update:<id>"; the largest number for anything else (then nothing is
// later).
int64_t UpdateNumber(const std::string& dedupe_key) {
  constexpr std::string_view kPrefix = "update:";
  if (dedupe_key.starts_with(kPrefix))
    if (auto n = ParseInt64(std::string_view(dedupe_key).substr(kPrefix.size())))
      return *n;
  return std::numeric_limits<int64_t>::max();
}

// Telegram's my_chat_member in a private chat (channels/telegram): the bot blocked or started
// again.
bool BlockedOrUnblocked(const ChatEvent& e) {
  return e.channel == "telegram" && e.type == MessageType::kUnsupported &&
         (e.provider_type == "blocked" || e.provider_type == "unblocked");
}

// PostgreSQL text cannot hold U+0000, which JSON may carry as \u0000: it is dropped.
ChatEvent WithoutNul(ChatEvent e) {
  for (std::string* s : {&e.text, &e.sender_name, &e.interactive_title, &e.interactive_id}) {
    s->erase(std::remove(s->begin(), s->end(), '\0'), s->end());
  }
  if (e.location) {
    for (std::string* s : {&e.location->name, &e.location->address}) {
      s->erase(std::remove(s->begin(), s->end(), '\0'), s->end());
    }
  }
  for (auto& m : e.media)
    m.filename.erase(std::remove(m.filename.begin(), m.filename.end(), '\0'), m.filename.end());
  return e;
}

}  // namespace

Status ChatIntake::ProcessEvent(const Batch& batch, const Batch::Item& item, bool last_attempt) {
  const ChatEvent e = WithoutNul(item.event);
  if (Seen(e)) {
    duplicates_.Inc();
    return Ok{};
  }
  // Slow work before the transaction: the media download.
  std::vector<StoredMedia> media;
  if (e.kind == EventKind::kMessage && !e.media.empty() && e.type != MessageType::kUnsupported) {
    auto m = FetchMedia(e, last_attempt);
    if (!m)
      return m.error();
    media = std::move(m).value();
  }
  Step step{batch, item, e, media, ChatLanguage(e.channel, e.sender, e.language, e.text), ""};
  for (const auto& m : media) {
    if (!m.transcript.empty())
      step.spoken += (step.spoken.empty() ? "" : "\n") + m.transcript;
  }
  auto done = session_.Transact<Ok>([&](db::Tx& tx) -> Ok {
    if (e.kind == EventKind::kStatus) {
      ApplyReceipt(tx, e);
    } else if (e.kind == EventKind::kEdit && e.text.empty() && e.location) {
      // A live location's updates come as edits of its pin, one every few seconds: they change
      // nothing (the draft keeps the first position), are not stored and count against no
      // limit.
      if (RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "location_update"))
        tx.commit();
    } else if (BlockedOrUnblocked(e)) {
      MemberChange(tx, e);
    } else if (!WithinRateLimit(tx, e)) {
      // counted and remembered
    } else {
      Remember(tx, step);
      if (e.kind == EventKind::kEdit) {
        ApplyEdit(tx, e);
      } else if (e.type == MessageType::kUnsupported) {
        Unsupported(tx, step);
      } else {
        TakeWords(tx, step);
      }
    }
    return Ok{};
  });
  if (!done)
    return done.error();
  return Ok{};
}

// The citizen blocked the bot (Telegram's my_chat_member "kicked"): no status message can reach
// them, so they are opted out of them (source 'blocked') as by STOP; nothing is answered. Started
// again: that opt-out ends, one they asked for with STOP stays. Counts against no rate limit.
//
// Telegram numbers its updates in the order they happened (update_id), and workers may take them
// in another: a block is not recorded when a later update of the chat was taken already (a
// message, the bot started again), and a start does not end a later block.
void ChatIntake::MemberChange(db::Tx& tx, const ChatEvent& e) {
  const bool blocked = e.provider_type == "blocked";
  LockSender(tx, e);
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, e.provider_type))
    return;
  if (blocked) {
    // Later: an update that ends a block (EndBlock: a start, a message that was taken).
    tx.exec_params0(
        "INSERT INTO notification_optouts (channel, address, source) SELECT $1, $2, 'blocked'"
        " WHERE NOT " +
            std::string(kLaterUpdate) +
            " AND l.outcome NOT IN ('status', 'blocked', 'rate_limited', 'location_update'))" +
            " ON CONFLICT (channel, address) DO NOTHING",
        e.channel, e.sender, UpdateNumber(e.dedupe_key));
  } else {
    EndBlock(tx, e);
  }
  tx.commit();
}

// One sender's events, one transaction at a time (key space 7412006, as the drafts): a block and
// a start (or a message) of one chat taken at once by two workers would each miss the other.
void ChatIntake::LockSender(db::Tx& tx, const ChatEvent& e) {
  tx.exec_params("SELECT pg_advisory_xact_lock(7412006, hashtext($1 || '/' || $2))", e.channel,
                 e.sender);
}

// A sign that the chat takes the bot's messages again (started again, a message from it): an
// opt-out of ours (blocked, refused) ends, one the citizen asked for stays. Not where a later
// block was taken already.
void ChatIntake::EndBlock(db::Tx& tx, const ChatEvent& e) {
  tx.exec_params0(
      "DELETE FROM notification_optouts WHERE channel = $1 AND address = $2"
      " AND source IN ('blocked', 'refused') AND NOT " +
          std::string(kLaterUpdate) + " AND l.outcome = 'blocked')",
      e.channel, e.sender, UpdateNumber(e.dedupe_key));
}

// Delivery receipts for our own messages; they may arrive out of order.
void ChatIntake::ApplyReceipt(db::Tx& tx, const ChatEvent& e) {
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "status"))
    return;
  outbox::ApplyReceipt(tx, e.channel, e.status_message_id,
                       {e.status, e.error_code, e.error_title, e.resend_as_template});
  tx.commit();
}

// The rate limit per sender, counted over the events of the last minute (all workers): false
// (and remembered as rate_limited) when the sender is over it.
bool ChatIntake::WithinRateLimit(db::Tx& tx, const ChatEvent& e) {
  auto recent = tx.exec_params1(
      "SELECT count(*) FROM chat_events WHERE channel = $1 AND sender = $2"
      " AND received_at > now() - interval '1 minute'"
      " AND outcome NOT IN ('status', 'location_update', 'blocked', 'unblocked')",
      e.channel, e.sender);
  if (recent[0].as<int64_t>() < config_.Get<Settings>().rate_limit_per_minute)
    return true;
  if (RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "rate_limited")) {
    tx.commit();
    rate_limited_.Inc();
  }
  return false;
}

// The contact (the 24-hour window, language, the number to answer from) and the raw payload.
void ChatIntake::Remember(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  tx.exec_params0(
      "INSERT INTO chat_contacts (channel, address, account, name, language, last_inbound_at)"
      " VALUES ($1, $2, $3, $4, $5, now())"
      " ON CONFLICT (channel, address) DO UPDATE SET last_inbound_at = now(),"
      " account = CASE WHEN EXCLUDED.account = '' THEN chat_contacts.account"
      "           ELSE EXCLUDED.account END,"
      " name = CASE WHEN EXCLUDED.name = '' THEN chat_contacts.name ELSE EXCLUDED.name END,"
      " language = EXCLUDED.language",
      e.channel, e.sender, e.account, e.sender_name, s.language);
  if (!s.batch.raw.body.empty())
    tickets::StoreRawPayload(tx, s.batch.raw);
  // A Telegram user who writes has the bot running: a block we heard of is over.
  if (e.channel == "telegram") {
    LockSender(tx, e);
    EndBlock(tx, e);
  }
}

// An edit changes the draft while it is open; afterwards it is ignored.
void ChatIntake::ApplyEdit(db::Tx& tx, const ChatEvent& e) {
  auto r = tx.exec_params(
      "UPDATE chat_draft_items i SET text = $3, edited_at = now() FROM chat_drafts d"
      " WHERE i.draft_id = d.id AND d.state <> 'published' AND d.channel = $1"
      " AND i.message_id = $2 AND i.kind = 'text' RETURNING 1",
      e.channel, e.message_id, e.text);
  if (r.empty() && !e.text.empty()) {
    // A caption added afterwards to a photo sent without one: the draft holding the photo
    // takes it as text.
    r = tx.exec_params(
        "INSERT INTO chat_draft_items (draft_id, message_id, kind, text)"
        " SELECT DISTINCT i.draft_id, $2, 'text', $3 FROM chat_draft_items i"
        " JOIN chat_drafts d ON d.id = i.draft_id"
        " WHERE d.state <> 'published' AND d.channel = $1 AND i.message_id = $2"
        " ON CONFLICT DO NOTHING RETURNING 1",
        e.channel, e.message_id, e.text);
  }
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender,
                             r.empty() ? "edit_ignored" : "edit")) {
    return;
  }
  tx.commit();
}

// What the chat cannot take as (part of) a report. Most kinds are answered once with what it
// can take. Not answered: a reaction (a 👍 to the acknowledgement is no message to us) and a
// notice the platform sent, not the citizen (WhatsApp's "system": a changed number). A first
// contact (WhatsApp's "request_welcome", sent when someone opens the chat) gets the welcome, as
// Telegram's "/start" does.
void ChatIntake::Unsupported(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  const bool whatsapp = e.channel == "whatsapp";
  if (whatsapp && (e.provider_type == "reaction" || e.provider_type == "system")) {
    if (RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "ignored"))
      tx.commit();
    return;
  }
  const bool welcome = whatsapp && e.provider_type == "request_welcome";
  const texts::Lang t = texts::For(config_, s.language);
  if (!welcome && !e.text.empty() && !e.media.empty() && e.error_code == 0) {
    // A video (or an animation) with a caption: the caption is the citizen's words for the
    // report and joins the draft; the file is not kept (the ticket is flagged "Anhang nicht
    // geladen"). The answer says what cannot be taken, once per album.
    QueueReply(tx, e, UnsupportedReplyKey(e), UnsupportedText(t), s.language);
    ChatEvent words = e;
    words.type = MessageType::kText;
    words.media.clear();
    StoredMedia dropped;
    dropped.kind = "document";  // a file that was not loaded: the draft flags it
    dropped.problem = "not kept: " + (e.provider_type.empty() ? "video" : e.provider_type);
    const std::vector<StoredMedia> not_kept{dropped};
    // The words go the way a text goes: a reply to our acknowledgement or an answer to staff's
    // question is a follow-up, "nein" answers "Ist der Mangel behoben?", STOP opts out.
    TakeWords(tx, Step{s.batch, s.item, words, not_kept, s.language, ""});
    return;
  }
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender,
                             welcome ? "welcome" : "unsupported"))
    return;
  QueueReply(tx, e, welcome ? "welcome:" + e.channel + ":" + e.dedupe_key : UnsupportedReplyKey(e),
             welcome ? WelcomeText(t) : UnsupportedText(t), s.language);
  tx.commit();
}

// What the citizen wrote (or showed), in this order: a bot command, STOP/START, an answer to
// "Ist der Mangel behoben?", a follow-up of a ticket, else part of their draft.
void ChatIntake::TakeWords(db::Tx& tx, const Step& s) {
  if (!Command(tx, s) && !OptInOrOut(tx, s) && !AnswerFixed(tx, s) && !Followup(tx, s))
    AddToDraft(tx, s);
}

// A Telegram bot command is never a report nor part of one: "/stop" is the opt-out
// (OptInOrOut); any other ("/start", the first message of every Telegram user, "/hilfe", one we
// do not know) is answered once with what the chat is for. False if the message is none.
bool ChatIntake::Command(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  // Telegram's bots have commands; on WhatsApp "/Laterne kaputt" is a report's words.
  if (e.type != MessageType::kText || e.channel != "telegram")
    return false;
  if (!ParseCommand(e.text) || ParseOptWord(e.text) == OptWord::kStop)
    return false;
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "command"))
    return true;
  QueueReply(tx, e, "command:" + e.channel + ":" + e.dedupe_key,
             WelcomeText(texts::For(config_, s.language)), s.language);
  tx.commit();
  return true;
}

// "STOP" / "START": the citizen's opt-out from status notifications (docs/departments.md,
// "Citizens") — never a report, confirmed once per message. False if the message is none.
bool ChatIntake::OptInOrOut(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  OptWord w = e.type == MessageType::kText ? ParseOptWord(e.text) : OptWord::kNone;
  if (w == OptWord::kNone)
    return false;
  bool stop = w == OptWord::kStop;
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, stop ? "optout" : "optin")) {
    return true;
  }
  if (stop) {
    // Their own word: it outlasts an opt-out of ours (blocked, refused), which a started bot or
    // a delivered acknowledgement ends.
    tx.exec_params0(
        "INSERT INTO notification_optouts (channel, address, source) VALUES ($1, $2, 'stop')"
        " ON CONFLICT (channel, address) DO UPDATE SET source = 'stop', at = now()"
        " WHERE notification_optouts.source IN ('blocked', 'refused')",
        e.channel, e.sender);
  } else {
    tx.exec_params0("DELETE FROM notification_optouts WHERE channel = $1 AND address = $2",
                    e.channel, e.sender);
  }
  QueueReply(tx, e, (stop ? "optout:" : "optin:") + e.channel + ":" + e.dedupe_key,
             stop ? OptOutConfirmText(texts::For(config_, s.language))
                  : OptInConfirmText(texts::For(config_, s.language)),
             s.language);
  tx.commit();
  return true;
}

// The answer to "Ist der Mangel behoben?" (tickets/fix_answers.hpp): a short "ja" or a "nein …"
// from a sender we told within 30 days that a ticket is done, while that closing awaits its
// answer. "Nein" reopens the ticket for its department with the rest of the message as the
// note. False if the message is none (then it is a follow-up or a new report as usual).
bool ChatIntake::AnswerFixed(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  // Typed, or said in a voice note.
  const bool spoken = e.type == MessageType::kAudio && !s.spoken.empty();
  if (e.type != MessageType::kText && !spoken)
    return false;
  if (!config_.Get<tickets::NotificationSettings>().ask_fixed)
    return false;
  tickets::ChatFixAnswer parsed = tickets::ParseFixAnswer(spoken ? s.spoken : e.text);
  if (parsed.kind == tickets::ChatFixAnswer::Kind::kNone)
    return false;
  // The newest notice we sent this sender within 30 days that a ticket is done, whose closing
  // awaits its answer.
  auto asked = tx.exec_params(
      "SELECT t.reference, w.id::text FROM outbox o JOIN tickets t ON t.id = o.ticket_id"
      " JOIN tickets w ON w.id = COALESCE(t.duplicate_of, t.id)"
      " WHERE o.kind = 'status' AND o.channel = $1 AND o.address = $2 AND o.status = 'sent'"
      " AND o.payload->>'event' = 'done' AND o.created_at > now() - interval '30 days'"
      " AND w.status = 'done' AND NOT EXISTS (SELECT 1 FROM fix_answers a"
      "   WHERE a.ticket_id = w.id AND a.closed_at = w.closed_at)"
      " ORDER BY o.id DESC LIMIT 1",
      e.channel, e.sender);
  if (asked.empty())
    return false;
  // A reply to one of our messages about another ticket is about that one (a follow-up).
  if (!e.reply_to.empty()) {
    std::string replied = outbox::TicketOfMessage(tx, e.channel, e.reply_to, e.sender);
    if (!replied.empty()) {
      auto same = tx.exec_params1(
          "SELECT COALESCE(duplicate_of, id)::text = $2 FROM tickets WHERE id = $1::uuid", replied,
          asked[0][1].as<std::string>());
      if (!same[0].as<bool>())
        return false;
    }
  }
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "fix_answer"))
    return true;
  const std::string reference = asked[0][0].as<std::string>();
  const bool fixed = parsed.kind == tickets::ChatFixAnswer::Kind::kFixed;
  auto answered = tickets::AnswerFixed(tx, config_, reference, fixed, parsed.note, e.channel);
  if (!answered) {
    throw std::runtime_error("answer to \"Ist es behoben?\" for " + reference + ": " +
                             answered.error().message);
  }
  QueueReply(tx, e, "fix_answer:" + e.channel + ":" + e.dedupe_key,
             FixAnswerText(texts::For(config_, s.language), reference, fixed), s.language,
             reference);
  tx.commit();
  log::Info("citizen answered \"Ist es behoben?\"", {{"reference", reference},
                                                     {"answer", fixed ? "fixed" : "not_fixed"},
                                                     {"channel", e.channel}});
  return true;
}

// A reply to one of our messages about a published ticket is a follow-up to that ticket; so is
// any message while a question of staff to this sender waits for its answer
// (tickets/questions.hpp). False if the message is none.
bool ChatIntake::Followup(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  std::string ticket = e.reply_to.empty()
                           ? std::string()
                           : outbox::TicketOfMessage(tx, e.channel, e.reply_to, e.sender);
  if (ticket.empty())
    ticket = tickets::WaitingTicketOf(tx, e.channel, e.sender);
  // A pin alone is the place of a ticket that has none: of the one it answers, or, soon after
  // the sender's report went out without a place, of that report.
  if (ticket.empty() && PinAlone(s))
    ticket = TicketAwaitingPlace(tx, e.channel, e.sender);
  if (ticket.empty())
    return false;
  AddToTicket(tx, s, ticket);
  return true;
}

bool ChatIntake::PinAlone(const Step& s) {
  return s.e.location && s.e.text.empty() && s.media.empty();
}

// The message as a follow-up of `ticket` (a pin alone its place, if it has none yet).
void ChatIntake::AddToTicket(db::Tx& tx, const Step& s, const std::string& ticket) {
  const ChatEvent& e = s.e;
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "followup"))
    return;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& m : s.media) {
    if (m.sha256.empty())
      continue;
    files.push_back({{"sha256", m.sha256},
                     {"media_type", m.media_type},
                     {"size", m.size},
                     {"filename", m.filename}});
  }
  std::optional<double> lat, lon;
  if (e.location)
    lat = e.location->lat, lon = e.location->lon;
  std::string text = e.text;
  if (!s.spoken.empty())
    text += (text.empty() ? "" : "\n") + s.spoken;
  tickets::Followup followup{ticket, e.channel, e.message_id, text, files.dump(), lat, lon};
  followup.place_of_ticket = PinAlone(s);
  tickets::RecordFollowup(tx, config_, followup);
  std::string reference = tickets::ReferenceOf(tx, ticket);
  QueueReply(tx, e, "followup:" + e.channel + ":" + e.dedupe_key,
             FollowupText(texts::For(config_, s.language), reference), s.language, reference);
  tx.commit();
}

// The sender's report published without a place ("Ort fehlt") within chat.late_place_minutes,
// whose ticket still has none; "" if none, and "" while the sender has a draft open (the pin is
// that draft's place then).
std::string ChatIntake::TicketAwaitingPlace(db::Tx& tx, const std::string& channel,
                                            const std::string& sender) {
  const int minutes = config_.Get<Settings>().late_place_minutes;
  if (minutes <= 0)
    return {};
  auto r = tx.exec_params(
      "SELECT t.id::text FROM chat_drafts d JOIN tickets t ON t.reference = d.reference"
      " WHERE d.channel = $1 AND d.sender = $2 AND d.state = 'published'"
      " AND d.published_at > now() - make_interval(mins => $3)"
      " AND t.lat IS NULL AND t.routing_explanation->'flags' ? 'Ort fehlt'"
      " AND NOT EXISTS (SELECT 1 FROM chat_drafts o WHERE o.channel = $1 AND o.sender = $2"
      "                 AND o.state <> 'published')"
      " ORDER BY d.published_at DESC LIMIT 1",
      channel, sender, minutes);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

// The message joins the sender's open draft (or opens one); "fertig" closes it early.
void ChatIntake::AddToDraft(db::Tx& tx, const Step& s) {
  const ChatEvent& e = s.e;
  // Two first messages of one sender processed at once (two workers) must not both open a
  // draft: serialise per sender.
  LockSender(tx, e);
  auto open = tx.exec_params(
      "SELECT id, state FROM chat_drafts WHERE channel = $1 AND sender = $2"
      " AND state <> 'published' FOR UPDATE",
      e.channel, e.sender);
  if (open.empty() && PinAlone(s)) {
    // The draft closer published the sender's draft while this pin waited for its row (the FOR
    // UPDATE above; Followup's look found the draft still open): the pin is that report's place.
    // This statement sees the closer's commit (READ COMMITTED).
    if (std::string ticket = TicketAwaitingPlace(tx, e.channel, e.sender); !ticket.empty()) {
      AddToTicket(tx, s, ticket);
      return;
    }
  }
  bool done_word = (e.type == MessageType::kText && IsDoneWord(e.text)) ||
                   (e.type == MessageType::kInteractive &&
                    (IsDoneWord(e.interactive_id) || IsDoneWord(e.interactive_title)));
  if (done_word) {
    if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender,
                               open.empty() ? "ignored" : "done")) {
      return;
    }
    // The citizen says the report is complete: the closer publishes it now (or asks for the
    // place at once if it is missing).
    if (!open.empty()) {
      tx.exec_params0("UPDATE chat_drafts SET deadline = now() WHERE id = $1",
                      open[0][0].as<int64_t>());
    }
    tx.commit();
    return;
  }
  if (!RememberProviderEvent(tx, e.channel, e.dedupe_key, e.sender, "draft"))
    return;
  int64_t draft = 0;
  bool asked = false;
  if (open.empty()) {
    draft = tx.exec_params1(
                  "INSERT INTO chat_drafts (channel, sender, report_id, reference,"
                  " first_message_id, deadline)"
                  " VALUES ($1, $2, $3::uuid, $4, $5, now() + make_interval(secs => $6))"
                  " RETURNING id",
                  e.channel, e.sender, s.item.report_id, s.item.reference, e.message_id,
                  config_.Get<Settings>().draft_window_seconds)[0]
                .as<int64_t>();
  } else {
    draft = open[0][0].as<int64_t>();
    asked = open[0][1].as<std::string>() == "asked_location";
  }
  bool located = AddItems(tx, draft, s);
  // We asked for the place and it came: publish now. Otherwise the window starts again, but an
  // open draft closes at the latest its lifetime after its first message, and one that asked
  // for the place has at least the window it was given with the question (drafts.cpp).
  if (asked && located) {
    tx.exec_params0(
        "UPDATE chat_drafts SET last_message_at = now(), deadline = now() WHERE id = $1", draft);
  } else {
    const Settings& settings = config_.Get<Settings>();
    tx.exec_params0(
        "UPDATE chat_drafts SET last_message_at = now(),"
        " deadline = LEAST(now() + make_interval(secs => $2), CASE WHEN state = 'open'"
        "   THEN opened_at + make_interval(secs => $3)"
        "   ELSE GREATEST(opened_at + make_interval(secs => $3), deadline) END)"
        " WHERE id = $1",
        draft, settings.draft_window_seconds, settings.DraftLifetimeSeconds());
  }
  tx.commit();
}

// The message's text, media and pin as items of the draft; whether they say where it is.
bool ChatIntake::AddItems(db::Tx& tx, int64_t draft, const Step& s) {
  const ChatEvent& e = s.e;
  std::string text = e.type == MessageType::kInteractive ? e.interactive_title : e.text;
  if (!text.empty()) {
    tx.exec_params0(
        "INSERT INTO chat_draft_items (draft_id, message_id, kind, text)"
        " VALUES ($1, $2, 'text', $3) ON CONFLICT DO NOTHING",
        draft, e.message_id, text);
  }
  bool located = false;
  for (size_t i = 0; i < s.media.size(); ++i) {
    const auto& m = s.media[i];
    tx.exec_params0(
        "INSERT INTO chat_draft_items (draft_id, message_id, kind, sha256, media_type, size,"
        " filename, photo_lat, photo_lon, text, transcript)"
        " VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT DO NOTHING",
        draft, i == 0 ? e.message_id : e.message_id + "#" + std::to_string(i), m.kind, m.sha256,
        m.media_type, m.size, m.filename, m.photo_lat, m.photo_lon, m.problem, m.transcript);
    located = located || m.photo_lat.has_value();
  }
  if (e.location) {
    located = true;
    std::string place = e.location->name;
    if (!e.location->address.empty()) {
      place += (place.empty() ? "" : ", ") + e.location->address;
    }
    tx.exec_params0(
        "INSERT INTO chat_draft_items (draft_id, message_id, kind, lat, lon, accuracy_m, place)"
        " VALUES ($1, $2, 'location', $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        draft, e.message_id, e.location->lat, e.location->lon, e.location->accuracy_m, place);
  }
  return located;
}

}  // namespace meldestelle::chat
