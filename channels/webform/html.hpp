#pragma once

// The pieces every citizens' page shares (the form, its confirmation, the status page, the
// privacy notice): the document head with the one stylesheet, escaping, safe links and the
// reference shown for reading. Pure functions.

#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "channels/webform/page.hpp"
#include "channels/webform/settings.hpp"

namespace meldestelle::webform::html {

// Appends `s` escaped for HTML text and quoted attribute values.
void AppendEscaped(std::string& out, std::string_view s);
// Appends ` name="value"` with the value escaped.
void Attr(std::string& out, std::string_view name, std::string_view value);
// Only relative URLs and http(s) may end up in href/action; anything else (javascript:, data:,
// ...) becomes "#". Mirrors the URL parser: leading C0/space is stripped, tab/CR/LF are ignored.
std::string SafeUrl(std::string_view url);
// "K7QX4RT2WNPA" -> "K7QX 4RT2 WNPA". References of another shape are shown unchanged.
std::string GroupForReading(std::string_view ref);
// "K7QX 4RT2" -> "K 7 Q X, 4 R T 2" so that screen readers spell it. UTF-8 sequences stay intact.
std::string SpellOut(std::string_view grouped);
// The document up to </head>: doctype, <html lang>, meta, title, the stylesheet and
// `extra_head` (further <link>/<script> elements). `with_script_flag` adds the tiny script that
// switches class no-js -> js.
void RenderHead(std::string& out, std::string_view title, bool with_script_flag,
                std::string_view language = "de", std::string_view extra_head = {});
// The same with the language's lang and dir ("rtl" for Arabic).
void RenderHead(std::string& out, std::string_view title, bool with_script_flag,
                const texts::Lang& t, std::string_view extra_head = {});
// The script of `with_script_flag`.
inline constexpr std::string_view kScriptFlag = "document.documentElement.className = 'js';";
// Where a page's scripts may come from, for its Content-Security-Policy's script-src
// (docs/security.md, "Scripts"): the gateway's own files ('self') and, by their SHA-256 (CSP
// Level 3 hash sources), exactly the inline scripts the pages write. An injected script, event
// handler attribute or javascript: URL matches none of them, so a browser does not run it.
std::string ScriptSources();
// `s` escaped (AppendEscaped into a new string).
std::string Escaped(std::string_view s);

// The map library's files and our map scripts as the gateway serves them (gateway/assets.hpp).
// The version is in every path, so that a browser may keep them for a year.
inline constexpr std::string_view kLeafletCss = "/assets/leaflet-1.9.4/leaflet.css";
inline constexpr std::string_view kLeafletJs = "/assets/leaflet-1.9.4/leaflet.js";
inline constexpr std::string_view kStatusMapJs = "/assets/karte-1.js";
inline constexpr std::string_view kFormMapJs = "/assets/formular-karte-2.js";
inline constexpr std::string_view kPhotosJs = "/assets/fotos-2.js";
inline constexpr std::string_view kReportsMapJs = "/assets/meldungen-karte-1.js";

// A WGS84 coordinate as the pages write it: "50.937531" (six decimals, about 10 cm).
std::string Coordinate(double degrees);
// The paragraph with the links to the privacy notice and the accessibility statement, with its
// class and a sentence before the links, if given.
void RenderNoticeLinks(std::string& out, const texts::Lang& t, std::string_view css_class = {},
                       std::string_view lead = {});

// The language switch: every language by its own name, linked to `self` (the page's address
// without ?lang=) with ?lang= added, the current one marked. Nothing when `self` is empty.
void RenderLanguageSwitch(std::string& out, const texts::Lang& t, std::string_view self);
// `url` with "lang=<code>" added to its query.
std::string WithLanguage(std::string_view url, std::string_view code);
// A page's map from `webform.map`, with the library served by the gateway and our `script`; no
// centre (the caller sets one where the map needs it).
PageMap PageMapOf(const Settings::Map& map, std::string_view script);
// The honeypot: a field hidden from people (and from screen readers) that bots fill in; a
// submission with it filled is discarded. `id` names the field on its page, `name` is "website".
void RenderHoneypot(std::string& out, std::string_view id, const texts::Lang& t);

// The map's <link> and <script defer> elements for the head.
std::string MapHead(const PageMap& map);
// "Karte: © OpenStreetMap-Mitwirkende" (linked), under a map: the tiles' licence asks for it.
void RenderMapSource(std::string& out, const PageMap& map, const texts::Lang& t);

}  // namespace meldestelle::webform::html
