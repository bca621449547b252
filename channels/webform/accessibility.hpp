#pragma once

// The accessibility statement (Erklärung zur Barrierefreiheit, BITV 2.0 § 12b; GET
// /barrierefreiheit): what the citizens' pages meet and what not yet, how that was found out,
// where to report a barrier (webform.accessibility) and the enforcement procedure. German and
// English. Pure.
#include <string>

#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"

namespace meldestelle::webform {

InfoPage AccessibilityStatement(const std::string& town, const Settings::Accessibility& a,
                                const std::string& language);

}  // namespace meldestelle::webform
