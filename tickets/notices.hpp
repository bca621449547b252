#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"

// What citizens are told when their ticket changes (docs/departments.md, "Citizens"): the texts of
// `notifications.texts` with their placeholders filled, per channel. Pure.
namespace meldestelle::tickets {

// One outbox row of kind `status`, as EnqueueCitizenNotifications wrote its payload.
struct StatusNotice {
  std::string event;             // accepted, in_progress, done, rejected, forwarded, duplicate
  std::string language;          // "de" or "en" (anything else: German texts)
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
std::string StatusText(const Config& config, const StatusNotice& n, NoticeStyle style,
                       const std::string& optout_url = {});
// The e-mail subject (notifications.email_subjects).
std::string StatusSubject(const Config& config, const StatusNotice& n);
// One line for the WhatsApp template's second parameter, e.g. "erledigt. Hinweis: …".
std::string StatusTemplateLine(const StatusNotice& n);

}  // namespace meldestelle::tickets
