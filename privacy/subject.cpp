#include "privacy/subject.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/media.hpp"
#include "core/reference.hpp"
#include "core/report.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"

namespace meldestelle::privacy {

using nlohmann::json;

const std::vector<std::pair<std::string, std::string>>& TablePurposes() {
  static const std::vector<std::pair<std::string, std::string>> k = {
      {"tickets", "Ihre Meldung und ihre Bearbeitung durch die zuständige Stelle"},
      {"ticket_history", "Bearbeitungsstand Ihrer Meldung, wie er Ihnen mitgeteilt wird"},
      {"attachments", "Fotos, Dokumente und Aufnahmen Ihrer Meldung"},
      {"ticket_followups", "Ihre Nachträge zu einer Meldung"},
      {"fix_answers", "Ihre Antwort auf die Frage, ob der Mangel behoben ist"},
      {"ticket_reporters", "Zuordnung Ihrer Meldung zu einer bereits gemeldeten Sache"},
      {"outbox", "Nachrichten an Sie (Eingangsbestätigung, Statusmitteilungen, Rückfragen)"},
      {"chat_contacts", "Ihr Messenger-Kontakt, um Ihnen im Chat antworten zu können"},
      {"chat_events", "Erkennung doppelt zugestellter Messenger-Nachrichten"},
      {"chat_drafts", "Zusammenführen Ihrer Messenger-Nachrichten zu einer Meldung"},
      {"chat_draft_items", "Die einzelnen Messenger-Nachrichten einer Meldung"},
      {"phone_calls", "Ihr Anruf: Rufnummer, Aufnahme und Abschrift"},
      {"notification_optouts", "Ihr Wunsch, keine Statusmitteilungen zu erhalten"},
      {"raw_payloads", "Ihre Meldung, wie sie ankam (Nachweis, erneute Verarbeitung)"},
      {"intake_keys", "Schutz vor doppelter Annahme derselben Meldung"},
      {"contact_views", "Protokoll, wer in der Verwaltung Ihre Kontaktdaten angesehen hat"},
  };
  return k;
}

namespace {

std::string Purpose(const std::string& table) {
  for (const auto& [t, p] : TablePurposes()) {
    if (t == table)
      return p;
  }
  return "";
}

// One POSIX pattern for all contacts (PostgreSQL's ~*); nullopt when there are none.
std::optional<std::string> PatternOf(const std::vector<Contact>& contacts) {
  if (contacts.empty())
    return std::nullopt;
  std::string p;
  for (const auto& c : contacts) {
    if (!p.empty())
      p += "|";
    p += "(" + PatternFor(c) + ")";
  }
  return p;
}

std::string ArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& i : items) {
    if (out.size() > 1)
      out += ",";
    out += "\"" + i + "\"";  // uuids and references: letters, digits, dashes
  }
  return out + "}";
}

void AddContact(std::set<Contact>& contacts, const std::string& channel, const std::string& address,
                const std::string& country_code) {
  std::string ch = channel == "sms" || channel == "whatsapp" ? "phone" : channel;
  if (auto c = ContactFromAddress(ch, address, country_code))
    contacts.insert(*c);
}

void AddReporterContacts(std::set<Contact>& contacts, const std::string& channel,
                         const json& reporter, const std::string& country_code) {
  if (!reporter.is_object())
    return;
  if (reporter.contains("address") && reporter["address"].is_string())
    AddContact(contacts, channel, reporter["address"].get<std::string>(), country_code);
  if (auto ack = reporter.find("ack"); ack != reporter.end() && ack->is_object()) {
    std::string ch = ack->value("channel", "");
    std::string addr = ack->value("address", "");
    if (ch != "none")
      AddContact(contacts, ch, addr, country_code);
  }
}

Result<Person> FindPerson(db::Tx& tx, const Selector& selector) {
  std::set<Contact> contacts;
  std::set<std::string> ids;
  if (selector.kind == Selector::Kind::kReference) {
    auto ref = ParseReference(selector.value);
    if (!ref)
      return MakeError(errors::kInvalidParameter,
                       "--reference \"" + selector.value + "\": " + ref.error().message);
    auto t = tx.exec_params(
        "SELECT id::text, channel, reporter::text FROM tickets"
        " WHERE reference = $1",
        *ref);
    if (t.empty())
      return MakeError(errors::kNotFound, "no ticket has the reference " + *ref);
    ids.insert(t[0][0].as<std::string>());
    AddReporterContacts(contacts, t[0][1].as<std::string>(),
                        json::parse(t[0][2].as<std::string>(), nullptr, false),
                        selector.country_code);
  } else {
    contacts.insert(Contact{selector.kind, selector.value});
  }
  for (const auto& c : contacts) {
    pqxx::result rows;
    switch (c.kind) {
      case Selector::Kind::kEmail:
        rows = tx.exec_params(
            "SELECT id::text FROM tickets WHERE lower(reporter->>'address') = $1"
            " OR lower(reporter->'ack'->>'address') = $1",
            c.value);
        break;
      case Selector::Kind::kPhone:
        rows = tx.exec_params(
            "SELECT id::text FROM tickets WHERE position('@' in reporter->>'address') = 0 AND"
            " (reporter->>'address' ~* $1 OR (reporter->'ack'->>'channel' <> 'email' AND"
            " reporter->'ack'->>'address' ~* $1))",
            PatternFor(c));
        break;
      case Selector::Kind::kTelegram:
        rows = tx.exec_params(
            "SELECT id::text FROM tickets WHERE (channel = 'telegram' AND reporter->>'address' = "
            "$1)"
            " OR (reporter->'ack'->>'channel' = 'telegram' AND reporter->'ack'->>'address' = $1)",
            c.value);
        break;
      case Selector::Kind::kWhatsAppId:
        rows = tx.exec_params(
            "SELECT id::text FROM tickets WHERE reporter->>'address' = $1"
            " OR reporter->'ack'->>'address' = $1",
            c.value);
        break;
      case Selector::Kind::kReference:
        break;
    }
    for (const auto& r : rows)
      ids.insert(r[0].as<std::string>());
  }
  Person p;
  p.contacts.assign(contacts.begin(), contacts.end());
  p.ticket_ids.assign(ids.begin(), ids.end());
  if (!p.ticket_ids.empty()) {
    std::set<std::string> names;
    for (const auto& r :
         tx.exec_params("SELECT reference, coalesce(reporter->>'name', '') FROM tickets"
                        " WHERE id = ANY($1::uuid[]) ORDER BY received_at",
                        ArrayLiteral(p.ticket_ids))) {
      p.references.push_back(r[0].as<std::string>());
      if (!r[1].as<std::string>().empty())
        names.insert(r[1].as<std::string>());
    }
    p.names.assign(names.begin(), names.end());
  }
  return p;
}

// The SQL of each table's rows about the person, with `p` the parameters: p.ids their ticket
// ids, p.refs their references, p.pat the pattern of their contacts (NULL: none).
constexpr const char* kParams =
    " CROSS JOIN (SELECT $1::uuid[] AS ids, $2::text[] AS refs, $3::text AS pat) p WHERE ";

struct TableQuery {
  const char* table;
  const char* where;
};

const TableQuery kQueries[] = {
    {"tickets", "x.id = ANY(p.ids)"},
    {"attachments", "x.ticket_id = ANY(p.ids)"},
    {"ticket_followups", "x.ticket_id = ANY(p.ids)"},
    {"fix_answers", "x.answered_ticket_id = ANY(p.ids)"},
    {"ticket_reporters", "x.reporter_ticket_id = ANY(p.ids)"},
    {"outbox",
     "(x.ticket_id = ANY(p.ids) AND x.kind IN ('ack', 'status', 'chat_reply'))"
     " OR x.address ~* p.pat"},
    {"chat_contacts", "x.address ~* p.pat"},
    {"chat_events", "x.sender ~* p.pat"},
    {"chat_drafts", "x.ticket_id = ANY(p.ids) OR x.sender ~* p.pat"},
    {"chat_draft_items",
     "x.draft_id IN (SELECT id FROM chat_drafts WHERE ticket_id = ANY(p.ids)"
     " OR sender ~* p.pat)"},
    {"phone_calls", "x.ticket_id = ANY(p.ids) OR x.caller ~* p.pat"},
    {"notification_optouts", "x.address ~* p.pat"},
    // Only their own: another citizen's pending report that merely names them is not theirs to
    // read (the erasure still removes the mention).
    {"intake_keys", "x.reference = ANY(p.refs)"},
    {"contact_views", "x.ticket_id = ANY(p.ids)"},
};

// raw_payloads: those of their tickets (not others' that merely mention them, as above).
constexpr const char* kRawWhere =
    "x.sha256 IN (SELECT substr(raw_ref, 8) FROM tickets WHERE id = ANY(p.ids)"
    " AND raw_ref IS NOT NULL)";

}  // namespace

Result<ExportSummary> Export(const Config& config, const Selector& selector,
                             const std::filesystem::path& dir) {
  ExportSummary summary;
  summary.data_json = dir / "data.json";
  if (std::filesystem::exists(summary.data_json))
    return MakeError(errors::kInvalidParameter,
                     summary.data_json.string() + " exists already; choose an empty folder");
  auto conn = db::Connect(config.database.url);
  if (!conn)
    return conn.error();
  BlobStore blobs(config.storage.media_dir);
  return db::Guard<ExportSummary>([&]() -> Result<ExportSummary> {
    db::ReadTx tx(**conn);
    auto person = FindPerson(tx, selector);
    if (!person)
      return person.error();
    // The folder only once the person is found: a wrong selector or no database leaves none.
    std::error_code ec;
    std::filesystem::create_directories(dir / "files", ec);
    if (ec)
      return MakeError(errors::kInvalidParameter,
                       "--out " + dir.string() + ": cannot create it (" + ec.message() + ")");
    // A person's data: for the one who exports it, whatever the umask (0700, data.json 0600).
    for (const auto& d : {dir, dir / "files"}) {
      std::filesystem::permissions(d, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
      if (ec)
        return MakeError(errors::kInvalidParameter,
                         "--out " + d.string() + ": cannot restrict it (" + ec.message() + ")");
    }
    const std::string ids = ArrayLiteral(person->ticket_ids);
    const std::string refs = ArrayLiteral(person->references);
    const auto pattern = PatternOf(person->contacts);
    json records = json::array();
    auto add = [&](const std::string& table, json row) {
      records.push_back({{"table", table}, {"purpose", Purpose(table)}, {"row", std::move(row)}});
      summary.rows.Add(table, 1);
    };
    for (const auto& q : kQueries) {
      for (const auto& r : tx.exec_params(std::string("SELECT row_to_json(x)::text FROM ") +
                                              q.table + " x" + kParams + q.where,
                                          ids, refs, pattern)) {
        add(q.table, json::parse(r[0].as<std::string>(), nullptr, false));
      }
    }
    // The history as the citizen may see it: no internal notes, no staff names.
    for (const auto& r : tx.exec_params(
             "SELECT json_build_object('reference', t.reference, 'at', h.at, 'action', h.action,"
             " 'status', h.to_status, 'department', h.to_department, 'public_note',"
             " h.public_note)::text FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
             " WHERE h.ticket_id = ANY($1::uuid[]) AND h.action IN ('routed', 'accepted',"
             " 'rerouted', 'forwarded', 'status', 'duplicate', 'reopened', 'question')"
             " ORDER BY h.id",
             ids)) {
      add("ticket_history", json::parse(r[0].as<std::string>(), nullptr, false));
    }
    for (const auto& r :
         tx.exec_params(std::string("SELECT x.sha256, x.content_type, x.stored_at::text, x.body"
                                    " FROM raw_payloads x") +
                            kParams + kRawWhere,
                        ids, refs, pattern)) {
      pqxx::binarystring body(r[3]);
      std::string bytes(body.str());
      json row = {{"sha256", r[0].as<std::string>()},
                  {"content_type", r[1].as<std::string>()},
                  {"stored_at", r[2].as<std::string>()}};
      if (IsValidUtf8(bytes)) {
        row["body"] = bytes;
      } else {
        row["body_base64"] = Base64Encode(bytes);
      }
      add("raw_payloads", std::move(row));
    }
    // Their files: photos, documents, recordings.
    std::set<std::string> shas;
    for (const auto& rec : records) {
      const json& row = rec["row"];
      const std::string table = rec["table"];
      if (table == "attachments" || table == "chat_draft_items") {
        if (row.contains("sha256") && row["sha256"].is_string())
          shas.insert(row["sha256"].get<std::string>());
      } else if (table == "phone_calls") {
        if (row.contains("recording_sha256") && row["recording_sha256"].is_string() &&
            row.value("recording_deleted_at", json()).is_null())
          shas.insert(row["recording_sha256"].get<std::string>());
      } else if (table == "ticket_followups" && row.contains("attachments")) {
        for (const auto& a : row["attachments"]) {
          if (a.is_object() && a.contains("sha256") && a["sha256"].is_string())
            shas.insert(a["sha256"].get<std::string>());
        }
      }
    }
    json files = json::array();
    for (const auto& sha : shas) {
      std::error_code cec;
      if (!std::filesystem::exists(blobs.PathFor(sha), cec))
        continue;
      std::filesystem::copy_file(blobs.PathFor(sha), dir / "files" / sha,
                                 std::filesystem::copy_options::overwrite_existing, cec);
      if (cec)
        return MakeError(errors::kInvalidParameter,
                         "copying " + sha + " to " + dir.string() + "/files: " + cec.message());
      files.push_back({{"sha256", sha}, {"path", "files/" + sha}});
      ++summary.files;
    }
    json selector_json = {{"kind", KindName(selector.kind)}, {"value", selector.value}};
    json contacts = json::array();
    for (const auto& c : person->contacts)
      contacts.push_back({{"kind", KindName(c.kind)}, {"value", c.value}});
    json doc = {{"generated_at", NowTimestamp()},
                {"controller", config.town.name},
                {"selector", selector_json},
                {"contacts", contacts},
                {"references", person->references},
                {"records", records},
                {"files", files}};
    const int fd = ::open(summary.data_json.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return MakeError(errors::kInvalidParameter,
                       "cannot create " + summary.data_json.string() + ": " + std::strerror(errno));
    ::close(fd);
    std::ofstream out(summary.data_json, std::ios::binary);
    out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!out)
      return MakeError(errors::kInvalidParameter, "cannot write " + summary.data_json.string());
    return summary;
  });
}

Result<Counts> Erase(const Config& config, const Selector& selector, bool dry_run,
                     const DeadLetterDrop& dead_letters) {
  const std::string key = PurposeKey(config, KeyPurpose::kPrivacyAudit);
  if (key.empty())
    return MakeError(errors::kConfigInvalid,
                     "no key for the erasure's audit row: set webform.token_secret or"
                     " keys.privacy_audit");
  db::Session session(config.database.url);
  BlobStore blobs(config.storage.media_dir);
  std::set<std::string> files;
  Person person;
  std::optional<Error> unknown;
  auto counts = session.Transact<Counts>([&](db::Tx& tx) -> Counts {
    Counts c;
    auto found = FindPerson(tx, selector);
    if (!found) {
      unknown = found.error();
      return c;
    }
    person = *found;
    const auto pattern = PatternOf(person.contacts);
    Anonymisation how{person.contacts, person.names, true};
    for (const auto& id : person.ticket_ids)
      AnonymiseTicket(tx, id, how, files, c);
    if (c.Get("tickets") == 0)
      c.Add("tickets", 0);
    // A statement with the pattern as $1, counted as `klass`.
    auto n = [&](const char* klass, const std::string& sql) {
      c.Add(klass, tx.exec_params(sql, *pattern).size());
    };
    if (pattern) {
      // Messages to them on other tickets (a typed address): unsent ones dropped, sent ones
      // emptied.
      n("messages",
        "DELETE FROM outbox WHERE status = 'pending' AND kind IN ('ack', 'status', 'chat_reply')"
        " AND address ~* $1 RETURNING 1");
      tx.exec_params0(
          "UPDATE outbox_attempts SET detail = '' WHERE detail ~* $1 OR outbox_id IN"
          " (SELECT id FROM outbox WHERE address ~* $1)",
          *pattern);
      n("messages",
        "UPDATE outbox SET address = '', payload = '{}'::jsonb, provider_message_id = NULL,"
        " last_error = NULL WHERE status NOT IN ('pending',"
        " 'sending') AND (address ~* $1 OR payload::text ~* $1)"
        " RETURNING 1");
      n("chat contacts", "DELETE FROM chat_contacts WHERE address ~* $1 RETURNING 1");
      n("chat events", "DELETE FROM chat_events WHERE sender ~* $1 RETURNING 1");
      for (const auto& r : tx.exec_params(
               "SELECT i.sha256 FROM chat_draft_items i JOIN chat_drafts d ON d.id = i.draft_id"
               " WHERE d.sender ~* $1 AND i.sha256 IS NOT NULL",
               *pattern))
        files.insert(r[0].as<std::string>());
      n("chat drafts", "DELETE FROM chat_drafts WHERE sender ~* $1 RETURNING 1");
      for (const auto& r : tx.exec_params(
               "UPDATE phone_calls SET caller = '', transcript = NULL, recording_url = '',"
               " recording_deleted_at = CASE WHEN recording_sha256 IS NULL THEN"
               " recording_deleted_at ELSE coalesce(recording_deleted_at, now()) END"
               " WHERE caller ~* $1 RETURNING coalesce(recording_sha256, '')",
               *pattern)) {
        if (!r[0].as<std::string>().empty())
          files.insert(r[0].as<std::string>());
        c.Add("calls", 1);
      }
      n("opt-outs",
        "DELETE FROM notification_optouts WHERE address ~* $1"
        " RETURNING 1");
      n("raw payloads", "DELETE FROM raw_payloads WHERE encode(body, 'escape') ~* $1 RETURNING 1");
      n("idempotency envelopes",
        "DELETE FROM intake_keys WHERE (envelope ~* $1 OR key ~* $1) RETURNING 1");
      // Others' tickets that name them (a neighbour's report with their number in it).
      for (const auto& r :
           tx.exec_params("SELECT id::text, text, address, report::text FROM tickets WHERE"
                          " (text ~* $1 OR address ~* $1 OR report::text ~* $1) FOR UPDATE",
                          *pattern)) {
        json report =
            json::parse(Redact(r[3].as<std::string>(), person.contacts, {}), nullptr, false);
        tx.exec_params0(
            "UPDATE tickets SET text = $2, address = $3, report = $4::jsonb WHERE id = $1::uuid",
            r[0].as<std::string>(), Redact(r[1].as<std::string>(), person.contacts, {}),
            Redact(r[2].as<std::string>(), person.contacts, {}),
            report.is_discarded() ? std::string("{}") : report.dump());
        c.Add("mentions in other tickets", 1);
      }
      // … their follow-ups, answers and staff notes.
      for (const auto& r : tx.exec_params(
               "SELECT id, text FROM ticket_followups WHERE text ~* $1 FOR UPDATE", *pattern)) {
        tx.exec_params0("UPDATE ticket_followups SET text = $2 WHERE id = $1", r[0].as<int64_t>(),
                        Redact(r[1].as<std::string>(), person.contacts, {}));
        c.Add("mentions in other tickets", 1);
      }
      for (const auto& r : tx.exec_params(
               "SELECT id, note FROM fix_answers WHERE note ~* $1 FOR UPDATE", *pattern)) {
        tx.exec_params0("UPDATE fix_answers SET note = $2 WHERE id = $1", r[0].as<int64_t>(),
                        Redact(r[1].as<std::string>(), person.contacts, {}));
        c.Add("mentions in other tickets", 1);
      }
      c.Add("mentions in other tickets",
            RedactHistory(tx, "note ~* $1 OR public_note ~* $1 OR details::text ~* $1", *pattern,
                          person.contacts, {}));
    }
    if (!dry_run) {
      tx.exec_params0(
          "INSERT INTO privacy_erasures (selector_kind, selector_hmac, counts)"
          " VALUES ($1, $2, $3::jsonb)",
          KindName(selector.kind),
          HmacSha256Hex(key, std::string(KindName(selector.kind)) + ":" + selector.value),
          c.ToJson());
      tx.commit();
    }
    return c;
  });
  if (!counts)
    return counts.error();
  if (unknown)
    return *unknown;
  if (dry_run) {
    counts->Add("files", static_cast<long long>(files.size()));
  } else {
    // The files first: a broker that is away must not keep them.
    auto freed = DeleteUnreferenced(session, blobs, files);
    if (!freed)
      return freed.error();
    counts->Add("files", *freed);
  }
  if (dead_letters) {
    auto mentions = [&](const std::string& body) {
      if (Mentions(body, person.contacts))
        return true;
      for (const auto& ref : person.references) {
        if (body.find(ref) != std::string::npos)
          return true;
      }
      return false;
    };
    auto n = dead_letters(mentions, dry_run);
    if (!n)
      return MakeError(n.error().code,
                       (dry_run ? std::string("the database part is counted (nothing changed), the "
                                              "dead-letter queue is not: ")
                                : std::string("the database part is done, the dead-letter queue "
                                              "is not: ")) +
                           n.error().message + " (run the erasure again when the broker is up)",
                       n.error().detail);
    counts->Add("dead letters", *n);
  }
  return counts;
}

}  // namespace meldestelle::privacy
