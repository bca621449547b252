#include "tickets/notices.hpp"

#include <nlohmann/json.hpp>

#include "core/links.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"
#include "tickets/reference.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

namespace {

texts::Lang T(const Config& config, std::string_view language) {
  return texts::For(config, language);
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  }
  return s;
}

// The first `n` code points of valid UTF-8.
std::string Utf8Prefix(const std::string& s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == n)
        return s.substr(0, i);
      ++count;
    }
  }
  return s;
}

// `url` with the citizen's language added to its query (unless German).
std::string WithLanguage(const std::string& url, const texts::Lang& t) {
  return url + t.Query(url.find('?') == std::string::npos ? '?' : '&');
}

// The status page in the citizen's language (?lang= unless German).
std::string StatusUrl(const Config& config, const std::string& reference,
                      std::string_view language) {
  return StatusPageUrl(config, reference) + T(config, language).Query();
}

std::vector<std::pair<std::string, std::string>> Values(const Config& config, const StatusNotice& n,
                                                        const std::string& template_text,
                                                        const std::string& note) {
  std::string existing = ExistingReference(n);
  std::string reference = DisplayReference(n.reference);
  // A duplicate's reporter: their own reference, and with which report it is handled, unless
  // the text names that already.
  if (!existing.empty() && n.event != "duplicate" &&
      template_text.find("{existing_reference}") == std::string::npos) {
    reference += " " + T(config, n.language)("nachricht.gemeinsam_mit",
                                             {{"existing_reference", DisplayReference(existing)}});
  }
  return {{"reference", reference},
          {"department", n.department},
          {"note", note},
          {"town", config.town.name},
          {"status_url", StatusUrl(config, n.reference, n.language)},
          {"existing_reference", DisplayReference(existing)}};
}

// notifications.texts (the town's configuration) for the language, else the catalogue's.
std::string Template(const Config& config, const StatusNotice& n) {
  const auto& own = config.Get<NotificationSettings>().texts;
  const std::string language = texts::IsLanguage(n.language) ? n.language : "de";
  if (auto lang = own.find(language); lang != own.end()) {
    if (auto t = lang->second.find(n.event); t != lang->second.end() && !t->second.empty())
      return t->second;
  }
  std::string key = "nachricht.status." + n.event;
  if (!texts::Of(config)->Has("de", key))
    return "{reference}: " + n.event + "{note}";
  return T(config, n.language)(key);
}

}  // namespace

std::string FillPlaceholders(std::string_view text,
                             const std::vector<std::pair<std::string, std::string>>& values) {
  return texts::FillWith(text, [&values](std::string_view name) -> const std::string* {
    for (const auto& [k, v] : values) {
      if (k == name)
        return &v;
    }
    return nullptr;
  });
}

std::string ExistingReference(const StatusNotice& n) {
  if (n.event == "duplicate" && !n.merged_into.empty() && n.merged_into != n.reference)
    return n.merged_into;
  if (!n.ticket_reference.empty() && n.ticket_reference != n.reference)
    return n.ticket_reference;
  return "";
}

std::string StatusText(const Config& config, const StatusNotice& n, NoticeStyle style,
                       const std::string& optout_url) {
  const texts::Lang t = T(config, n.language);
  // "Ist es behoben?" (tickets/fix_answers.hpp): asked with the notice that it is done.
  const bool ask_fixed = n.event == "done" && config.Get<NotificationSettings>().ask_fixed;
  std::string tmpl = Template(config, n);
  std::string note = OneLine(n.note);
  // A question (tickets/questions.hpp) is asked, not noted.
  const char* note_key = n.event == "question" ? "nachricht.frage" : "nachricht.hinweis";
  auto noted = [&t, note_key](const std::string& what) { return t(note_key, {{"note", what}}); };
  if (style == NoticeStyle::kEmail) {
    std::string text =
        FillPlaceholders(tmpl, Values(config, n, tmpl, note.empty() ? "" : "\n\n" + noted(n.note)));
    std::string out = t("nachricht.email.anrede") + "\n\n";
    out += text + "\n\n";
    if (ask_fixed) {
      // The reporter's own link: only it may answer on the page.
      out += t("nachricht.email.behoben_frage",
               {{"url", WithLanguage(FixAnswerUrl(config, n.reference), t)}}) +
             "\n\n";
    } else {
      out +=
          t("nachricht.email.stand_link", {{"url", StatusUrl(config, n.reference, n.language)}}) +
          "\n\n";
    }
    out += t("nachricht.email.gruss", {{"town", config.town.name}});
    if (!optout_url.empty())
      out += "\n\n-- \n" + t("nachricht.email.abmelden_status", {{"url", optout_url}});
    return out;
  }
  if (style == NoticeStyle::kSms) {
    std::string prefix = config.town.name.empty() ? "" : config.town.name + ": ";
    std::string bare = prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, ""));
    if (note.empty())
      return bare;
    std::string full = prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, " " + noted(note)));
    size_t length = Utf8Length(full);
    if (length <= 160 || n.event == "question")  // a question is sent whole
      return full;
    // Shorten the note so that one SMS holds it all; if even that is not enough, send it whole.
    size_t over = length - 160 + 1;  // + the ellipsis
    size_t note_len = Utf8Length(note);
    if (over + 10 > note_len)
      return full;
    std::string shortened = Utf8Prefix(note, note_len - over) + "…";
    return prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, " " + noted(shortened)));
  }
  return FillPlaceholders(tmpl, Values(config, n, tmpl, note.empty() ? "" : " " + noted(note)));
}

std::string AskFixedText(const Config& config, const StatusNotice& n) {
  if (n.event != "done" || !config.Get<NotificationSettings>().ask_fixed)
    return "";
  return " " + T(config, n.language)("nachricht.behoben_frage");
}

std::string StatusSubject(const Config& config, const StatusNotice& n) {
  const auto& subjects = config.Get<NotificationSettings>().email_subjects;
  auto s = subjects.find(texts::IsLanguage(n.language) ? n.language : "de");
  std::string tmpl = s != subjects.end() && !s->second.empty()
                         ? s->second
                         : T(config, n.language)("nachricht.email.betreff_status");
  // The subject names the reporter's own reference only: it is what they quote.
  StatusNotice own = n;
  own.ticket_reference = n.reference;
  own.merged_into.clear();
  return OneLine(FillPlaceholders(tmpl, Values(config, own, tmpl, "")));
}

std::string StatusTemplateLine(const Config& config, const StatusNotice& n) {
  const texts::Lang t = T(config, n.language);
  std::string key = "nachricht.vorlage." + n.event;
  std::string line = texts::Of(config)->Has("de", key)
                         ? t(key, {{"department", n.department},
                                   {"existing_reference", DisplayReference(ExistingReference(n))}})
                         : n.event;
  if (!n.note.empty())
    line += ". " +
            t(n.event == "question" ? "nachricht.frage" : "nachricht.hinweis", {{"note", n.note}});
  return Utf8Prefix(OneLine(line), 900);
}

// --- Acknowledgements ---

std::string AckText(const texts::Lang& t, std::string_view reference, std::string_view department,
                    bool location_missing) {
  std::string text = t("nachricht.eingang", {{"reference", DisplayReference(reference)},
                                             {"department", std::string(department)}});
  if (location_missing)
    text += " " + t("nachricht.eingang_ort_fehlt");
  return text + " " + t("nachricht.eingang_schluss");
}

std::string DuplicateAckText(const texts::Lang& t, std::string_view reference,
                             std::string_view existing_reference) {
  return t("nachricht.doppelt", {{"reference", DisplayReference(reference)},
                                 {"existing_reference", DisplayReference(existing_reference)}});
}

std::string ForwardAckText(const texts::Lang& t, std::string_view reference,
                           std::string_view authority) {
  return t("nachricht.weitergeleitet",
           {{"reference", DisplayReference(reference)}, {"authority", std::string(authority)}});
}

std::string SmsAckText(const texts::Lang& t, std::string_view town, std::string_view reference,
                       std::string_view department, std::string_view existing_reference) {
  std::string text = t("nachricht.sms_eingang", {{"town", std::string(town)},
                                                 {"reference", DisplayReference(reference)},
                                                 {"department", std::string(department)}});
  if (!existing_reference.empty()) {
    text += " " + t("nachricht.sms_bereits",
                    {{"existing_reference", DisplayReference(existing_reference)}});
  }
  return text;
}

Acknowledgement ReadAcknowledgement(const std::string& payload_json) {
  Acknowledgement a;
  json p = json::parse(payload_json, nullptr, false);
  if (!p.is_object())
    return a;
  a.reference = p.value("reference", "");
  a.department = p.value("department", "");
  a.language = p.value("language", "de");
  a.duplicate = p.value("duplicate", false);
  a.existing_reference = p.value("existing_reference", "");
  a.forwarded_to = p.value("forwarded_to", "");
  a.ask_location = p.value("ask_location", false);
  a.location_message = p.value("location_message", "");
  return a;
}

std::string AckChatText(const Config& config, const Acknowledgement& a, bool location_missing) {
  const texts::Lang t = T(config, a.language);
  std::string text = !a.forwarded_to.empty() ? ForwardAckText(t, a.reference, a.forwarded_to)
                     : a.duplicate ? DuplicateAckText(t, a.reference, a.existing_reference)
                                   : AckText(t, a.reference, a.department, location_missing);
  if (a.ask_location)
    text += " " + a.location_message;
  return text;
}

std::string WithStatusLink(const Config& config, std::string_view language,
                           const std::string& reference, std::string text) {
  if (config.gateway.public_base_url.empty() || reference.empty())
    return text;
  std::string url = StatusPageUrl(config, reference) + T(config, language).Query();
  if (text.find(url) != std::string::npos)
    return text;
  text += " " + T(config, language)("nachricht.stand", {{"url", url}});
  return text;
}

std::string AckPreamble(const Config& config, const Acknowledgement& a) {
  const texts::Lang t = T(config, a.language);
  std::string extra;
  if (!a.forwarded_to.empty()) {
    extra = ForwardAckText(t, a.reference, a.forwarded_to);
  } else if (a.duplicate) {
    extra = DuplicateAckText(t, a.reference, a.existing_reference);
  }
  if (a.ask_location)
    extra += (extra.empty() ? "" : " ") + a.location_message;
  return extra;
}

std::string AckTemplateLine(const Config& config, const Acknowledgement& a) {
  return T(config, a.language)("nachricht.vorlage.eingang", {{"department", a.department}});
}

StatusNotice ReadStatusNotice(const std::string& payload_json) {
  StatusNotice n;
  json p = json::parse(payload_json, nullptr, false);
  if (!p.is_object())
    return n;
  n.event = p.value("event", "");
  n.language = p.value("language", "de");
  n.reference = p.value("reference", "");
  n.ticket_reference = p.value("ticket_reference", "");
  n.merged_into = p.value("merged_into", "");
  n.department = p.value("department", "");
  n.note = p.value("note", "");
  return n;
}

bool OptedOut(db::Tx& tx, const std::string& channel, const std::string& address) {
  return !tx.exec_params("SELECT 1 FROM notification_optouts WHERE channel = $1 AND address = $2",
                         channel, address)
              .empty();
}

bool LocationMissing(db::Tx& tx, const std::string& ticket_id) {
  if (ticket_id.empty())
    return false;
  auto t = tx.exec_params(
      "SELECT coalesce(routing_explanation->'flags', '[]')::text FROM tickets WHERE id = $1::uuid",
      ticket_id);
  if (t.empty())
    return false;
  json flags = json::parse(t[0][0].as<std::string>(), nullptr, false);
  if (!flags.is_array())
    return false;
  for (const auto& f : flags) {
    if (f.is_string() && f.get<std::string>() == "Ort fehlt")
      return true;
  }
  return false;
}

}  // namespace meldestelle::tickets
