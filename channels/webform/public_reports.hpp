#pragma once

// The public map and list of reports (GET /meldungen, docs/intake-api.md, "What is already
// reported"): what is known already, with its status in traffic-light colours, so that a citizen
// sees a defect is reported before reporting it again and can say "Ich auch". Server-rendered,
// in the citizen's language (core/texts.hpp, "liste.*"); the list is complete without JavaScript,
// the map (meldungen-karte-1.js) shows the same page's reports. Pure functions. Only what
// docs/datenschutz.md, "Publication", allows: the category, the text staff released, the status,
// the day, a place rounded to about 100 m unless filed through Open311, the nearest street's name.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "channels/webform/page.hpp"
#include "channels/webform/status_page.hpp"

namespace meldestelle::webform {

struct PublicReportsPage {
  texts::Lang t;
  std::string self;  // the address without ?lang= (the language switch)
  std::string town_name;
  struct Item {
    std::string reference;
    std::string status;  // open, work, done
    std::string category_name, public_text;
    std::string received;  // "04.12.2026"
    std::string street;    // the nearest street's name, "" if none
    std::optional<double> lat, lon;
    bool me_too = false;  // "Ich auch" is offered (not done)
  };
  std::vector<Item> items;
  std::string filter;  // "", open, work, done
  int page = 1;
  int pages = 1;
  int64_t total = 0;
  PageMap map;
};
std::string RenderPublicReportsPage(const PublicReportsPage& page);

// The list's address: `filter` open, work, done or "" (all; in the address offen, in-arbeit,
// erledigt), `page` from 1, in the language of `t` (?lang= unless German).
std::string PublicReportsUrl(const std::string& filter, int page, const texts::Lang& t);

// The status word of the public list ("Offen", "In Arbeit", "Erledigt"), and its CSS class.
std::string PublicStatusLabel(const std::string& status, const texts::Lang& t);

}  // namespace meldestelle::webform
