#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/db.hpp"
#include "core/texts.hpp"

// What citizens are told about their ticket: the acknowledgement of a new report, and the status
// notices when it changes (docs/departments.md, "Citizens"): the catalogues' texts
// (core/texts.hpp, "nachricht.*"; `notifications.texts` replaces the status texts per
// language) with their placeholders filled, per channel. Pure but for the two lookups at the end.
namespace meldestelle::tickets {

// One outbox row of kind `status`, as EnqueueCitizenNotifications wrote its payload.
struct StatusNotice {
  std::string event;             // accepted, in_progress, done, rejected, forwarded, duplicate
  std::string language;          // core/texts.hpp's code (anything else: German texts)
  std::string reference;         // the reporter's own reference
  std::string ticket_reference;  // the ticket that changed (differs for a duplicate's reporter)
  std::string merged_into;       // event duplicate: the ticket it was merged into
  std::string department;
  std::string note;  // the public note, may be empty
};

enum class NoticeStyle { kChat, kSms, kEmail };

// Replaces each "{key}" of `values` in one pass (a value is never searched again); unknown
// placeholders stay as they are.
std::string FillPlaceholders(std::string_view text,
                             const std::vector<std::pair<std::string, std::string>>& values);

// The reference another report is handled together with: `merged_into` for the duplicate event,
// else the ticket's reference when it is not the reporter's own; "" if none.
std::string ExistingReference(const StatusNotice& n);

// The message text. Chat and SMS get the note as " Hinweis: …"; SMS starts with the town and
// shortens the note so that the text fits one SMS (160 characters) where possible; e-mail is a
// whole letter with the status link and the opt-out link (`optout_url`, may be empty) at the end.
// The chat's "Ist es behoben?" after a notice that the ticket is done (" Ist der Mangel behoben?
// Antworten Sie mit JA oder NEIN …"); "" for other events or with notifications.ask_fixed off.
// The e-mail notice asks within StatusText, with the status page's link.
std::string AskFixedText(const Config& config, const StatusNotice& n);
std::string StatusText(const Config& config, const StatusNotice& n, NoticeStyle style,
                       const std::string& optout_url = {});
// The e-mail subject (notifications.email_subjects).
std::string StatusSubject(const Config& config, const StatusNotice& n);
// One line for the WhatsApp template's second parameter, e.g. "erledigt. Hinweis: …".
std::string StatusTemplateLine(const Config& config, const StatusNotice& n);

// --- Acknowledgements (the outbox rows of kind `ack`) ---

// The acknowledgement as the ticket store wrote its payload.
struct Acknowledgement {
  std::string reference, department, language = "de";
  bool duplicate = false;
  std::string existing_reference;  // duplicate: the open ticket it was linked to
  std::string forwarded_to;        // forwarded to another authority: who
  bool ask_location = false;       // outside the town: ask where
  std::string location_message;
};
Acknowledgement ReadAcknowledgement(const std::string& payload_json);

// The texts, from the catalogues (core/texts.hpp, "nachricht.*") in the citizen's language.
std::string AckText(const texts::Lang& t, std::string_view reference, std::string_view department,
                    bool location_missing);
std::string DuplicateAckText(const texts::Lang& t, std::string_view reference,
                             std::string_view existing_reference);
std::string ForwardAckText(const texts::Lang& t, std::string_view reference,
                           std::string_view authority);
// The SMS acknowledgement (phone callers who asked for it, web-form reporters who left a number).
std::string SmsAckText(const texts::Lang& t, std::string_view town, std::string_view reference,
                       std::string_view department, std::string_view existing_reference);
// The chat acknowledgement of `a` (forwarded, duplicate or new), with the question for the place.
std::string AckChatText(const Config& config, const Acknowledgement& a, bool location_missing);
// `text` with the link to the status page of `reference` at its end (" Stand: https://…"), for
// chat acknowledgements and status notices; unchanged when gateway.public_base_url is unset (a
// chat cannot follow a relative link) or the text holds the link already ({status_url}).
std::string WithStatusLink(const Config& config, std::string_view language,
                           const std::string& reference, std::string text);
// What goes before the e-mail acknowledgement's letter: forwarded or duplicate, and the question.
std::string AckPreamble(const Config& config, const Acknowledgement& a);
// The WhatsApp template's second parameter for an acknowledgement.
std::string AckTemplateLine(const Config& config, const Acknowledgement& a);

// The status notice as EnqueueCitizenNotifications wrote its payload.
StatusNotice ReadStatusNotice(const std::string& payload_json);

// Whether the citizen at (channel, address) declined status notices.
bool OptedOut(db::Tx& tx, const std::string& channel, const std::string& address);
// Whether the ticket was routed without a place ("Ort fehlt").
bool LocationMissing(db::Tx& tx, const std::string& ticket_id);

}  // namespace meldestelle::tickets
