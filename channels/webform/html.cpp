// The helpers of the citizens' pages (channels/webform/html.hpp).
#include "channels/webform/html.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/text.hpp"

namespace meldestelle::webform::html {
namespace {

// Shared by all citizens' pages. Mobile first, system fonts, touch targets >= 44 px, contrast
// >= 4.5:1 (text #1b1b1b, hints #4a4a4a, blue #0b4f8a, red #b3261e, green #1d6b2f on white).
constexpr std::string_view kStyle = R"css(
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;font-size:1.0625rem;line-height:1.5;color:#1b1b1b;background:#fff}
[hidden]{display:none!important}
.seite{max-width:40rem;margin:0 auto;padding:1rem 1rem 2.5rem}
.stadt{margin:0;font-weight:600;color:#4a4a4a}
h1{font-size:1.75rem;line-height:1.2;margin:.25rem 0 .5rem}
h2{display:flex;align-items:center;gap:.5rem;font-size:1.25rem;line-height:1.3;margin:0 0 .5rem}
p{margin:0 0 .75rem}
a{color:#0b4f8a}
a:hover{color:#083b67}
:focus-visible{outline:3px solid #1b1b1b;outline-offset:3px}
.intro{margin-bottom:1.25rem}
.nr{display:inline-flex;align-items:center;justify-content:center;flex:none;width:2rem;
height:2rem;border-radius:50%;background:#0b4f8a;color:#fff;font-size:1rem}
.schritt{margin:0 0 1.25rem;padding:0 0 1.25rem;border:0;border-bottom:1px solid #c8c8c8;
min-width:0}
legend{padding:0;margin:0;width:100%}
label{display:block;font-weight:600;margin:0 0 .25rem}
h2 label{margin:0;font-weight:inherit}
.feld{margin:0 0 1rem}
.hinweis{color:#4a4a4a;font-size:.95rem;margin:0 0 .5rem}
input[type=text],input[type=email],input[type=tel],select,textarea{display:block;width:100%;
min-height:3rem;padding:.625rem .75rem;font:inherit;color:#1b1b1b;background:#fff;
border:2px solid #5f5f5f;border-radius:.25rem}
textarea{min-height:6.5rem;resize:vertical}
[aria-invalid=true]{border-color:#b3261e!important;border-width:3px!important}
.feld-fehler,.status.fehler{color:#b3261e;font-weight:700}
.feld-fehler{margin:0 0 .5rem}
.status{margin:.5rem 0 0;font-weight:600}
.status:empty{margin:0}
.status.ok{color:#1d6b2f}
.fortschritt{margin:.75rem 0 0}
.fortschritt progress{display:block;width:100%;height:1.25rem;accent-color:#0b4f8a}
.knopf{display:flex;align-items:center;justify-content:center;gap:.5rem;width:100%;
min-height:3.5rem;margin:0;padding:.75rem 1rem;font:inherit;font-size:1.125rem;font-weight:700;
line-height:1.25;text-align:center;text-decoration:none;border:2px solid #0b4f8a;
border-radius:.5rem;cursor:pointer;-webkit-tap-highlight-color:transparent}
.knopf svg{flex:none;width:1.75rem;height:1.75rem}
.knopf-primaer{background:#0b4f8a;color:#fff}
.knopf-primaer:hover{background:#083b67;color:#fff}
.knopf-zweit{background:#fff;color:#0b4f8a}
.knopf-zweit:hover{background:#e6eef7;color:#083b67}
.knopf-absenden{min-height:4rem;font-size:1.25rem}
.knopf[aria-disabled=true]{opacity:.75;cursor:progress}
.foto-wahl{display:flex;flex-direction:column;gap:.5rem;margin:0 0 .5rem}
.foto-wahl .knopf{order:-1}
.foto-input{width:100%;min-height:2.75rem;font:inherit}
.js .foto-input,.sr-only{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;
overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.foto-input:focus-visible+.knopf{outline:3px solid #1b1b1b;outline-offset:3px}
.vorschau{list-style:none;margin:.75rem 0 0;padding:0;display:grid;gap:.5rem;
grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr))}
.vorschau:empty{margin:0}
.vorschau li{display:flex;flex-direction:column;gap:.25rem;padding:.25rem;border:1px solid #c8c8c8;
border-radius:.25rem;font-size:.875rem}
.vorschau li.ungueltig{border:3px solid #b3261e}
.vorschau img{display:block;width:100%;aspect-ratio:1;object-fit:cover;border-radius:.125rem}
.vorschau .name{overflow-wrap:anywhere}
.vorschau .problem{color:#b3261e;font-weight:700}
.entfernen{min-height:2.75rem;font:inherit;font-weight:600;color:#0b4f8a;background:#fff;
border:2px solid #0b4f8a;border-radius:.25rem;cursor:pointer}
.oder{display:flex;align-items:center;gap:.75rem;margin:1rem 0;color:#4a4a4a}
.oder::before,.oder::after{content:"";flex:1;border-top:1px solid #c8c8c8}
.optional{margin:0 0 1.5rem;border:2px solid #c8c8c8;border-radius:.5rem}
.optional summary{min-height:3rem;padding:.75rem 1rem;font-weight:700;cursor:pointer}
.optional-inhalt{padding:0 1rem .25rem}
.fehler-box{margin:0 0 1.5rem;padding:1rem;border:4px solid #b3261e;border-radius:.25rem}
.fehler-box ul{margin:0;padding-inline-start:1.25rem}
.fehler-box li{margin:0 0 .25rem}
.fehler-box a{color:#b3261e;font-weight:700}
.hp{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);
clip-path:inset(50%);white-space:nowrap}
.referenz{margin:.5rem 0 1rem;padding:1rem .5rem;text-align:center;border:3px solid #0b4f8a;
border-radius:.5rem;background:#f0f5fb;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,
"Liberation Mono","DejaVu Sans Mono",monospace;font-size:clamp(1.5rem,7.5vw,2.5rem);
font-weight:700;letter-spacing:.06em;word-spacing:.25em;line-height:1.3;overflow-wrap:anywhere;
-webkit-user-select:all;user-select:all}
.aktionen{display:flex;flex-direction:column;gap:.75rem;margin-top:1.5rem}
.sprachen ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0 0 1rem;padding:0;list-style:none}
.sprachen a{display:inline-block;min-height:1.5rem;padding:.125rem 0}
.sprachen a[aria-current]{font-weight:700;text-decoration:none}
.angaben{display:grid;grid-template-columns:max-content 1fr;gap:.375rem 1rem;margin:0 0 1.5rem}
.angaben dt{font-weight:700}
.angaben dd{margin:0;overflow-wrap:anywhere}
.stand{display:inline-block;padding:.125rem .625rem;border-radius:1rem;color:#fff;
font-weight:700;background:#b3261e}
.stand-arbeit{background:#8a4b00}
.stand-erledigt{background:#1d6b2f}
.verlauf{margin:0 0 1.5rem;padding:0;list-style:none;border-inline-start:3px solid #c8c8c8}
.verlauf li{margin:0 0 .75rem;padding:0;padding-inline-start:1rem}
.verlauf .zeit{display:block;color:#4a4a4a;font-size:.95rem}
.verlauf .notiz{margin:.25rem 0 0;padding:.5rem .75rem;background:#f0f5fb;border-radius:.25rem}
.karte{height:14rem;margin:0 0 .5rem;border:2px solid #c8c8c8;border-radius:.25rem}
.karte-formular{height:18rem;border-color:#5f5f5f}
.karte-formular:focus-visible{outline:3px solid #1b1b1b;outline-offset:3px}
.quelle{color:#4a4a4a;font-size:.95rem}
.karte-liste{height:20rem}
.filter ul{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;margin:0 0 1rem;padding:0}
.filter a{display:inline-block;min-height:2.75rem;padding:.5rem .875rem;border:2px solid #0b4f8a;
border-radius:1.5rem;text-decoration:none;font-weight:600}
.filter a[aria-current=page]{background:#0b4f8a;color:#fff}
.legende .stand{margin-inline-end:.25rem}
.meldungen{list-style:none;margin:0 0 1.5rem;padding:0}
.meldungen li{margin:0 0 1rem;padding:0 0 1rem;border-bottom:1px solid #c8c8c8}
.meldungen h2{font-size:1.125rem;margin:0 0 .25rem}
.oeffentlich{margin:.25rem 0}
.ich-auch{font-weight:700}
.rueckmeldung{margin:0 0 1.5rem;padding:1rem;border:3px solid #1d6b2f;border-radius:.25rem}
.frage{margin:0 0 1.5rem;padding:1rem;border:2px solid #0b4f8a;border-radius:.5rem}
.frage fieldset{margin:0 0 1rem;padding:0;border:0;min-width:0}
.frage legend{font-size:1.25rem;font-weight:700;margin:0 0 .5rem}
.wahl{display:flex;align-items:center;gap:.75rem;min-height:2.75rem;margin:0;font-weight:400}
.wahl input{flex:none;width:1.5rem;height:1.5rem;margin:0}
)css";

bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

void AppendEscaped(std::string& out, std::string_view s) {
  AppendMarkupEscaped(out, s, Markup::kHtml);
}

void Attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  AppendEscaped(out, value);
  out += '"';
}

std::string SafeUrl(std::string_view url) {
  std::string cleaned;
  size_t i = 0;
  while (i < url.size() && static_cast<unsigned char>(url[i]) <= 0x20) {
    ++i;
  }
  for (; i < url.size(); ++i) {
    if (url[i] != '\t' && url[i] != '\n' && url[i] != '\r') {
      cleaned += url[i];
    }
  }
  size_t end = cleaned.find_first_of(":/?#");
  if (end == std::string::npos || cleaned[end] != ':') {
    return cleaned;  // relative
  }
  std::string scheme;
  for (size_t k = 0; k < end; ++k) {
    scheme += AsciiLower(cleaned[k]);
  }
  if (scheme == "http" || scheme == "https") {
    return cleaned;
  }
  return "#";
}

std::string GroupForReading(std::string_view ref) {
  if (ref.size() <= 4 || !std::all_of(ref.begin(), ref.end(), IsAsciiAlnum)) {
    return std::string(ref);
  }
  std::string out;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (i != 0 && i % 4 == 0) {
      out += ' ';
    }
    out += ref[i];
  }
  return out;
}

std::string SpellOut(std::string_view grouped) {
  std::string out;
  bool pending_group_break = false;
  for (char c : grouped) {
    auto u = static_cast<unsigned char>(c);
    bool continuation = (u & 0xC0) == 0x80;
    bool separator = u < 0x80 && !IsAsciiAlnum(c);
    if (separator) {
      pending_group_break = !out.empty();
      continue;
    }
    if (!continuation && !out.empty()) {
      out += pending_group_break ? ", " : " ";
    }
    pending_group_break = false;
    out += c;
  }
  return out;
}

void RenderHead(std::string& out, std::string_view title, bool with_script_flag,
                std::string_view language, std::string_view extra_head) {
  out += "<!DOCTYPE html>\n<html";
  Attr(out, "lang", language);
  out += with_script_flag ? " class=\"no-js\">\n" : ">\n";
  out += "<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"color-scheme\" content=\"light\">\n";
  out += "<meta name=\"robots\" content=\"noindex\">\n";
  out += "<title>";
  AppendEscaped(out, title);
  out += "</title>\n";
  if (with_script_flag) {
    out += "<script>";
    out += kScriptFlag;
    out += "</script>\n";
  }
  out += "<style>";
  out += kStyle;
  out += "</style>\n";
  out += extra_head;
  out += "</head>\n";
}

void RenderHead(std::string& out, std::string_view title, bool with_script_flag,
                const texts::Lang& t, std::string_view extra_head) {
  std::string head;
  RenderHead(head, title, with_script_flag, t.code(), extra_head);
  // <html lang="ar"> → <html lang="ar" dir="rtl">
  size_t at = head.find(" lang=\"");
  at = head.find('"', at + 7) + 1;
  head.insert(at, std::string(" dir=\"") + std::string(t.dir()) + "\"");
  out += head;
}

std::string Escaped(std::string_view s) {
  std::string out;
  AppendEscaped(out, s);
  return out;
}

std::string WithLanguage(std::string_view url, std::string_view code) {
  std::string out(url);
  out += url.find('?') == std::string_view::npos ? '?' : '&';
  out += "lang=";
  out += code;
  return out;
}

void RenderLanguageSwitch(std::string& out, const texts::Lang& t, std::string_view self) {
  if (self.empty())
    return;
  out += "<nav class=\"sprachen\"";
  Attr(out, "aria-label", t("sprache.wahl"));
  out += ">\n<ul>\n";
  for (const auto& code : texts::Languages()) {
    const std::string& name = t.catalogue().Get(code, "sprache.name");
    out += "<li><a";
    Attr(out, "href", SafeUrl(WithLanguage(self, code)));
    Attr(out, "hreflang", code == "de-x-ls" ? "de" : code);
    Attr(out, "lang", code == "de-x-ls" ? "de" : code);
    Attr(out, "dir", code == "ar" ? "rtl" : "ltr");
    if (code == t.code())
      out += " aria-current=\"true\"";
    out += ">";
    AppendEscaped(out, name);
    out += "</a></li>\n";
  }
  out += "</ul>\n</nav>\n";
}

std::string Coordinate(double degrees) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", degrees);
  return buf;
}

void RenderNoticeLinks(std::string& out, const texts::Lang& t, std::string_view css_class,
                       std::string_view lead) {
  out += "<p";
  if (!css_class.empty())
    Attr(out, "class", css_class);
  out += ">";
  if (!lead.empty()) {
    AppendEscaped(out, lead);
    out += " ";
  }
  out += "<a";
  Attr(out, "href", "/datenschutz" + t.Query());
  out += ">";
  AppendEscaped(out, t("seite.datenschutz"));
  out += "</a> · <a";
  Attr(out, "href", "/barrierefreiheit" + t.Query());
  out += ">";
  AppendEscaped(out, t("seite.barrierefreiheit"));
  out += "</a></p>\n";
}

PageMap PageMapOf(const Settings::Map& map, std::string_view script) {
  PageMap m;
  m.enabled = map.enabled;
  m.tile_url = map.tile_url;
  m.attribution = map.attribution;
  m.attribution_url = map.attribution_url;
  m.max_zoom = map.max_zoom;
  m.zoom = map.zoom;
  m.library_css = kLeafletCss;
  m.library_js = kLeafletJs;
  m.script_js = script;
  return m;
}

void RenderHoneypot(std::string& out, std::string_view id, const texts::Lang& t) {
  out += "<div class=\"hp\" aria-hidden=\"true\">\n<label";
  Attr(out, "for", id);
  out += ">";
  AppendEscaped(out, t("seite.honigtopf"));
  out += "</label>\n<input type=\"text\"";
  Attr(out, "id", id);
  out += " name=\"website\" value=\"\" tabindex=\"-1\" autocomplete=\"off\">\n</div>\n";
}

std::string MapHead(const PageMap& map) {
  std::string out = "<link rel=\"stylesheet\"";
  Attr(out, "href", map.library_css);
  out += ">\n<script defer";
  Attr(out, "src", map.library_js);
  out += "></script>\n<script defer";
  Attr(out, "src", map.script_js);
  out += "></script>\n";
  return out;
}

void RenderMapSource(std::string& out, const PageMap& map, const texts::Lang& t) {
  out += "<p class=\"quelle\">";
  AppendEscaped(out, t("seite.karte_quelle"));
  out += " ";
  if (!map.attribution_url.empty()) {
    out += "<a";
    Attr(out, "href", SafeUrl(map.attribution_url));
    out += ">";
    AppendEscaped(out, map.attribution);
    out += "</a>";
  } else {
    AppendEscaped(out, map.attribution);
  }
  out += "</p>\n";
}

}  // namespace meldestelle::webform::html
