#include "tickets/view.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/sql.hpp"
#include "tickets/events.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

namespace {

constexpr const char* kColumns =
    "SELECT t.id::text, t.reference, t.channel, t.status, t.department_id, t.department_name,"
    " coalesce(t.category, t.routed_category, ''), coalesce(t.rule_id, ''), t.text, t.address,"
    " t.location_source,"
    " to_char(t.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(t.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(t.assigned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(to_char(t.accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " coalesce(to_char(t.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " t.public_note, coalesce((SELECT reference FROM tickets o WHERE o.id = t.duplicate_of), ''),"
    " t.public_text,"
    " t.lat, t.lon, t.accuracy_m, t.reporter::text,"
    " coalesce(t.routing_explanation->'flags', '[]')::text, t.escalation_level,"
    " 1 + (SELECT count(*) FROM tickets d WHERE d.duplicate_of = t.id),"
    " coalesce(t.report->'attributes', '[]')::text"
    " FROM tickets t ";

std::vector<TicketView::Answer> AnswersOf(const json& list) {
  std::vector<TicketView::Answer> out;
  if (!list.is_array())
    return out;
  for (const auto& a : list) {
    if (!a.is_object() || !a.contains("code") || !a["code"].is_string())
      continue;
    TicketView::Answer answer{a["code"].get<std::string>(), a.value("name", ""), {}};
    if (auto v = a.find("values"); v != a.end() && v->is_array()) {
      for (const auto& x : *v) {
        if (x.is_string())
          answer.values.push_back(x.get<std::string>());
      }
    }
    out.push_back(std::move(answer));
  }
  return out;
}

// The stored reporter's name, contact and language: the address the acknowledgement went to
// (reporter.ack), else the address on the channel the report came through; nullopt when there is
// no name and no address (an anonymous report, or one anonymised).
std::optional<TicketView::Contact> ContactOf(const json& reporter, const std::string& channel) {
  if (!reporter.is_object())
    return std::nullopt;
  auto text = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TicketView::Contact c;
  c.name = text(reporter, "name");
  c.language = text(reporter, "language");
  if (auto ack = reporter.find("ack"); ack != reporter.end() && ack->is_object()) {
    std::string via = text(*ack, "channel");
    if (via != "none" && !text(*ack, "address").empty()) {
      c.channel = via;
      c.address = text(*ack, "address");
    }
  }
  if (c.address.empty() && !text(reporter, "address").empty()) {
    c.channel = channel;
    c.address = text(reporter, "address");
  }
  if (c.name.empty() && c.address.empty())
    return std::nullopt;
  return c;
}

std::optional<TicketView> Load(db::Tx& tx, const std::string& where, const std::string& key,
                               bool with_history) {
  auto r = tx.exec_params(std::string(kColumns) + where, key);
  if (r.empty())
    return std::nullopt;
  const auto& row = r[0];
  TicketView t;
  int i = 0;
  for (std::string* s :
       {&t.id, &t.reference, &t.channel, &t.status, &t.department_id, &t.department_name,
        &t.category, &t.rule_id, &t.text, &t.address, &t.location_source, &t.received_at,
        &t.updated_at, &t.assigned_at, &t.accepted_at, &t.closed_at, &t.public_note,
        &t.duplicate_of, &t.public_text}) {
    *s = row[i++].as<std::string>();
  }
  for (std::optional<double>* d : {&t.lat, &t.lon, &t.accuracy_m}) {
    if (!row[i].is_null())
      *d = row[i].as<double>();
    ++i;
  }
  t.reporter = ContactOf(json::parse(row[i++].as<std::string>(), nullptr, false), t.channel);
  json flags = json::parse(row[i++].as<std::string>(), nullptr, false);
  if (flags.is_array()) {
    for (const auto& f : flags) {
      if (f.is_string())
        t.flags.push_back(f.get<std::string>());
    }
  }
  t.escalation_level = row[i++].as<int>();
  t.reporters = row[i++].as<int>();
  t.answers = AnswersOf(json::parse(row[i++].as<std::string>(), nullptr, false));
  auto followups = tx.exec_params(
      "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), channel, text,"
      " jsonb_array_length(attachments) FROM ticket_followups WHERE ticket_id = $1::uuid"
      " ORDER BY at, id",
      t.id);
  for (const auto& f : followups) {
    t.followups.push_back(
        {f[0].as<std::string>(), f[1].as<std::string>(), f[2].as<std::string>(), f[3].as<int>()});
  }
  auto photos = tx.exec_params(
      "SELECT position, sha256, media_type, size, filename FROM attachments"
      " WHERE ticket_id = $1::uuid ORDER BY position",
      t.id);
  for (const auto& p : photos) {
    t.attachments.push_back({p[0].as<int>(), p[1].as<std::string>(), p[2].as<std::string>(),
                             p[4].as<std::string>(), p[3].as<int64_t>()});
  }
  if (with_history) {
    auto h = tx.exec_params(
        "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), actor,"
        " coalesce(actor_department, ''), action, coalesce(from_status, ''),"
        " coalesce(to_status, ''), coalesce(from_department, ''), coalesce(to_department, ''),"
        " public_note, note, details::text FROM ticket_history WHERE ticket_id = $1::uuid"
        " ORDER BY id",
        t.id);
    for (const auto& row2 : h) {
      TicketView::History e;
      e.id = row2[0].as<int64_t>();
      int j = 1;
      for (std::string* s :
           {&e.at, &e.actor, &e.actor_department, &e.action, &e.from_status, &e.to_status,
            &e.from_department, &e.to_department, &e.public_note, &e.note}) {
        *s = row2[j++].as<std::string>();
      }
      e.details_json = row2[j].as<std::string>();
      t.history.push_back(std::move(e));
    }
  }
  return t;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

}  // namespace

std::optional<TicketView> LoadTicketByReference(db::Tx& tx, const std::string& reference,
                                                bool with_history) {
  return Load(tx, "WHERE t.reference = $1", reference, with_history);
}

std::optional<TicketView> LoadTicketById(db::Tx& tx, const std::string& id, bool with_history) {
  return Load(tx, "WHERE t.id = $1::uuid", id, with_history);
}

std::string MapLink(const TicketView& t) {
  if (!t.lat || !t.lon)
    return "";
  return MapLink(*t.lat, *t.lon);
}

std::string MapLink(double lat_value, double lon_value) {
  std::string lat = Num(lat_value), lon = Num(lon_value);
  return "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=18/" + lat + "/" +
         lon;
}

json TicketToJson(const TicketView& t, const Config& config, bool include_contact,
                  const std::string& base_url) {
  const Category* cat = config.FindCategory(t.category);
  json j{{"reference", t.reference},
         {"status", t.status},
         {"public_status", PublicStatus(t.status)},
         {"department", {{"id", t.department_id}, {"name", t.department_name}}},
         {"category", t.category.empty() ? json(nullptr) : json(t.category)},
         {"category_name", cat != nullptr ? json(cat->name) : json(nullptr)},
         {"rule", t.rule_id.empty() ? json(nullptr) : json(t.rule_id)},
         {"channel", t.channel},
         {"text", t.text},
         {"received_at", t.received_at},
         {"updated_at", t.updated_at},
         {"assigned_at", t.assigned_at},
         {"accepted_at", t.accepted_at.empty() ? json(nullptr) : json(t.accepted_at)},
         {"closed_at", t.closed_at.empty() ? json(nullptr) : json(t.closed_at)},
         {"public_note", t.public_note},
         {"public_text", t.public_text},
         {"duplicate_of", t.duplicate_of.empty() ? json(nullptr) : json(t.duplicate_of)},
         {"reporters", t.reporters},
         {"flags", t.flags},
         {"escalation_level", t.escalation_level}};
  json loc{{"address", t.address}, {"source", t.location_source}};
  loc["lat"] = t.lat ? json(*t.lat) : json(nullptr);
  loc["lon"] = t.lon ? json(*t.lon) : json(nullptr);
  loc["accuracy_m"] = t.accuracy_m ? json(*t.accuracy_m) : json(nullptr);
  std::string map = MapLink(t);
  loc["map_url"] = map.empty() ? json(nullptr) : json(map);
  j["location"] = loc;
  json photos = json::array();
  for (const auto& p : t.attachments) {
    photos.push_back({{"position", p.position},
                      {"sha256", p.sha256},
                      {"media_type", p.media_type},
                      {"size", p.size},
                      {"filename", p.filename},
                      {"url", base_url + "/api/v1/tickets/" + t.reference + "/attachments/" +
                                  std::to_string(p.position)}});
  }
  j["attachments"] = photos;
  json answers = json::array();
  for (const auto& a : t.answers) {
    answers.push_back({{"code", a.code},
                       {"question", a.question.empty() ? json(nullptr) : json(a.question)},
                       {"values", a.values}});
  }
  j["answers"] = answers;
  json followups = json::array();
  for (const auto& f : t.followups) {
    followups.push_back(
        {{"at", f.at}, {"channel", f.channel}, {"text", f.text}, {"photos", f.photos}});
  }
  j["followups"] = followups;
  if (include_contact && t.reporter) {
    j["reporter"] = {{"name", t.reporter->name},
                     {"contact_channel", t.reporter->channel},
                     {"contact", t.reporter->address},
                     {"language", t.reporter->language}};
  } else {
    j["reporter"] = nullptr;
  }
  if (!t.history.empty()) {
    json h = json::array();
    for (const auto& e : t.history) {
      json x{{"id", e.id}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}};
      auto opt = [&](const char* k, const std::string& v) {
        x[k] = v.empty() ? json(nullptr) : json(v);
      };
      opt("actor_department", e.actor_department);
      opt("from_status", e.from_status);
      opt("to_status", e.to_status);
      opt("from_department", e.from_department);
      opt("to_department", e.to_department);
      x["public_note"] = e.public_note;
      x["note"] = e.note;
      x["details"] = json::parse(e.details_json, nullptr, false);
      h.push_back(std::move(x));
    }
    j["history"] = h;
  }
  return j;
}

}  // namespace meldestelle::tickets
