#pragma once

// The citizens' status page (GET /meldung/{reference}) and the page to type a reference
// (GET /meldung): server-rendered HTML in the citizen's language (core/texts.hpp, "status.*"),
// usable without JavaScript. Pure
// functions. What the status page shows is what a stranger holding the reference may see
// (docs/datenschutz.md, "Status page"): no text, no photos, no contact, no staff names.

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "channels/webform/page.hpp"

namespace meldestelle::webform {

struct StatusPage {
  texts::Lang t;     // the page's language
  std::string self;  // the page's address without ?lang= (the language switch); "" = none
  std::string town_name, reference;
  // received, assigned, accepted, in_progress, done, rejected, duplicate.
  std::string status;
  std::string category_name, department_name;  // "" when not (yet) known
  std::string received_at;                     // local text, "04.12.2026, 09:15"
  std::string linked_reference;                // handled together with this report
  struct Event {
    std::string at;  // local text
    std::string action, status, department_name, public_note;
  };
  std::vector<Event> history;  // oldest first
  std::optional<double> lat, lon;
  std::string map_link;  // a link to the place on a public map; "" without position
  PageMap map;
  // "Ist es behoben?": done and not yet answered — the question, a form posting to
  // /meldung/{reference}/behoben (fields antwort=ja|nein, notiz, lang).
  bool ask_fixed = false;
  std::string fixed_key;    // the reporter's key from the notice's link, sent back with the form
  std::string fixed_error;  // why the last answer was refused ("" = none)
  std::string fixed_note;   // the note sent with it, shown again
  // After an answer: "fixed", "reopened" or "answered" (this closing had its answer already).
  std::string answered;
  // "Ich auch" (docs/intake-api.md): others who see the defect leave their e-mail address and
  // are told when it is fixed — a form posting to /meldung/{reference}/ich-auch (fields email,
  // the honeypot website, lang). Offered while the report is open and its category public.
  bool me_too = false;
  std::string me_too_error;  // why the last address was refused ("" = none)
  std::string me_too_email;  // shown again with the error
  bool me_too_done = false;  // after the redirect: thanks
};
std::string RenderStatusPage(const StatusPage& page);

// The field to type a reference, with what went wrong with the last one.
struct LookupPage {
  enum class Problem { kNone, kMalformed, kCheckFailed, kUnknown, kUnavailable, kTooMany };
  texts::Lang t;
  std::string self;
  std::string town_name;
  std::string typed;  // shown again in the field
  Problem problem = Problem::kNone;
};
std::string RenderLookupPage(const LookupPage& page);

// The status's words for citizens ("In Bearbeitung", "In progress").
std::string StatusLabel(const std::string& status, const texts::Lang& t);

}  // namespace meldestelle::webform
