#pragma once

// Outlook's winmail.dat (application/ms-tnef, [MS-OXTNEF]): a mail written in Outlook's "Rich
// Text" format, or sent through an Exchange that keeps its own format, carries its files inside
// this one attachment; the citizen's photos are in there. Read with libytnef (Debian's
// libytnef0), which fails badly on broken input: the worker runs it in a process of its own
// (`meldestelle unpack-tnef`, channels/email/intake.cpp), never in the gateway.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mail.hpp"

namespace meldestelle::email {

// Whether an attachment is a TNEF stream: declared application/ms-tnef or
// application/vnd.ms-tnef, named winmail.dat, or beginning with TNEF's signature.
bool IsTnef(const Attachment& a);

// The files inside a TNEF stream, in its order: named by their long file name (else their short
// one), sanitised as a mail's (SanitizeFilename); the bytes as stored. An embedded Outlook item
// (an attached mail, a contact) is one file of its stored bytes, which no photo check takes (a
// document, not kept). nullopt when the bytes are no TNEF stream or a broken one: a signature
// that is not TNEF's, an attribute longer than the bytes left, one the library refuses.
std::optional<std::vector<Attachment>> UnpackTnef(std::string_view bytes);

// Files as `meldestelle unpack-tnef` writes them to the worker: per file its name and its bytes,
// each after its length (4 bytes, little-endian). DecodeFiles: nullopt for bytes not of this form.
std::string EncodeFiles(const std::vector<Attachment>& files);
std::optional<std::vector<Attachment>> DecodeFiles(std::string_view bytes);

// Replaces each TNEF attachment of `mail` by the files `unpack` finds inside it (in its place, in
// order); one `unpack` cannot read stays as it is, counted in Mail::tnef_not_read. Files beyond
// limits.max_attachments are counted in attachments_not_kept.
void ExpandTnef(
    const Limits& limits,
    const std::function<std::optional<std::vector<Attachment>>(std::string_view)>& unpack,
    Mail* mail);

}  // namespace meldestelle::email
