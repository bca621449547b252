#include "privacy/anonymise.hpp"

#include <nlohmann/json.hpp>

#include "core/sql.hpp"

namespace meldestelle::privacy {

using nlohmann::json;

void Counts::Add(const std::string& klass, long long n) {
  for (auto& [k, v] : items_) {
    if (k == klass) {
      v += n;
      return;
    }
  }
  items_.emplace_back(klass, n);
}

long long Counts::Get(const std::string& klass) const {
  for (const auto& [k, v] : items_) {
    if (k == klass)
      return v;
  }
  return 0;
}

std::string Counts::ToJson() const {
  json j = json::object();
  for (const auto& [k, v] : items_)
    j[k] = v;
  return j.dump();
}

std::string UnreferencedCondition(const std::string& sha) {
  return "NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = " + sha +
         ") AND NOT EXISTS (SELECT 1 FROM chat_draft_items WHERE sha256 = " + sha +
         ") AND NOT EXISTS (SELECT 1 FROM phone_calls WHERE recording_sha256 = " + sha +
         " AND recording_deleted_at IS NULL) AND NOT EXISTS (SELECT 1 FROM ticket_followups"
         " WHERE attachments @> jsonb_build_array(jsonb_build_object('sha256', " +
         sha + "::text)))";
}

namespace {

std::string Scrub(const std::string& text, const Anonymisation& how) {
  return how.erasure ? Redact(text, how.redact, how.names) : std::string();
}

// The routing explanation keeps which rule held and why, not what it saw in the text.
void BlankSeen(json& j) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if (key == "seen" && value.is_string())
        value = "";
      else
        BlankSeen(value);
    }
  } else if (j.is_array()) {
    for (auto& v : j)
      BlankSeen(v);
  }
}

void CollectShas(const json& list, std::set<std::string>& files) {
  if (!list.is_array())
    return;
  for (const auto& a : list) {
    if (a.is_object() && a.contains("sha256") && a["sha256"].is_string())
      files.insert(a["sha256"].get<std::string>());
  }
}

}  // namespace

void AnonymiseTicket(db::Tx& tx, const std::string& id, const Anonymisation& how,
                     std::set<std::string>& files, Counts& counts) {
  auto t = tx.exec_params(
      "SELECT reference, coalesce(raw_ref, ''), text, address, reporter::text, report::text,"
      " channel, coalesce(routing_explanation, 'null'::jsonb)::text"
      " FROM tickets WHERE id = $1::uuid FOR UPDATE",
      id);
  if (t.empty())
    return;
  const std::string reference = t[0][0].as<std::string>();
  const std::string channel = t[0][6].as<std::string>();
  // The provider's message id can name the person (Telegram's holds the chat id, a WhatsApp
  // wamid encodes the number, a Message-ID may hold the address); Open311's is the client's
  // request and what lets it update its own requests.
  const bool keep_message_id = channel == "open311";
  json explanation = json::parse(t[0][7].as<std::string>(), nullptr, false);
  BlankSeen(explanation);
  const std::string raw_ref = t[0][1].as<std::string>();
  json reporter = json::parse(t[0][4].as<std::string>(), nullptr, false);
  json report = json::parse(t[0][5].as<std::string>(), nullptr, false);
  std::string language = "de";
  if (reporter.is_object() && reporter.contains("language") && reporter["language"].is_string())
    language = reporter["language"].get<std::string>();
  json anonymous = {{"ack", {{"address", ""}, {"channel", "none"}}},
                    {"address", ""},
                    {"language", language},
                    {"name", ""}};
  const std::string text = Scrub(t[0][2].as<std::string>(), how);
  // Retention keeps the place as typed (it names the defect's place, not the person); an erasure
  // redacts the person's contacts from it.
  const std::string address = how.erasure ? Redact(t[0][3].as<std::string>(), how.redact, how.names)
                                          : t[0][3].as<std::string>();
  if (report.is_object()) {
    report["reporter"] = anonymous;
    report["text"] = text;
    if (report.contains("attachments"))
      CollectShas(report["attachments"], files);
    report["attachments"] = json::array();
    if (!keep_message_id)
      report["channel_message_id"] = "anon:" + id;
    if (auto loc = report.find("location"); loc != report.end() && loc->is_object()) {
      (*loc)["address"] = address;
    }
    if (auto attrs = report.find("attributes"); how.erasure && attrs != report.end()) {
      // Answers to the category's questions are kept, with the person's contacts redacted.
      json scrubbed = json::parse(Redact(attrs->dump(), how.redact, how.names), nullptr, false);
      if (!scrubbed.is_discarded())
        *attrs = scrubbed;
    }
  } else {
    report = json::object();
  }
  tx.exec_params0(
      "UPDATE tickets SET reporter = $2::jsonb, report = $3::jsonb, text = $4, address = $5,"
      " raw_ref = NULL, anonymised_at = now(),"
      " channel_message_id = CASE WHEN $6 THEN channel_message_id ELSE 'anon:' || id END,"
      " routing_explanation = CASE WHEN routing_explanation IS NULL THEN NULL ELSE $7::jsonb END"
      " WHERE id = $1::uuid",
      id, anonymous.dump(), report.dump(-1, ' ', false, json::error_handler_t::replace), text,
      address, keep_message_id, explanation.dump(-1, ' ', false, json::error_handler_t::replace));
  counts.Add("tickets", 1);

  for (const auto& row :
       tx.exec_params("DELETE FROM attachments WHERE ticket_id = $1::uuid RETURNING sha256", id)) {
    files.insert(row[0].as<std::string>());
    counts.Add("photos and documents", 1);
  }
  for (const auto& row :
       tx.exec_params("SELECT id, text, attachments::text FROM ticket_followups"
                      " WHERE ticket_id = $1::uuid AND (text <> '' OR attachments <> '[]'"
                      "  OR message_id NOT LIKE 'anon:%')",
                      id)) {
    CollectShas(json::parse(row[2].as<std::string>(), nullptr, false), files);
    tx.exec_params0(
        "UPDATE ticket_followups SET text = $2, attachments = '[]',"
        " message_id = 'anon:' || id WHERE id = $1",
        row[0].as<int64_t>(), Scrub(row[1].as<std::string>(), how));
    counts.Add("follow-ups", 1);
  }
  // The citizen's note with an answer to "Ist es behoben?", and its copy in the history of the
  // ticket it reopened (the answer itself stays, for the figures).
  tx.exec_params0(
      "UPDATE ticket_history SET note = '' WHERE action = 'reopened' AND note <> ''"
      " AND details->>'fix_answer' IN (SELECT id::text FROM fix_answers"
      "   WHERE answered_ticket_id = $1::uuid)",
      id);
  counts.Add("follow-ups",
             tx.exec_params("UPDATE fix_answers SET note = '' WHERE answered_ticket_id = $1::uuid"
                            " AND note <> '' RETURNING 1",
                            id)
                 .size());
  if (how.erasure) {
    counts.Add("history notes",
               RedactHistory(tx, "ticket_id = $1::uuid", id, how.redact, how.names));
  }
  // Messages to the citizen not yet sent are dropped; those sent lose address and text. The
  // departments' deliveries of an open ticket stay (they carry no contact unless the department
  // may see it, and are sent soon).
  counts.Add("messages",
             tx.exec_params("DELETE FROM outbox WHERE ticket_id = $1::uuid AND status = 'pending'"
                            " AND kind IN ('ack', 'status', 'chat_reply') RETURNING 1",
                            id)
                 .size());
  tx.exec_params0(
      "UPDATE outbox_attempts SET detail = '' WHERE detail <> '' AND outbox_id IN"
      " (SELECT id FROM outbox WHERE ticket_id = $1::uuid AND status <> 'pending')",
      id);
  counts.Add("messages",
             tx.exec_params("UPDATE outbox SET address = '', payload = '{}'::jsonb,"
                            " provider_message_id = NULL, last_error = NULL"
                            " WHERE ticket_id = $1::uuid AND status NOT IN ('pending', 'sending')"
                            " AND (address <> '' OR payload <> '{}'::jsonb"
                            "  OR provider_message_id IS NOT NULL OR last_error IS NOT NULL)"
                            " RETURNING 1",
                            id)
                 .size());
  for (const auto& row : tx.exec_params(
           "UPDATE phone_calls SET caller = '', transcript = NULL, recording_url = '',"
           " recording_deleted_at = CASE WHEN recording_sha256 IS NULL THEN recording_deleted_at"
           "  ELSE coalesce(recording_deleted_at, now()) END"
           " WHERE ticket_id = $1::uuid AND (caller <> '' OR transcript IS NOT NULL"
           "  OR (recording_sha256 IS NOT NULL AND recording_deleted_at IS NULL))"
           " RETURNING coalesce(recording_sha256, '')",
           id)) {
    if (!row[0].as<std::string>().empty())
      files.insert(row[0].as<std::string>());
    counts.Add("calls", 1);
  }
  for (const auto& row : tx.exec_params(
           "SELECT i.sha256 FROM chat_draft_items i JOIN chat_drafts d ON d.id = i.draft_id"
           " WHERE d.ticket_id = $1::uuid AND i.sha256 IS NOT NULL",
           id)) {
    files.insert(row[0].as<std::string>());
  }
  counts.Add(
      "chat drafts",
      tx.exec_params("DELETE FROM chat_drafts WHERE ticket_id = $1::uuid RETURNING 1", id).size());
  counts.Add(
      "idempotency envelopes",
      tx.exec_params("DELETE FROM intake_keys WHERE reference = $1 RETURNING 1", reference).size());
  if (raw_ref.rfind("sha256:", 0) == 0) {
    // A raw payload several tickets came from (a chat batch) goes with the last of them.
    counts.Add("raw payloads",
               tx.exec_params("DELETE FROM raw_payloads WHERE sha256 = $1 AND NOT EXISTS"
                              " (SELECT 1 FROM tickets WHERE raw_ref = $2) RETURNING 1",
                              raw_ref.substr(7), raw_ref)
                   .size());
  }
}

long long RedactHistory(db::Tx& tx, const std::string& where, const std::string& param,
                        const std::vector<Contact>& contacts,
                        const std::vector<std::string>& names) {
  long long changed = 0;
  for (const auto& row :
       tx.exec_params("SELECT id, note, public_note, details::text FROM ticket_history WHERE " +
                          where + " FOR UPDATE",
                      param)) {
    std::string note = row[1].as<std::string>(), pub = row[2].as<std::string>(),
                details = row[3].as<std::string>();
    std::string n2 = Redact(note, contacts, names), p2 = Redact(pub, contacts, names),
                d2 = Redact(details, contacts, names);
    if (n2 == note && p2 == pub && d2 == details)
      continue;
    json dj = json::parse(d2, nullptr, false);
    tx.exec_params0(
        "UPDATE ticket_history SET note = $2, public_note = $3, details = $4::jsonb WHERE id = $1",
        row[0].as<int64_t>(), n2, p2, dj.is_object() ? d2 : std::string("{}"));
    ++changed;
  }
  return changed;
}

Result<long long> DeleteUnreferenced(db::Session& session, const BlobStore& blobs,
                                     const std::set<std::string>& shas) {
  long long deleted = 0;
  std::vector<std::string> all(shas.begin(), shas.end());
  // A thousand at a time, one query each.
  for (size_t from = 0; from < all.size(); from += 1000) {
    std::string list = "{";
    for (size_t i = from; i < all.size() && i < from + 1000; ++i) {
      if (all[i].size() != 64 || all[i].find_first_not_of("0123456789abcdef") != std::string::npos)
        continue;
      list += (list.size() > 1 ? "," : "") + all[i];
    }
    list += "}";
    auto unreferenced = session.Transact<std::vector<std::string>>([&](db::Tx& tx) {
      std::vector<std::string> out;
      for (const auto& row :
           tx.exec_params("SELECT s.sha FROM unnest($1::text[]) AS s(sha) WHERE " +
                              UnreferencedCondition("s.sha"),
                          list))
        out.push_back(row[0].as<std::string>());
      return out;
    });
    if (!unreferenced)
      return unreferenced.error();
    for (const auto& sha : *unreferenced) {
      std::error_code ec;
      if (std::filesystem::remove(blobs.PathFor(sha), ec))
        ++deleted;
    }
  }
  return deleted;
}

}  // namespace meldestelle::privacy
