#pragma once

// Reading Outlook's winmail.dat with libytnef (Debian's libytnef0, GPL-2+). Linked only into
// `meldestelle-tnef` (app/tnef_main.cpp), a program of its own that the worker runs per stream
// (channels/email/tnef.hpp): the library fails badly on broken input, and its licence stays
// with that program.
#include <optional>
#include <string_view>
#include <vector>

#include "channels/email/mail.hpp"

namespace meldestelle::email {

// The files inside a TNEF stream, in its order: named by their long file name (else their short
// one), sanitised as a mail's (SanitizeFilename); the bytes as stored. An embedded Outlook item
// (an attached mail, a contact) is one file of its stored bytes: an attached mail is a TNEF
// stream itself (ExpandTnef reads it in turn). nullopt when the bytes are no TNEF stream or a
// broken one: a signature that is not TNEF's, an attribute longer than the bytes left, one
// repeated, more than kMaxTnefFiles files, one the library refuses.
std::optional<std::vector<Attachment>> UnpackTnef(std::string_view bytes);

}  // namespace meldestelle::email
