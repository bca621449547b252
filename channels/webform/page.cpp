#include "channels/webform/page.hpp"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "channels/webform/html.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"
#include "core/texts.hpp"

namespace meldestelle::webform {
namespace {

using html::AppendEscaped;
using html::Attr;
using html::GroupForReading;
using html::RenderHead;
using html::SafeUrl;
using html::SpellOut;

constexpr int kMaxDescriptionChars = 4000;

// Static on purpose: every dynamic value reaches the script through escaped data-* attributes or
// the DOM, never through string concatenation into the script text.
constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  var form = document.getElementById('meldung');
  if (!form) return;
  var maxFotos = parseInt(form.getAttribute('data-max-fotos'), 10) || 1;
  var maxBytes = Number(form.getAttribute('data-max-bytes')) || 0;
  var maxText = form.getAttribute('data-max-groesse') || '';
  var zusammenfassung = document.getElementById('fehler');
  if (zusammenfassung) zusammenfassung.focus();
  // The texts in the page's language (core/texts.hpp, "formular.js.*"), as JSON in the page.
  var texte = {};
  try {
    texte = JSON.parse(document.getElementById('formular-texte').textContent);
  } catch (e) {
    texte = {};
  }
  // {name} filled in one pass: a value (a file's name) is never searched again.
  function t(key, werte) {
    werte = werte || {};
    return (texte[key] || key).replace(/\{([a-z_]+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(werte, name) ? String(werte[name]) : all;
    });
  }
  // For the page's other scripts (fotos-2.js, formular-karte-2.js), which run after this one.
  window.meldestelleText = t;

  function zeige(el, text, art) {
    el.className = 'status' + (art ? ' ' + art : '');
    el.textContent = text;
  }

  // Fotos: Vorschau, Sammeln über mehrere Auswahlen, Prüfung von Anzahl und Größe.
  var input = document.getElementById('fotos');
  var knopfText = document.getElementById('fotos-knopf-text');
  var fotoStatus = document.getElementById('fotos-status');
  var liste = document.getElementById('fotos-vorschau');
  var urls = [];
  var gewaehlt = [];
  var sammeln = false;
  try {
    sammeln = typeof DataTransfer === 'function' && !!new DataTransfer().items;
  } catch (e) {
    sammeln = false;
  }
  function dateien() {
    return sammeln ? gewaehlt : Array.prototype.slice.call(input.files || []);
  }
  // Photos the browser scales down before sending (fotos-2.js) are checked after scaling.
  function verkleinerbar(f) {
    return !!(window.meldestelleFotos && window.meldestelleFotos.verkleinerbar(f));
  }
  function zuGross(f) { return maxBytes > 0 && f.size > maxBytes && !verkleinerbar(f); }
  function keinBild(f) { return !!f.type && f.type.indexOf('image/') !== 0; }
  function fotoFehler() {
    var d = dateien();
    if (d.length > maxFotos) {
      return t(maxFotos === 1 ? 'zu_viele_eins' : 'zu_viele', {max: maxFotos, n: d.length}) +
          (sammeln ? ' ' + t('ueberzaehlige') : '');
    }
    for (var i = 0; i < d.length; i++) {
      if (keinBild(d[i])) return t('kein_bild', {name: d[i].name});
      if (zuGross(d[i])) return t('zu_gross', {name: d[i].name, max: maxText});
    }
    return '';
  }
  function synchronisieren() {
    var dt = new DataTransfer();
    for (var i = 0; i < gewaehlt.length; i++) dt.items.add(gewaehlt[i]);
    input.files = dt.files;
  }
  function anzeigen() {
    for (var i = 0; i < urls.length; i++) URL.revokeObjectURL(urls[i]);
    urls = [];
    liste.textContent = '';
    var d = dateien();
    d.forEach(function (f, index) {
      var li = document.createElement('li');
      if (window.URL && URL.createObjectURL && !keinBild(f)) {
        var img = document.createElement('img');
        var url = URL.createObjectURL(f);
        urls.push(url);
        img.alt = '';
        img.onerror = function () { img.hidden = true; };
        img.src = url;
        li.appendChild(img);
      }
      var name = document.createElement('span');
      name.className = 'name';
      name.textContent = f.name;
      li.appendChild(name);
      if (keinBild(f) || zuGross(f)) {
        li.className = 'ungueltig';
        var problem = document.createElement('span');
        problem.className = 'problem';
        problem.textContent = keinBild(f) ? t('kein_bild_kurz') : t('zu_gross_kurz');
        li.appendChild(problem);
      }
      if (sammeln) {
        var weg = document.createElement('button');
        weg.type = 'button';
        weg.className = 'entfernen';
        weg.textContent = t('entfernen');
        weg.setAttribute('aria-label', t('entfernen_label', {name: f.name}));
        weg.addEventListener('click', function () {
          gewaehlt.splice(index, 1);
          synchronisieren();
          anzeigen();
          input.focus();
        });
        li.appendChild(weg);
      }
      liste.appendChild(li);
    });
    var text = fotoFehler();
    if (text) {
      input.setAttribute('aria-invalid', 'true');
      zeige(fotoStatus, text, 'fehler');
    } else {
      input.removeAttribute('aria-invalid');
      zeige(fotoStatus, d.length === 0 ? '' :
          (d.length === 1 ? t('ausgewaehlt_eins') : t('ausgewaehlt', {n: d.length})), 'ok');
    }
    if (knopfText) {
      knopfText.textContent = d.length === 0 ? t('foto_knopf') :
          (sammeln ? t('foto_weiteres') : t('foto_andere'));
    }
  }
  if (input && fotoStatus && liste) {
    input.addEventListener('change', function () {
      if (sammeln) {
        Array.prototype.slice.call(input.files || []).forEach(function (f) {
          var doppelt = gewaehlt.some(function (g) {
            return g.name === f.name && g.size === f.size && g.lastModified === f.lastModified;
          });
          if (!doppelt) gewaehlt.push(f);
        });
        synchronisieren();
      }
      anzeigen();
    });
    if (input.files && input.files.length) {
      if (sammeln) gewaehlt = Array.prototype.slice.call(input.files);
      anzeigen();
    }
  }

  // Absenden: Fotos prüfen, doppeltes Absenden verhindern.
  var senden = document.getElementById('absenden');
  var unterwegs = false;
  form.addEventListener('submit', function (e) {
    var text = input && fotoStatus ? fotoFehler() : '';
    if (text) {
      e.preventDefault();
      zeige(fotoStatus, text, 'fehler');
      input.focus();
      return;
    }
    if (unterwegs) {
      e.preventDefault();
      return;
    }
    unterwegs = true;
    if (senden) {
      senden.setAttribute('aria-disabled', 'true');
      senden.textContent = t('wird_gesendet');
    }
    // With photos: scaled down and sent with a progress bar (fotos-2.js), where it is loaded.
    var fotos = input ? dateien() : [];
    if (fotos.length > 0 && window.meldestelleFotos) {
      e.preventDefault();
      window.meldestelleFotos.senden(form, fotos, function (fehler) {
        bereit();
        zeige(fotoStatus, fehler, 'fehler');
        if (senden) senden.focus();
      });
    }
  });
  function bereit() {
    unterwegs = false;
    if (senden) {
      senden.removeAttribute('aria-disabled');
      senden.textContent = t('absenden');
    }
  }
  window.addEventListener('pageshow', bereit);

  // Standort per Geolocation.
  var geo = document.getElementById('standort-js');
  var geoKnopf = document.getElementById('standort-knopf');
  var geoStatus = document.getElementById('standort-status');
  var lat = document.getElementById('lat');
  var lon = document.getElementById('lon');
  if (geo && geoKnopf && geoStatus && lat && lon && 'geolocation' in navigator &&
      window.isSecureContext !== false) {
    geo.hidden = false;
    var sucht = false;
    geoKnopf.addEventListener('click', function () {
      if (sucht) return;
      sucht = true;
      zeige(geoStatus, t('standort_sucht'), '');
      navigator.geolocation.getCurrentPosition(function (pos) {
        sucht = false;
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        // The map (formular-karte-2.js) moves its marker there.
        document.dispatchEvent(new CustomEvent('meldestelle:standort', {
          detail: {lat: pos.coords.latitude, lon: pos.coords.longitude}}));
        var meter = Math.round(pos.coords.accuracy || 0);
        var text = t('standort_ok', {m: meter.toLocaleString(document.documentElement.lang)});
        if (meter > 100) text += ' ' + t('standort_ungenau');
        zeige(geoStatus, text, 'ok');
      }, function (err) {
        sucht = false;
        var code = err && err.code;
        zeige(geoStatus, t(code === 1 ? 'standort_verboten' : code === 3 ? 'standort_zeit'
                                                                   : 'standort_fehler'), 'fehler');
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
    });
  }
})();
)js";

constexpr std::string_view kCameraIcon =
    R"(<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">)"
    R"(<path fill="currentColor" fill-rule="evenodd" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v12a2 2 0 0 0 )"
    R"(2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 )"
    R"(0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg>)";

constexpr std::string_view kPinIcon =
    R"(<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">)"
    R"(<path fill="currentColor" fill-rule="evenodd" d="M12 2a7 7 0 0 0-7 7c0 5.25 7 13 7 13s7-)"
    R"(7.75 7-13a7 7 0 0 0-7-7zm0 4.5a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5z"/></svg>)";

// German byte size, rounded down so the stated limit is never more than the real one:
// 10485760 -> "10 MB", 5767168 -> "5,5 MB", 512000 -> "500 KB".
std::string FormatBytes(long long bytes, char decimal = ',') {
  constexpr long long kKiB = 1024;
  constexpr long long kMiB = 1024 * 1024;
  if (bytes >= kMiB) {
    long long whole = bytes / kMiB;
    long long tenths = (bytes % kMiB) * 10 / kMiB;
    std::string s = std::to_string(whole);
    if (tenths != 0) {
      s += decimal;
      s += std::to_string(tenths);
    }
    return s + " MB";
  }
  if (bytes >= kKiB) {
    return std::to_string(bytes / kKiB) + " KB";
  }
  return std::to_string(std::max(bytes, 0LL)) + " Byte";
}

int EffectiveMaxPhotos(const FormPage& page) { return std::max(page.max_photos, 1); }

// The page's way of writing a size ("5,5 MB"; "5.5 MB" in English and Arabic).
std::string PageBytes(const FormPage& page, long long bytes) {
  const std::string& code = page.t.code();
  return FormatBytes(bytes, code == "en" || code == "ar" ? '.' : ',');
}

std::string PhotoLimitText(const FormPage& page) {
  int n = EffectiveMaxPhotos(page);
  const std::string size = PageBytes(page, page.max_photo_bytes);
  if (n == 1)
    return page.t("formular.fotos_grenze_eins", {{"size", size}});
  return page.t("formular.fotos_grenze", {{"n", std::to_string(n)}, {"size", size}});
}

bool HasMap(const FormPage& page) {
  return page.map.enabled && page.map.center_lat && page.map.center_lon;
}

// Form fields in page order: error key, id of the element a summary link points to.
struct FieldRef {
  std::string_view key;
  std::string_view anchor;
};
constexpr FieldRef kFieldOrder[] = {
    {"fotos[]", "fotos"},    {"fotos", "fotos"},         {"beschreibung", "beschreibung"},
    {"standort", "adresse"}, {"lat", "adresse"},         {"lon", "adresse"},
    {"adresse", "adresse"},  {"kategorie", "kategorie"}, {"email", "email"},
    {"telefon", "telefon"},
};

const std::string* FieldError(const FormPage& page, std::string_view key) {
  auto it = page.field_errors.find(std::string(key));
  return it == page.field_errors.end() ? nullptr : &it->second;
}

std::string_view AnchorFor(std::string_view key) {
  for (const FieldRef& f : kFieldOrder) {
    if (f.key == key) {
      return f.anchor;
    }
  }
  return {};
}

// The problems to list at the top: `errors` first (linked when a field has the same message),
// then field errors in page order whose text is not already listed.
struct SummaryItem {
  std::string text;
  std::string_view anchor;
};

std::vector<SummaryItem> SummaryItems(const FormPage& page) {
  std::vector<std::string_view> keys;
  for (const FieldRef& f : kFieldOrder) {
    if (page.field_errors.count(std::string(f.key)) != 0) {
      keys.push_back(f.key);
    }
  }
  for (const auto& [key, message] : page.field_errors) {
    if (AnchorFor(key).empty()) {
      keys.push_back(key);
    }
  }
  std::vector<SummaryItem> items;
  auto listed = [&items](const std::string& text) {
    return std::any_of(items.begin(), items.end(),
                       [&text](const SummaryItem& i) { return i.text == text; });
  };
  for (const std::string& e : page.errors) {
    if (e.empty() || listed(e)) {
      continue;
    }
    std::string_view anchor;
    for (std::string_view key : keys) {
      if (*FieldError(page, key) == e) {
        anchor = AnchorFor(key);
        break;
      }
    }
    items.push_back({e, anchor});
  }
  for (std::string_view key : keys) {
    const std::string& message = *FieldError(page, key);
    if (!message.empty() && !listed(message)) {
      items.push_back({message, AnchorFor(key)});
    }
  }
  return items;
}

void RenderErrorSummary(std::string& out, const FormPage& page) {
  std::vector<SummaryItem> items = SummaryItems(page);
  if (items.empty()) {
    return;
  }
  out +=
      "<div class=\"fehler-box\" id=\"fehler\" role=\"alert\" tabindex=\"-1\" "
      "aria-labelledby=\"fehler-titel\">\n";
  out += "<h2 id=\"fehler-titel\">";
  AppendEscaped(out, page.t("formular.fehler_titel"));
  out += "</h2>\n<ul>\n";
  for (const SummaryItem& item : items) {
    out += "<li>";
    if (!item.anchor.empty()) {
      out += "<a href=\"#";
      out += item.anchor;
      out += "\">";
      AppendEscaped(out, item.text);
      out += "</a>";
    } else {
      AppendEscaped(out, item.text);
    }
    out += "</li>\n";
  }
  out += "</ul>\n</div>\n";
}

// Joins the non-empty ids with spaces.
std::string JoinIds(std::initializer_list<std::string_view> ids) {
  std::string out;
  for (std::string_view id : ids) {
    if (id.empty()) {
      continue;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += id;
  }
  return out;
}

// Appends aria-describedby (if any ids) and aria-invalid (if `invalid`).
void AriaAttrs(std::string& out, const std::string& describedby, bool invalid) {
  if (!describedby.empty()) {
    Attr(out, "aria-describedby", describedby);
  }
  if (invalid) {
    out += " aria-invalid=\"true\"";
  }
}

void RenderFieldError(std::string& out, const FormPage& page, std::string_view id,
                      const std::string& message) {
  out += "<p class=\"feld-fehler\"";
  if (!id.empty()) {
    Attr(out, "id", id);
  }
  out += "><span class=\"sr-only\">";
  AppendEscaped(out, page.t("formular.fehler_vorsatz"));
  out += " </span>";
  AppendEscaped(out, message);
  out += "</p>\n";
}

bool HasAnyError(const FormPage& page) {
  return !page.errors.empty() || !page.field_errors.empty();
}

void RenderPhotoStep(std::string& out, const FormPage& page) {
  const std::string* error = FieldError(page, "fotos[]");
  if (error == nullptr) {
    error = FieldError(page, "fotos");
  }
  out += "<section class=\"schritt\" aria-labelledby=\"titel-foto\">\n";
  out += "<h2 id=\"titel-foto\"><span class=\"nr\" aria-hidden=\"true\">1</span>";
  AppendEscaped(out, page.t("formular.foto"));
  out += "</h2>\n";
  out +=
      "<div class=\"foto-wahl\">\n<input type=\"file\" id=\"fotos\" name=\"fotos[]\" "
      "class=\"foto-input\" accept=\"image/*\"";
  if (EffectiveMaxPhotos(page) > 1) {
    out += " multiple";
  }
  AriaAttrs(out, JoinIds({"fotos-hinweis", error != nullptr ? "fotos-fehler" : ""}),
            error != nullptr);
  out += ">\n<label for=\"fotos\" class=\"knopf knopf-primaer\">";
  out += kCameraIcon;
  out += "<span id=\"fotos-knopf-text\">";
  AppendEscaped(out, page.t("formular.js.foto_knopf"));
  out += "</span></label>\n</div>\n";
  out += "<p class=\"hinweis\" id=\"fotos-hinweis\">";
  AppendEscaped(out, page.t("formular.fotos_hinweis", {{"limit", PhotoLimitText(page)}}));
  if (HasAnyError(page)) {
    out += " <strong>";
    AppendEscaped(out, page.t("formular.fotos_erneut"));
    out += "</strong>";
  }
  out += "</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, page, "fotos-fehler", *error);
  }
  out += "<p class=\"status\" id=\"fotos-status\" role=\"status\"></p>\n";
  out += "<ul class=\"vorschau\" id=\"fotos-vorschau\"";
  Attr(out, "aria-label", page.t("formular.fotos_ausgewaehlt"));
  out += "></ul>\n";
  out += "</section>\n";
}

void RenderDescriptionStep(std::string& out, const FormPage& page) {
  const std::string* error = FieldError(page, "beschreibung");
  out += "<section class=\"schritt\">\n";
  out += "<h2><span class=\"nr\" aria-hidden=\"true\">2</span><label for=\"beschreibung\">";
  AppendEscaped(out, page.t("formular.beschreibung"));
  out += "</label></h2>\n<p class=\"hinweis\" id=\"beschreibung-hinweis\">";
  AppendEscaped(out, page.t("formular.beschreibung_hinweis",
                            {{"max", std::to_string(kMaxDescriptionChars)}}));
  out += "</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, page, "beschreibung-fehler", *error);
  }
  out += "<textarea id=\"beschreibung\" name=\"beschreibung\" rows=\"3\" required";
  Attr(out, "maxlength", std::to_string(kMaxDescriptionChars));
  AriaAttrs(out, JoinIds({"beschreibung-hinweis", error != nullptr ? "beschreibung-fehler" : ""}),
            error != nullptr);
  // The newline keeps a leading newline of the value: the parser drops the first one.
  out += ">\n";
  AppendEscaped(out, page.values.description);
  out += "</textarea>\n</section>\n";
}

// The map to place the marker: hidden until its script shows it (formular-karte-2.js), which
// reads the start and the tiles from the data-* attributes and writes lat/lon.
void RenderFormMap(std::string& out, const FormPage& page) {
  out += "<div id=\"karte-block\" hidden>\n<p class=\"hinweis\" id=\"karte-hinweis\">";
  AppendEscaped(out, page.t("formular.karte_hinweis"));
  out +=
      "</p>\n<div id=\"formular-karte\" class=\"karte karte-formular\" "
      "role=\"application\" aria-describedby=\"karte-hinweis karte-status\"";
  Attr(out, "aria-label", page.t("formular.karte_label"));
  Attr(out, "data-lat", html::Coordinate(*page.map.center_lat));
  Attr(out, "data-lon", html::Coordinate(*page.map.center_lon));
  Attr(out, "data-zoom", std::to_string(page.map.zoom));
  Attr(out, "data-max-zoom", std::to_string(page.map.max_zoom));
  Attr(out, "data-tiles", SafeUrl(page.map.tile_url));
  Attr(out, "data-town", page.town_name);
  out += "></div>\n";
  html::RenderMapSource(out, page.map, page.t);
  out += "<p class=\"status\" id=\"karte-status\" role=\"status\"></p>\n</div>\n";
}

void RenderLocationStep(std::string& out, const FormPage& page) {
  const std::string* address_error = FieldError(page, "adresse");
  std::vector<const std::string*> location_errors;
  for (std::string_view key : {"standort", "lat", "lon"}) {
    const std::string* e = FieldError(page, key);
    if (e != nullptr && std::none_of(location_errors.begin(), location_errors.end(),
                                     [e](const std::string* seen) { return *seen == *e; })) {
      location_errors.push_back(e);
    }
  }
  bool has_location_error = !location_errors.empty();
  bool has_position = !page.values.lat.empty() && !page.values.lon.empty();

  out +=
      "<fieldset class=\"schritt\">\n<legend><h2><span class=\"nr\" aria-hidden=\"true\">3"
      "</span>";
  AppendEscaped(out, page.t("formular.wo"));
  out += "</h2></legend>\n";
  if (has_location_error) {
    out += "<div id=\"standort-fehler\">\n";
    for (const std::string* e : location_errors) {
      RenderFieldError(out, page, "", *e);
    }
    out += "</div>\n";
  }
  if (HasMap(page))
    RenderFormMap(out, page);
  out += "<div id=\"standort-js\" hidden>\n";
  out += "<button type=\"button\" id=\"standort-knopf\" class=\"knopf knopf-zweit\"";
  AriaAttrs(out, JoinIds({"standort-status", has_location_error ? "standort-fehler" : ""}), false);
  out += ">";
  out += kPinIcon;
  AppendEscaped(out, page.t("formular.standort_knopf"));
  out += "</button>\n<p";
  Attr(out, "class", has_position ? "status ok" : "status");
  out += " id=\"standort-status\" role=\"status\">";
  if (has_position) {
    AppendEscaped(out, page.t("formular.standort_da"));
  }
  out += "</p>\n<p class=\"oder\">";
  AppendEscaped(out, page.t("formular.oder"));
  out += "</p>\n</div>\n<div class=\"feld\">\n<label for=\"adresse\">";
  AppendEscaped(out, page.t("formular.adresse"));
  out += "</label>\n<p class=\"hinweis\" id=\"adresse-hinweis\">";
  AppendEscaped(out, page.t("formular.adresse_hinweis"));
  out += "</p>\n";
  if (address_error != nullptr) {
    RenderFieldError(out, page, "adresse-fehler", *address_error);
  }
  out += "<input type=\"text\" id=\"adresse\" name=\"adresse\" autocomplete=\"off\"";
  Attr(out, "value", page.values.address);
  AriaAttrs(out,
            JoinIds({"adresse-hinweis", address_error != nullptr ? "adresse-fehler" : "",
                     has_location_error ? "standort-fehler" : ""}),
            address_error != nullptr || has_location_error);
  out += ">\n</div>\n";
  out += "<input type=\"hidden\" id=\"lat\" name=\"lat\"";
  Attr(out, "value", page.values.lat);
  out += ">\n<input type=\"hidden\" id=\"lon\" name=\"lon\"";
  Attr(out, "value", page.values.lon);
  out += ">\n</fieldset>\n";
}

void RenderCategorySelect(std::string& out, const FormPage& page) {
  const std::string* error = FieldError(page, "kategorie");
  const std::string& selected = page.values.category;
  bool known = std::any_of(page.categories.begin(), page.categories.end(),
                           [&selected](const CategoryOption& c) { return c.code == selected; });

  out += "<div class=\"feld\">\n<label for=\"kategorie\">";
  AppendEscaped(out, page.t("formular.kategorie"));
  out += "</label>\n<p class=\"hinweis\" id=\"kategorie-hinweis\">";
  AppendEscaped(out, page.t("formular.kategorie_hinweis"));
  out += "</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, page, "kategorie-fehler", *error);
  }
  out += "<select id=\"kategorie\" name=\"kategorie\"";
  AriaAttrs(out, JoinIds({"kategorie-hinweis", error != nullptr ? "kategorie-fehler" : ""}),
            error != nullptr);
  out += ">\n<option value=\"\"";
  if (selected.empty() || !known) {
    out += " selected";
  }
  out += ">";
  AppendEscaped(out, page.t("formular.kategorie_leer"));
  out += "</option>\n";

  auto render_option = [&out, &selected](const CategoryOption& c) {
    out += "<option";
    Attr(out, "value", c.code);
    if (!selected.empty() && c.code == selected) {
      out += " selected";
    }
    out += ">";
    AppendEscaped(out, c.name);
    out += "</option>\n";
  };
  // Groups in order of first appearance; ungrouped options at the position of their first one.
  std::vector<std::string_view> groups;
  for (const CategoryOption& c : page.categories) {
    if (std::find(groups.begin(), groups.end(), c.group) == groups.end()) {
      groups.push_back(c.group);
    }
  }
  for (std::string_view group : groups) {
    if (!group.empty()) {
      out += "<optgroup";
      Attr(out, "label", group);
      out += ">\n";
    }
    for (const CategoryOption& c : page.categories) {
      if (c.group == group) {
        render_option(c);
      }
    }
    if (!group.empty()) {
      out += "</optgroup>\n";
    }
  }
  out += "</select>\n</div>\n";
}

void RenderTextField(std::string& out, const FormPage& page, std::string_view name,
                     std::string_view type, std::string_view autocomplete, std::string_view label,
                     std::string_view hint, const std::string& value) {
  const std::string* error = FieldError(page, name);
  std::string hint_id = std::string(name) + "-hinweis";
  std::string error_id = std::string(name) + "-fehler";
  out += "<div class=\"feld\">\n<label";
  Attr(out, "for", name);
  out += ">";
  AppendEscaped(out, label);
  out += "</label>\n<p class=\"hinweis\"";
  Attr(out, "id", hint_id);
  out += ">";
  AppendEscaped(out, hint);
  out += "</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, page, error_id, *error);
  }
  out += "<input";
  Attr(out, "type", type);
  Attr(out, "id", name);
  Attr(out, "name", name);
  Attr(out, "autocomplete", autocomplete);
  if (type == "email") {
    out += " spellcheck=\"false\" autocapitalize=\"off\"";
  }
  Attr(out, "value", value);
  AriaAttrs(out, JoinIds({hint_id, error != nullptr ? std::string_view(error_id) : ""}),
            error != nullptr);
  out += ">\n</div>\n";
}

void RenderOptionalDetails(std::string& out, const FormPage& page) {
  const FormValues& v = page.values;
  bool open = !v.category.empty() || !v.email.empty() || !v.phone.empty() ||
              FieldError(page, "kategorie") != nullptr || FieldError(page, "email") != nullptr ||
              FieldError(page, "telefon") != nullptr;
  out += "<details class=\"optional\"";
  if (open) {
    out += " open";
  }
  out += ">\n<summary>";
  AppendEscaped(out, page.t("formular.optional"));
  out += "</summary>\n<div class=\"optional-inhalt\">\n";
  RenderCategorySelect(out, page);
  RenderTextField(out, page, "email", "email", "email", page.t("formular.email"),
                  page.t(page.acknowledges_email ? "formular.email_hinweis"
                                                 : "formular.email_hinweis_rueckfragen"),
                  v.email);
  RenderTextField(
      out, page, "telefon", "tel", "tel", page.t("formular.telefon"),
      page.t(page.acknowledges_sms ? "formular.telefon_hinweis_sms" : "formular.telefon_hinweis"),
      v.phone);
  out += "</div>\n</details>\n";
}

void RenderHiddenFields(std::string& out, const FormPage& page) {
  // The page's language goes with the report: its messages and the acknowledgement use it.
  out += "<input type=\"hidden\" name=\"sprache\"";
  Attr(out, "value", page.t.code());
  out += ">\n<input type=\"hidden\" name=\"form_token\"";
  Attr(out, "value", page.form_token);
  out += ">\n";
  // Honeypot: invisible for people, tempting for bots. Never pre-filled.
  html::RenderHoneypot(out, "website", page.t);
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendEscaped(out, s);
  return out;
}

// The scripts' texts ("formular.js.*" without the prefix) as a JSON data block: never run,
// read by the scripts; "<" is written as \u003c so that nothing in it ends the element.
void RenderScriptTexts(std::string& out, const texts::Lang& t) {
  nlohmann::json j = nlohmann::json::object();
  constexpr std::string_view kPrefix = "formular.js.";
  for (const auto& key : t.catalogue().Keys()) {
    if (key.compare(0, kPrefix.size(), kPrefix) == 0)
      j[key.substr(kPrefix.size())] = t(key);
  }
  std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "<script type=\"application/json\" id=\"formular-texte\">";
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  out += "</script>\n";
}

std::string RenderFormPage(const FormPage& page) {
  const texts::Lang& t = page.t;
  std::string out;
  out.reserve(24 * 1024);
  std::string title = t("formular.titel") + " – " + page.town_name;
  if (HasAnyError(page)) {
    title = t("seite.fehler_titel", {{"title", title}});
  }
  std::string head = HasMap(page) ? html::MapHead(page.map) : std::string();
  if (!page.photos_script.empty()) {
    head += "<script defer";
    Attr(head, "src", page.photos_script);
    head += "></script>\n";
  }
  RenderHead(out, title, /*with_script_flag=*/true, t, head);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, t("formular.titel"));
  out += "</h1>\n";
  html::RenderLanguageSwitch(out, t, page.self);
  out += "<p class=\"intro\">";
  AppendEscaped(out, t("formular.intro"));
  out += "</p>\n";
  if (page.link_public_reports) {
    out += "<p><a";
    Attr(out, "href", "/meldungen" + t.Query());
    out += ">";
    AppendEscaped(out, t("formular.schon_gemeldet"));
    out += "</a></p>\n";
  }
  out += "</header>\n<main>\n";
  RenderErrorSummary(out, page);
  out +=
      "<form id=\"meldung\" method=\"post\" enctype=\"multipart/form-data\" "
      "accept-charset=\"UTF-8\"";
  Attr(out, "action", SafeUrl(page.action));
  Attr(out, "data-max-fotos", std::to_string(EffectiveMaxPhotos(page)));
  Attr(out, "data-max-bytes", std::to_string(page.max_photo_bytes));
  Attr(out, "data-max-groesse", PageBytes(page, page.max_photo_bytes));
  if (page.photo_scale_edge > 0)
    Attr(out, "data-foto-kante", std::to_string(page.photo_scale_edge));
  out += ">\n";
  RenderPhotoStep(out, page);
  RenderDescriptionStep(out, page);
  RenderLocationStep(out, page);
  RenderOptionalDetails(out, page);
  RenderHiddenFields(out, page);
  // The privacy notice's one line (Art. 13), linked to the full text.
  html::RenderNoticeLinks(out, t, "hinweis-datenschutz", t("formular.datenschutz"));
  out += "<button type=\"submit\" id=\"absenden\" class=\"knopf knopf-primaer knopf-absenden\">";
  AppendEscaped(out, t("formular.js.absenden"));
  out +=
      "</button>\n"
      // Shown by fotos-2.js while photos are scaled and sent.
      "<div id=\"senden-fortschritt\" class=\"fortschritt\" hidden>\n"
      "<p class=\"status\" id=\"fortschritt-text\" role=\"status\"></p>\n"
      "<progress id=\"fortschritt-balken\" max=\"100\" "
      "aria-labelledby=\"fortschritt-text\"></progress>\n</div>\n"
      "</form>\n</main>\n</div>\n";
  RenderScriptTexts(out, t);
  out += "<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

std::string RenderConfirmationPage(const ConfirmationPage& page) {
  const texts::Lang& t = page.t;
  std::string out;
  out.reserve(8 * 1024);
  RenderHead(out, t("formular.danke.titel") + " – " + page.town_name, /*with_script_flag=*/false,
             t);
  std::string grouped = GroupForReading(page.reference);
  out += "<body>\n<div class=\"seite\">\n<main>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, t("formular.danke.ueberschrift"));
  out += "</h1>\n<p>";
  AppendEscaped(out, t("formular.danke.nummer"));
  out += "</p>\n<div class=\"referenz\" role=\"group\" translate=\"no\" dir=\"ltr\"";
  Attr(out, "aria-label", t("status.nummer") + " " + SpellOut(grouped));
  out += ">";
  AppendEscaped(out, grouped);
  out += "</div>\n<p><strong>";
  AppendEscaped(out, t("formular.danke.notieren"));
  out += "</strong> ";
  AppendEscaped(out, t("formular.danke.notieren_warum"));
  out += "</p>\n<p>";
  AppendEscaped(out, t(page.acknowledgement == "email" ? "formular.danke.email"
                       : page.acknowledgement == "sms" ? "formular.danke.sms"
                       : page.contact_given            ? "formular.danke.keine_bestaetigung"
                                                       : "formular.danke.keine_email"));
  out += "</p>\n<div class=\"aktionen\">\n<a class=\"knopf knopf-primaer\"";
  Attr(out, "href", SafeUrl(page.status_url));
  out += ">";
  AppendEscaped(out, t("formular.danke.stand"));
  out += "</a>\n<a class=\"knopf knopf-zweit\"";
  Attr(out, "href", "/" + t.Query());
  out += ">";
  AppendEscaped(out, t("formular.danke.weitere"));
  out += "</a>\n</div>\n</main>\n</div>\n</body>\n</html>\n";
  return out;
}

std::string RenderInfoPage(const InfoPage& page) {
  const texts::Lang& t = page.t;
  std::string out;
  out.reserve(16 * 1024);
  RenderHead(out, page.title + " – " + page.town_name, /*with_script_flag=*/false,
             texts::Lang(page.t.catalogue_ptr(), page.language), {});
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, page.title);
  out += "</h1>\n";
  // The frame in the citizen's language, marked as such inside the page's.
  const bool other = t.code() != page.language;
  std::string frame;
  if (other) {
    frame += " lang=\"" + std::string(t.code() == "de-x-ls" ? "de" : t.code()) + "\" dir=\"" +
             std::string(t.dir()) + "\"";
  }
  if (!page.self.empty()) {
    out += "<div" + frame + ">\n";
    html::RenderLanguageSwitch(out, t, page.self);
    out += "</div>\n";
  }
  if (other) {
    out += "<p class=\"hinweis\"" + frame + ">";
    AppendEscaped(out, t("seite.nur_de_en"));
    out += "</p>\n";
  }
  out += "</header>\n<main>\n";
  for (const auto& section : page.sections) {
    out += "<section>\n<h2>";
    AppendEscaped(out, section.heading);
    out += "</h2>\n";
    for (const auto& p : section.paragraphs) {
      out += "<p>";
      AppendEscaped(out, p);
      out += "</p>\n";
    }
    if (!section.items.empty()) {
      out += "<ul>\n";
      for (const auto& i : section.items) {
        out += "<li>";
        AppendEscaped(out, i);
        out += "</li>\n";
      }
      out += "</ul>\n";
    }
    out += "</section>\n";
  }
  out += "<p" + frame + "><a";
  Attr(out, "href", "/" + t.Query());
  out += ">";
  AppendEscaped(out, t("seite.zurueck_formular"));
  out += "</a></p>\n</main>\n</div>\n</body>\n</html>\n";
  return out;
}

namespace html {

std::string ScriptSources() {
  std::string out = "'self'";
  for (std::string_view script : {kScriptFlag, kScript}) {
    out += " 'sha256-";
    AppendBase64(out, Sha256(script));
    out += "'";
  }
  return out;
}

}  // namespace html
}  // namespace meldestelle::webform
