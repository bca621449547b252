#include "channels/webform/page.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "channels/webform/html.hpp"
#include "core/text.hpp"

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
  // Photos the browser scales down before sending (fotos-1.js) are checked after scaling.
  function verkleinerbar(f) {
    return !!(window.meldestelleFotos && window.meldestelleFotos.verkleinerbar(f));
  }
  function zuGross(f) { return maxBytes > 0 && f.size > maxBytes && !verkleinerbar(f); }
  function keinBild(f) { return !!f.type && f.type.indexOf('image/') !== 0; }
  function fotoFehler() {
    var d = dateien();
    if (d.length > maxFotos) {
      return 'Bitte wählen Sie höchstens ' + (maxFotos === 1 ? 'ein Foto' : maxFotos + ' Fotos') +
          ' aus (ausgewählt: ' + d.length + ').' +
          (sammeln ? ' Entfernen Sie bitte überzählige Fotos.' : '');
    }
    for (var i = 0; i < d.length; i++) {
      if (keinBild(d[i])) {
        return 'Die Datei „' + d[i].name + '“ ist kein Foto. Bitte wählen Sie nur Bilder aus.';
      }
      if (zuGross(d[i])) {
        return 'Das Foto „' + d[i].name + '“ ist zu groß. Erlaubt sind höchstens ' + maxText +
            ' je Foto.';
      }
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
        problem.textContent = keinBild(f) ? 'Kein Bild' : 'Zu groß';
        li.appendChild(problem);
      }
      if (sammeln) {
        var weg = document.createElement('button');
        weg.type = 'button';
        weg.className = 'entfernen';
        weg.textContent = 'Entfernen';
        weg.setAttribute('aria-label', 'Foto „' + f.name + '“ entfernen');
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
          (d.length === 1 ? '1 Foto ausgewählt.' : d.length + ' Fotos ausgewählt.'), 'ok');
    }
    if (knopfText) {
      knopfText.textContent = d.length === 0 ? 'Foto aufnehmen oder auswählen' :
          (sammeln ? 'Weiteres Foto aufnehmen oder auswählen' : 'Andere Fotos auswählen');
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
      senden.textContent = 'Meldung wird gesendet …';
    }
    // With photos: scaled down and sent with a progress bar (fotos-1.js), where it is loaded.
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
      senden.textContent = 'Meldung absenden';
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
      zeige(geoStatus, 'Standort wird ermittelt …', '');
      navigator.geolocation.getCurrentPosition(function (pos) {
        sucht = false;
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        // The map (formular-karte-1.js) moves its marker there.
        document.dispatchEvent(new CustomEvent('meldestelle:standort', {
          detail: {lat: pos.coords.latitude, lon: pos.coords.longitude}}));
        var meter = Math.round(pos.coords.accuracy || 0);
        var text = 'Standort übernommen (±' + meter.toLocaleString('de-DE') + ' m).';
        if (meter > 100) text += ' Das ist recht ungenau – bitte ergänzen Sie die Adresse.';
        zeige(geoStatus, text, 'ok');
      }, function (err) {
        sucht = false;
        var texte = {
          1: 'Der Zugriff auf Ihren Standort wurde nicht erlaubt. ' +
              'Bitte geben Sie stattdessen die Adresse ein.',
          2: 'Ihr Standort konnte leider nicht ermittelt werden. ' +
              'Bitte geben Sie stattdessen die Adresse ein.',
          3: 'Die Standortbestimmung hat zu lange gedauert. ' +
              'Bitte versuchen Sie es noch einmal oder geben Sie die Adresse ein.'
        };
        zeige(geoStatus, texte[err && err.code] || texte[2], 'fehler');
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
std::string FormatBytes(long long bytes) {
  constexpr long long kKiB = 1024;
  constexpr long long kMiB = 1024 * 1024;
  if (bytes >= kMiB) {
    long long whole = bytes / kMiB;
    long long tenths = (bytes % kMiB) * 10 / kMiB;
    std::string s = std::to_string(whole);
    if (tenths != 0) {
      s += ',';
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

std::string PhotoLimitText(const FormPage& page) {
  int n = EffectiveMaxPhotos(page);
  if (n == 1) {
    return "ein Foto, höchstens " + FormatBytes(page.max_photo_bytes);
  }
  return "bis zu " + std::to_string(n) + " Fotos, je höchstens " +
         FormatBytes(page.max_photo_bytes);
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
  out += "<h2 id=\"fehler-titel\">Bitte prüfen Sie Ihre Angaben</h2>\n<ul>\n";
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

void RenderFieldError(std::string& out, std::string_view id, const std::string& message) {
  out += "<p class=\"feld-fehler\"";
  if (!id.empty()) {
    Attr(out, "id", id);
  }
  out += "><span class=\"sr-only\">Fehler: </span>";
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
  out += "<h2 id=\"titel-foto\"><span class=\"nr\" aria-hidden=\"true\">1</span>Foto</h2>\n";
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
  out += "<span id=\"fotos-knopf-text\">Foto aufnehmen oder auswählen</span></label>\n</div>\n";
  out += "<p class=\"hinweis\" id=\"fotos-hinweis\">Freiwillig, aber sehr hilfreich: ";
  AppendEscaped(out, PhotoLimitText(page));
  out += ". Bitte möglichst keine Gesichter oder Autokennzeichen erkennbar fotografieren.";
  if (HasAnyError(page)) {
    out +=
        " <strong>Bitte wählen Sie Ihre Fotos erneut aus</strong> – sie werden bis zum "
        "Absenden nicht gespeichert.";
  }
  out += "</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, "fotos-fehler", *error);
  }
  out += "<p class=\"status\" id=\"fotos-status\" role=\"status\"></p>\n";
  out += "<ul class=\"vorschau\" id=\"fotos-vorschau\" aria-label=\"Ausgewählte Fotos\"></ul>\n";
  out += "</section>\n";
}

void RenderDescriptionStep(std::string& out, const FormPage& page) {
  const std::string* error = FieldError(page, "beschreibung");
  out += "<section class=\"schritt\">\n";
  out +=
      "<h2><span class=\"nr\" aria-hidden=\"true\">2</span>"
      "<label for=\"beschreibung\">Was ist das Problem?</label></h2>\n";
  out +=
      "<p class=\"hinweis\" id=\"beschreibung-hinweis\">Kurz beschreiben, z. B. "
      "„Tiefes Schlagloch vor der Bushaltestelle“. Pflichtangabe, höchstens ";
  out += std::to_string(kMaxDescriptionChars);
  out += " Zeichen.</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, "beschreibung-fehler", *error);
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

// The map to place the marker: hidden until its script shows it (formular-karte-1.js), which
// reads the start and the tiles from the data-* attributes and writes lat/lon.
void RenderFormMap(std::string& out, const FormPage& page) {
  out +=
      "<div id=\"karte-block\" hidden>\n<p class=\"hinweis\" id=\"karte-hinweis\">Tippen Sie "
      "auf die Karte oder schieben Sie die Markierung an die Stelle des Mangels. Mit der "
      "Tastatur: Pfeiltasten verschieben die Karte, die Eingabetaste setzt die Markierung in "
      "die Mitte.</p>\n<div id=\"formular-karte\" class=\"karte karte-formular\" "
      "role=\"application\" aria-label=\"Karte: Ort des Mangels wählen\" "
      "aria-describedby=\"karte-hinweis karte-status\"";
  Attr(out, "data-lat", html::Coordinate(*page.map.center_lat));
  Attr(out, "data-lon", html::Coordinate(*page.map.center_lon));
  Attr(out, "data-zoom", std::to_string(page.map.zoom));
  Attr(out, "data-max-zoom", std::to_string(page.map.max_zoom));
  Attr(out, "data-tiles", SafeUrl(page.map.tile_url));
  Attr(out, "data-town", page.town_name);
  out += "></div>\n";
  html::RenderMapSource(out, page.map, false);
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
      "</span>Wo ist es?</h2></legend>\n";
  if (has_location_error) {
    out += "<div id=\"standort-fehler\">\n";
    for (const std::string* e : location_errors) {
      RenderFieldError(out, "", *e);
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
  out += "Meinen Standort verwenden</button>\n";
  out += "<p";
  Attr(out, "class", has_position ? "status ok" : "status");
  out += " id=\"standort-status\" role=\"status\">";
  if (has_position) {
    out += "Ihr Standort wurde übernommen.";
  }
  out += "</p>\n<p class=\"oder\">oder</p>\n</div>\n";
  out += "<div class=\"feld\">\n<label for=\"adresse\">Straße und Hausnummer</label>\n";
  out +=
      "<p class=\"hinweis\" id=\"adresse-hinweis\">Oder eine Ortsbeschreibung, z. B. "
      "„Parkplatz am Freibad“.</p>\n";
  if (address_error != nullptr) {
    RenderFieldError(out, "adresse-fehler", *address_error);
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

  out += "<div class=\"feld\">\n<label for=\"kategorie\">Kategorie</label>\n";
  out +=
      "<p class=\"hinweis\" id=\"kategorie-hinweis\">Wenn Sie unsicher sind, lassen Sie das "
      "Feld einfach frei.</p>\n";
  if (error != nullptr) {
    RenderFieldError(out, "kategorie-fehler", *error);
  }
  out += "<select id=\"kategorie\" name=\"kategorie\"";
  AriaAttrs(out, JoinIds({"kategorie-hinweis", error != nullptr ? "kategorie-fehler" : ""}),
            error != nullptr);
  out += ">\n<option value=\"\"";
  if (selected.empty() || !known) {
    out += " selected";
  }
  out += ">— bitte wählen (optional) —</option>\n";

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
    RenderFieldError(out, error_id, *error);
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
  out +=
      ">\n<summary>Kategorie und Kontaktdaten (optional)</summary>\n"
      "<div class=\"optional-inhalt\">\n";
  RenderCategorySelect(out, page);
  RenderTextField(out, page, "email", "email", "email", "E-Mail-Adresse (optional)",
                  "Für eine Eingangsbestätigung und mögliche Rückfragen.", v.email);
  RenderTextField(out, page, "telefon", "tel", "tel", "Telefonnummer (optional)",
                  "Nur für Rückfragen.", v.phone);
  out += "</div>\n</details>\n";
}

void RenderHiddenFields(std::string& out, const FormPage& page) {
  out += "<input type=\"hidden\" name=\"sprache\"";
  Attr(out, "value", page.values.language.empty() ? "de" : page.values.language);
  out += ">\n<input type=\"hidden\" name=\"form_token\"";
  Attr(out, "value", page.form_token);
  out += ">\n";
  // Honeypot: invisible for people, tempting for bots. Never pre-filled.
  html::RenderHoneypot(out, "website");
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendEscaped(out, s);
  return out;
}

std::string RenderFormPage(const FormPage& page) {
  std::string out;
  out.reserve(24 * 1024);
  std::string title = "Mangel melden – " + page.town_name;
  if (HasAnyError(page)) {
    title = "Fehler: " + title;
  }
  std::string head = HasMap(page) ? html::MapHead(page.map) : std::string();
  if (!page.photos_script.empty()) {
    head += "<script defer";
    Attr(head, "src", page.photos_script);
    head += "></script>\n";
  }
  RenderHead(out, title, /*with_script_flag=*/true, "de", head);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out +=
      "</p>\n<h1>Mangel melden</h1>\n<p class=\"intro\">Schlagloch, defekte Laterne, wilder "
      "Müll? Melden Sie es uns in drei Schritten: Foto, kurze Beschreibung, Ort. "
      "In Notfällen rufen Sie bitte 110 oder 112 an.</p>\n";
  if (page.link_public_reports) {
    out +=
        "<p><a href=\"/meldungen\">Schon gemeldet? Sehen Sie nach, welche Mängel die Stadt "
        "schon kennt.</a></p>\n";
  }
  out += "</header>\n<main>\n";
  RenderErrorSummary(out, page);
  out +=
      "<form id=\"meldung\" method=\"post\" enctype=\"multipart/form-data\" "
      "accept-charset=\"UTF-8\"";
  Attr(out, "action", SafeUrl(page.action));
  Attr(out, "data-max-fotos", std::to_string(EffectiveMaxPhotos(page)));
  Attr(out, "data-max-bytes", std::to_string(page.max_photo_bytes));
  Attr(out, "data-max-groesse", FormatBytes(page.max_photo_bytes));
  if (page.photo_scale_edge > 0)
    Attr(out, "data-foto-kante", std::to_string(page.photo_scale_edge));
  out += ">\n";
  RenderPhotoStep(out, page);
  RenderDescriptionStep(out, page);
  RenderLocationStep(out, page);
  RenderOptionalDetails(out, page);
  RenderHiddenFields(out, page);
  // The privacy notice's one line (Art. 13), linked to the full text.
  out +=
      "<p class=\"hinweis-datenschutz\">Wir verwenden Ihre Angaben nur, um Ihre Meldung zu "
      "bearbeiten. <a href=\"/datenschutz\">Hinweise zum Datenschutz</a> · "
      "<a href=\"/barrierefreiheit\">Barrierefreiheit</a></p>\n"
      "<button type=\"submit\" id=\"absenden\" class=\"knopf knopf-primaer knopf-absenden\">"
      "Meldung absenden</button>\n"
      // Shown by fotos-1.js while photos are scaled and sent.
      "<div id=\"senden-fortschritt\" class=\"fortschritt\" hidden>\n"
      "<p class=\"status\" id=\"fortschritt-text\" role=\"status\"></p>\n"
      "<progress id=\"fortschritt-balken\" max=\"100\" "
      "aria-labelledby=\"fortschritt-text\"></progress>\n</div>\n"
      "</form>\n</main>\n</div>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

std::string RenderConfirmationPage(const ConfirmationPage& page) {
  std::string out;
  out.reserve(8 * 1024);
  RenderHead(out, "Meldung eingegangen – " + page.town_name, /*with_script_flag=*/false);
  std::string grouped = GroupForReading(page.reference);
  out += "<body>\n<div class=\"seite\">\n<main>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>Vielen Dank! Ihre Meldung ist eingegangen.</h1>\n";
  out += "<p>Ihre Vorgangsnummer:</p>\n<div class=\"referenz\" role=\"group\" translate=\"no\"";
  Attr(out, "aria-label", "Vorgangsnummer: " + SpellOut(grouped));
  out += ">";
  AppendEscaped(out, grouped);
  out +=
      "</div>\n<p><strong>Bitte notieren Sie diese Nummer.</strong> Damit können Sie "
      "jederzeit nachsehen, wie weit die Bearbeitung ist.</p>\n";
  if (page.email_given) {
    out += "<p>Sie erhalten in Kürze zusätzlich eine Bestätigung per E-Mail.</p>\n";
  } else {
    out +=
        "<p>Da Sie keine E-Mail-Adresse angegeben haben, erhalten Sie keine Bestätigung per "
        "E-Mail.</p>\n";
  }
  out += "<div class=\"aktionen\">\n<a class=\"knopf knopf-primaer\"";
  Attr(out, "href", SafeUrl(page.status_url));
  out +=
      ">Bearbeitungsstand ansehen</a>\n"
      "<a class=\"knopf knopf-zweit\" href=\"/\">Weitere Meldung</a>\n</div>\n"
      "</main>\n</div>\n</body>\n</html>\n";
  return out;
}

std::string RenderInfoPage(const InfoPage& page) {
  std::string out;
  out.reserve(16 * 1024);
  RenderHead(out, page.title + " – " + page.town_name, /*with_script_flag=*/false, page.language);
  out += "<body>\n<div class=\"seite\">\n<header>\n<p class=\"stadt\">";
  AppendEscaped(out, page.town_name);
  out += "</p>\n<h1>";
  AppendEscaped(out, page.title);
  out += "</h1>\n";
  html::RenderLanguageLinks(out, page.languages);
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
  out += "<p><a href=\"/\">";
  out += page.language == "en" ? "Back to the report form" : "Zurück zum Meldeformular";
  out += "</a></p>\n</main>\n</div>\n</body>\n</html>\n";
  return out;
}

}  // namespace meldestelle::webform
