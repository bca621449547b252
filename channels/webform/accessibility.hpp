#pragma once

// The accessibility statement (Erklärung zur Barrierefreiheit, BITV 2.0 § 12b; GET
// /barrierefreiheit): what the citizens' pages meet and what not yet, how that was found out,
// where to report a barrier (webform.accessibility) and the enforcement procedure. German and
// English (for every language but German and Leichte Sprache; the page says so in the citizen's).
// Pure.
#include <string>

#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"

namespace meldestelle::webform {

InfoPage AccessibilityStatement(const std::string& town, const Settings::Accessibility& a,
                                const texts::Lang& t);

}  // namespace meldestelle::webform
