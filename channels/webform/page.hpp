#pragma once

// Server-rendered HTML for the citizens' web form and its confirmation page. Pure functions, no
// I/O. The pages are self-contained (inline CSS and a small inline script, no external
// resources), German, accessible and usable without JavaScript; the script only adds
// conveniences (geolocation, photo previews, client-side limit checks).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/texts.hpp"

namespace meldestelle::webform {

// A map on a page (webform.map): the form's, to place the marker; the status page's, to show the
// place. Off = no map, no library, no tile request.
struct PageMap {
  bool enabled = false;
  std::string tile_url, attribution, attribution_url;
  int max_zoom = 19;
  // The map library's and our script's URLs (channels/webform/html.hpp).
  std::string library_css, library_js, script_js;
  // The form's map: where it starts (nullopt: the map stays off, there is nothing to centre on).
  std::optional<double> center_lat, center_lon;
  int zoom = 15;
};

struct CategoryOption {
  std::string code, name, group;
};

// Input as submitted, shown again after an error. Never contains photos: browsers cannot
// pre-fill file inputs, so the page asks to choose the photos again.
struct FormValues {
  std::string description, category, address, lat, lon, email, phone, language;
};

struct FormPage {
  texts::Lang t;     // the page's language (sent along in the hidden field "sprache")
  std::string self;  // the form's address without ?lang= (the language switch); "" = none
  std::string town_name;
  // Grouped by `group` into <optgroup> (groups in order of first appearance, options in the given
  // order); options with an empty group are rendered outside any <optgroup>.
  std::vector<CategoryOption> categories;
  FormValues values;
  // Messages (in the page's language) for the error summary at the top (role=alert); empty =
  // fresh form.
  std::vector<std::string> errors;
  // Form field name -> message shown next to the field. Keys: "fotos[]" (or "fotos"),
  // "beschreibung", "kategorie", "adresse", "email", "telefon"; "standort", "lat" and "lon" are
  // shown in the location block. Every field error also appears (linked) in the summary unless
  // the same text is already among `errors`.
  std::map<std::string, std::string> field_errors;
  std::string form_token;  // hidden input "form_token"
  int max_photos = 5;      // values below 1 are treated as 1
  long long max_photo_bytes = 10 * 1024 * 1024;
  std::string action = "/formular/meldung";
  // Photos are scaled in the browser to this long edge (pixels) before they are sent, with a
  // progress bar, by `photos_script` (gateway/assets/fotos-2.js); 0 or no script: sent as chosen.
  int photo_scale_edge = 0;
  std::string photos_script;
  // Links to the public list of reports (GET /meldungen): "Schon gemeldet?".
  bool link_public_reports = false;
  // What the contact fields' hints promise: an acknowledgement by e-mail, and by SMS to a phone
  // given without an address, only where this town can send them (Intake::AcknowledgementSenders).
  bool acknowledges_email = true;
  bool acknowledges_sms = false;
  // The map to place the marker (shown by its script; without JavaScript the address field is
  // all). Needs a centre.
  PageMap map;
};

// The report form. Field names: fotos[], beschreibung, kategorie, adresse, lat, lon, email,
// telefon, sprache, form_token and the honeypot "website" (must stay empty).
std::string RenderFormPage(const FormPage& page);

struct ConfirmationPage {
  texts::Lang t;
  std::string town_name, reference, status_url;
  // The acknowledgement's channel (Reporter::ack_channel: "email", "sms", "none"), and whether
  // the citizen gave a contact at all (none with a contact: no sender for it here).
  std::string acknowledgement = "none";
  bool contact_given = false;
};

// "Vielen Dank!" page with the reference in groups of four for reading ("K7QX 4RT2 WNPA"), a
// spelled-out aria-label, the status link and a link back to "/" for another report.
std::string RenderConfirmationPage(const ConfirmationPage& page);

// A page of text (the privacy notice, GET /datenschutz): headings, paragraphs, lists.
struct InfoPage {
  std::string language = "de";  // the language of the text ("de" or "en": legal texts)
  // The language the citizen chose: the page's frame (the switch, the links); when it differs
  // from `language`, the page says in it that the text is in German or English only.
  texts::Lang t;
  std::string self;  // the page's address without ?lang= (the language switch)
  std::string town_name, title;
  struct Section {
    std::string heading;
    std::vector<std::string> paragraphs, items;
  };
  std::vector<Section> sections;
};
std::string RenderInfoPage(const InfoPage& page);

// Escapes & < > " ' for use in text and in double- or single-quoted attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace meldestelle::webform
