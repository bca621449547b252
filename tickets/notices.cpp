#include "tickets/notices.hpp"

#include <nlohmann/json.hpp>

#include "core/links.hpp"
#include "core/sql.hpp"
#include "core/text.hpp"
#include "tickets/reference.hpp"
#include "tickets/settings.hpp"

namespace meldestelle::tickets {

using nlohmann::json;

namespace {

bool English(std::string_view language) { return language == "en"; }


std::string Lang(const Config& config, const std::string& language) {
  return config.Get<NotificationSettings>().texts.count(language) ? language : "de";
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

std::string StatusUrl(const Config& config, const std::string& reference) {
  return StatusPageUrl(config, reference);
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
    reference += English(n.language)
                     ? " (together with report " + DisplayReference(existing) + ")"
                     : " (gemeinsam mit Meldung " + DisplayReference(existing) + ")";
  }
  return {{"reference", reference},
          {"department", n.department},
          {"note", note},
          {"town", config.town.name},
          {"status_url", StatusUrl(config, n.reference)},
          {"existing_reference", DisplayReference(existing)}};
}

std::string Template(const Config& config, const StatusNotice& n) {
  const auto& texts = config.Get<NotificationSettings>().texts;
  auto lang = texts.find(Lang(config, n.language));
  if (lang != texts.end()) {
    if (auto t = lang->second.find(n.event); t != lang->second.end() && !t->second.empty())
      return t->second;
  }
  if (auto de = texts.find("de"); de != texts.end()) {
    if (auto t = de->second.find(n.event); t != de->second.end())
      return t->second;
  }
  return "{reference}: " + n.event + "{note}";
}

}  // namespace

std::string FillPlaceholders(std::string_view text,
                             const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    if (open == std::string_view::npos)
      break;
    out.append(text.substr(i, open - i));
    size_t close = text.find('}', open);
    bool replaced = false;
    if (close != std::string_view::npos) {
      std::string_view key = text.substr(open + 1, close - open - 1);
      for (const auto& [k, v] : values) {
        if (key == k) {
          out += v;
          i = close + 1;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) {
      out += '{';
      i = open + 1;
    }
  }
  if (i < text.size())
    out.append(text.substr(i));
  return out;
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
  bool en = English(n.language);
  // "Ist es behoben?" (tickets/fix_answers.hpp): asked with the notice that it is done.
  const bool ask_fixed = n.event == "done" && config.Get<NotificationSettings>().ask_fixed;
  std::string tmpl = Template(config, n);
  std::string note_label = en ? "Note: " : "Hinweis: ";
  std::string note = OneLine(n.note);
  if (style == NoticeStyle::kEmail) {
    std::string text = FillPlaceholders(
        tmpl, Values(config, n, tmpl, note.empty() ? "" : "\n\n" + note_label + n.note));
    std::string out = en ? "Hello,\n\n" : "Guten Tag,\n\n";
    out += text + "\n\n";
    if (ask_fixed) {
      // The reporter's own link: only it may answer on the page.
      out += (en ? "Is the problem fixed? Please tell us with one click: "
                 : "Ist der Mangel behoben? Sagen Sie es uns mit einem Klick: ") +
             FixAnswerUrl(config, n.reference) + "\n\n";
    } else {
      out += (en ? "The current state of your report: "
                 : "Den aktuellen Stand Ihrer Meldung sehen Sie hier: ") +
             StatusUrl(config, n.reference) + "\n\n";
    }
    out += en ? "Kind regards\nTown of " + config.town.name
              : "Mit freundlichen Grüßen\nStadtverwaltung " + config.town.name;
    if (!optout_url.empty()) {
      out +=
          en ? "\n\n-- \nNo more status e-mails about your reports: " + optout_url
             : "\n\n-- \nSie möchten keine Statusmeldungen mehr per E-Mail erhalten? Abmelden: " +
                   optout_url;
    }
    return out;
  }
  if (style == NoticeStyle::kSms) {
    std::string prefix = config.town.name.empty() ? "" : config.town.name + ": ";
    std::string bare = prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, ""));
    if (note.empty())
      return bare;
    std::string full =
        prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, " " + note_label + note));
    size_t length = Utf8Length(full);
    if (length <= 160)
      return full;
    // Shorten the note so that one SMS holds it all; if even that is not enough, send it whole.
    size_t over = length - 160 + 1;  // + the ellipsis
    size_t note_len = Utf8Length(note);
    if (over + 10 > note_len)
      return full;
    std::string shortened = Utf8Prefix(note, note_len - over) + "…";
    return prefix + FillPlaceholders(tmpl, Values(config, n, tmpl, " " + note_label + shortened));
  }
  return FillPlaceholders(tmpl,
                          Values(config, n, tmpl, note.empty() ? "" : " " + note_label + note));
}

std::string AskFixedText(const Config& config, const StatusNotice& n) {
  if (n.event != "done" || !config.Get<NotificationSettings>().ask_fixed)
    return "";
  return English(n.language)
             ? " Is the problem fixed? Reply YES or NO (and what is still wrong)."
             : " Ist der Mangel behoben? Antworten Sie mit JA oder NEIN (gern mit dem, was noch "
               "fehlt).";
}

std::string StatusSubject(const Config& config, const StatusNotice& n) {
  const auto& subjects = config.Get<NotificationSettings>().email_subjects;
  auto s = subjects.find(Lang(config, n.language));
  if (s == subjects.end())
    s = subjects.find("de");
  std::string tmpl = s != subjects.end() ? s->second : "[{reference}]";
  // The subject names the reporter's own reference only: it is what they quote.
  StatusNotice own = n;
  own.ticket_reference = n.reference;
  own.merged_into.clear();
  return OneLine(FillPlaceholders(tmpl, Values(config, own, tmpl, "")));
}

std::string StatusTemplateLine(const StatusNotice& n) {
  bool en = English(n.language);
  std::string existing = DisplayReference(ExistingReference(n));
  std::string line;
  if (n.event == "accepted") {
    line = en ? "taken on by " + n.department : "übernommen von " + n.department;
  } else if (n.event == "in_progress") {
    line = en ? "being worked on" : "in Bearbeitung";
  } else if (n.event == "done") {
    line = en ? "dealt with" : "erledigt";
  } else if (n.event == "rejected") {
    line = en ? "closed without action" : "abgeschlossen ohne Maßnahme";
  } else if (n.event == "forwarded") {
    line = en ? "passed to " + n.department : "weitergegeben an " + n.department;
  } else if (n.event == "duplicate") {
    line = en ? "handled together with " + existing : "gemeinsam bearbeitet mit " + existing;
  } else {
    line = n.event;
  }
  if (!n.note.empty())
    line += (en ? ". Note: " : ". Hinweis: ") + n.note;
  return Utf8Prefix(OneLine(line), 900);
}

// --- Acknowledgements ---

std::string AckText(std::string_view language, std::string_view reference,
                    std::string_view department, bool location_missing) {
  std::string ref = DisplayReference(reference);
  std::string text;
  if (English(language)) {
    text = Concat({"Thank you! Your report ", ref, " has been received by ", department, "."});
    if (location_missing) {
      text += " We could not tell where the problem is; staff may ask you for the place.";
    }
    text +=
        " Please quote the reference if you contact us. Reply to this message to add "
        "something.";
    return text;
  }
  text = Concat({"Danke! Ihre Meldung ", ref, " ist eingegangen. Zuständig: ", department, "."});
  if (location_missing) {
    text += " Den Ort konnten wir nicht bestimmen; eventuell fragen wir noch einmal nach.";
  }
  text +=
      " Bitte nennen Sie die Nummer bei Rückfragen. Antworten Sie auf diese Nachricht, um "
      "etwas zu ergänzen.";
  return text;
}

std::string DuplicateAckText(std::string_view language, std::string_view reference,
                             std::string_view existing_reference) {
  if (English(language)) {
    return Concat({"Thank you! This problem has already been reported (",
                DisplayReference(existing_reference),
                ") and is being dealt with. We have added your report ",
                DisplayReference(reference), " to it and will keep you informed."});
  }
  return Concat({"Danke! Dieser Mangel wurde bereits gemeldet (", DisplayReference(existing_reference),
              ") und wird bearbeitet. Ihre Meldung ", DisplayReference(reference),
              " haben wir dazugelegt; wir halten Sie auf dem Laufenden."});
}

std::string ForwardAckText(std::string_view language, std::string_view reference,
                           std::string_view authority) {
  if (English(language)) {
    return Concat({"Thank you! Your report ", DisplayReference(reference),
                " concerns a place the town is not responsible for. We have forwarded it to ",
                authority, "."});
  }
  return Concat({"Danke! Ihre Meldung ", DisplayReference(reference),
              " betrifft einen Ort, für den die Stadt nicht zuständig ist. Wir haben sie an ",
              authority, " weitergeleitet."});
}

std::string SmsAckText(std::string_view language, std::string_view town, std::string_view reference,
                       std::string_view department, std::string_view existing_reference) {
  std::string ref = DisplayReference(reference);
  if (English(language)) {
    std::string text =
        Concat({town, ": your report ", ref, " has been received. Responsible: ", department, "."});
    if (!existing_reference.empty()) {
      text += Concat({" Already reported as ", DisplayReference(existing_reference), "."});
    }
    return text;
  }
  std::string text =
      Concat({town, ": Ihre Meldung ", ref, " ist eingegangen. Zuständig: ", department, "."});
  if (!existing_reference.empty()) {
    text += Concat({" Bereits gemeldet als ", DisplayReference(existing_reference), "."});
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

std::string AckChatText(const Acknowledgement& a, bool location_missing) {
  std::string text =
      !a.forwarded_to.empty() ? ForwardAckText(a.language, a.reference, a.forwarded_to)
      : a.duplicate           ? DuplicateAckText(a.language, a.reference, a.existing_reference)
                              : AckText(a.language, a.reference, a.department, location_missing);
  if (a.ask_location)
    text += " " + a.location_message;
  return text;
}

std::string WithStatusLink(const Config& config, std::string_view language,
                           const std::string& reference, std::string text) {
  if (config.gateway.public_base_url.empty() || reference.empty())
    return text;
  std::string url = StatusPageUrl(config, reference);
  if (text.find(url) != std::string::npos)
    return text;
  text += English(language) ? " Status: " : " Stand: ";
  text += url;
  return text;
}

std::string AckPreamble(const Acknowledgement& a) {
  std::string extra;
  if (!a.forwarded_to.empty()) {
    extra = ForwardAckText(a.language, a.reference, a.forwarded_to);
  } else if (a.duplicate) {
    extra = DuplicateAckText(a.language, a.reference, a.existing_reference);
  }
  if (a.ask_location)
    extra += (extra.empty() ? "" : " ") + a.location_message;
  return extra;
}

std::string AckTemplateLine(const Acknowledgement& a) {
  return English(a.language) ? "received, responsible: " + a.department
                             : "eingegangen, zuständig: " + a.department;
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
