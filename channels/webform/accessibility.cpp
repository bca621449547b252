#include "channels/webform/accessibility.hpp"

namespace meldestelle::webform {
namespace {

// "2026-12-04" → "04.12.2026" (German) or unchanged (English, ISO).
std::string ShownDate(const std::string& iso, bool en) {
  if (en || iso.size() != 10)
    return iso;
  return iso.substr(8, 2) + "." + iso.substr(5, 2) + "." + iso.substr(0, 4);
}

}  // namespace

InfoPage AccessibilityStatement(const std::string& town, const Settings::Accessibility& a,
                                const texts::Lang& t) {
  // A legal text: German, or English for every language but German and Leichte Sprache.
  const bool en = t.code() != "de" && t.code() != "de-x-ls";
  InfoPage p;
  p.t = t;
  p.language = en ? "en" : "de";
  p.town_name = town;
  p.title = en ? "Accessibility statement" : "Erklärung zur Barrierefreiheit";
  if (en) {
    p.sections.push_back(
        {"Scope",
         {"This statement covers the defect reporting of " + town +
          ": the report form with its confirmation and error pages, the status page of a "
          "report and the privacy notice."},
         {}});
    p.sections.push_back(
        {"How accessible these pages are",
         {"These pages are largely compliant with BITV 2.0 and WCAG 2.1 level AA. Not yet "
          "accessible:"},
         {"The map on the form and on the status page is not equally usable for everyone. "
          "Everything can be done without it: the address field on the form, and the place as "
          "a link on the status page. On the form's map, the arrow keys move the map and Enter "
          "sets the marker.",
          "Street names in the map images are not available as text.",
          "Information in German Sign Language is not offered yet. The form, the status page "
          "and the messages are offered in Easy Language (Leichte Sprache); this statement and "
          "the privacy notice are not."}});
    p.sections.push_back(
        {"How this statement was prepared",
         {"Prepared on " + ShownDate(a.prepared_on, true) +
          " by self-assessment: every page is checked automatically with axe-core for WCAG 2.1 "
          "A and AA in a browser, a report is sent with the keyboard alone, and the pages are "
          "used on a screen 360 pixels wide. The checks run with every change of the software."},
         {}});
    InfoPage::Section feedback{"Report a barrier", {}, {}};
    feedback.paragraphs.push_back(
        "If you come across a barrier on these pages, please tell us; we will answer within "
        "two weeks.");
    if (!a.feedback_email.empty())
      feedback.items.push_back("E-mail: " + a.feedback_email);
    if (!a.feedback_phone.empty())
      feedback.items.push_back("Phone: " + a.feedback_phone);
    if (feedback.items.empty())
      feedback.items.push_back("Please contact the town administration of " + town + ".");
    p.sections.push_back(feedback);
    p.sections.push_back(
        {"Enforcement procedure",
         {"If your report is not answered satisfactorily, you can turn to " + a.enforcement + "."},
         {}});
  } else {
    p.sections.push_back(
        {"Geltungsbereich",
         {"Diese Erklärung gilt für die Mängelmeldung von " + town +
          ": das Meldeformular mit seinen Bestätigungs- und Fehlerseiten, die Statusseite einer "
          "Meldung und die Hinweise zum Datenschutz."},
         {}});
    p.sections.push_back(
        {"Stand der Vereinbarkeit",
         {"Diese Seiten sind weitgehend mit der BITV 2.0 und den WCAG 2.1 auf Stufe AA "
          "vereinbar. Noch nicht barrierefrei sind:"},
         {"Die Karte auf dem Formular und auf der Statusseite ist nicht für alle gleich gut "
          "bedienbar. Alles geht auch ohne sie: mit dem Adressfeld im Formular, und auf der "
          "Statusseite steht der Ort zusätzlich als Link. Auf der Karte im Formular verschieben "
          "die Pfeiltasten die Karte, die Eingabetaste setzt die Markierung.",
          "Straßennamen in den Kartenbildern liegen nicht als Text vor.",
          "Informationen in Deutscher Gebärdensprache gibt es noch nicht. Das Formular, die "
          "Statusseite und die Nachrichten gibt es in Leichter Sprache, diese Erklärung und die "
          "Datenschutzhinweise nicht."}});
    p.sections.push_back(
        {"Erstellung dieser Erklärung",
         {"Diese Erklärung wurde am " + ShownDate(a.prepared_on, false) +
          " erstellt. Grundlage ist eine Selbstbewertung: Jede Seite wird automatisch mit "
          "axe-core auf die Anforderungen der WCAG 2.1 (A und AA) im Browser geprüft, eine "
          "Meldung wird allein mit der Tastatur abgeschickt, und die Seiten werden auf einem "
          "360 Pixel breiten Bildschirm bedient. Diese Prüfungen laufen bei jeder Änderung der "
          "Software."},
         {}});
    InfoPage::Section feedback{"Barrieren melden", {}, {}};
    feedback.paragraphs.push_back(
        "Wenn Ihnen auf diesen Seiten eine Barriere auffällt, teilen Sie es uns bitte mit. Wir "
        "antworten innerhalb von zwei Wochen.");
    if (!a.feedback_email.empty())
      feedback.items.push_back("E-Mail: " + a.feedback_email);
    if (!a.feedback_phone.empty())
      feedback.items.push_back("Telefon: " + a.feedback_phone);
    if (feedback.items.empty())
      feedback.items.push_back("Bitte wenden Sie sich an die Stadtverwaltung " + town + ".");
    p.sections.push_back(feedback);
    p.sections.push_back(
        {"Durchsetzungsverfahren",
         {"Wenn Sie auf Ihre Mitteilung keine zufriedenstellende Antwort erhalten, können Sie "
          "sich an " +
          a.enforcement + " wenden."},
         {}});
  }
  return p;
}

}  // namespace meldestelle::webform
