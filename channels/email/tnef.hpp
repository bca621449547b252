#pragma once

// Outlook's winmail.dat (application/ms-tnef, [MS-OXTNEF]): a mail written in Outlook's "Rich
// Text" format, or sent through an Exchange that keeps its own format, carries its files inside
// this one attachment; the citizen's photos are in there. Read by `meldestelle-tnef`, a program
// of its own (channels/email/tnef_reader.hpp) that the worker runs per stream
// (channels/email/intake.cpp); never in the gateway.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/mail.hpp"
#include "core/result.hpp"

namespace meldestelle::email {

// The 4 bytes that begin every TNEF stream, little-endian; and such a number read at `at` (the
// caller checks that 4 bytes are there).
constexpr uint32_t kTnefSignature = 0x223E9F78;

// The most files one stream may hold (Outlook's own limit is lower); more: refused.
constexpr size_t kMaxTnefFiles = 500;
uint32_t ReadLe32(std::string_view bytes, size_t at);

// Whether an attachment is a TNEF stream: declared application/ms-tnef or
// application/vnd.ms-tnef, named winmail.dat, or beginning with TNEF's signature.
bool IsTnef(const Attachment& a);

// Files as `meldestelle-tnef` writes them to the worker: per file its name and its bytes,
// each after its length (4 bytes, little-endian). DecodeFiles: nullopt for bytes not of this form
// or of more than kMaxTnefFiles files; the names sanitised again (the program is the untrusted
// side).
std::string EncodeFiles(const std::vector<Attachment>& files);
std::optional<std::vector<Attachment>> DecodeFiles(std::string_view bytes);

// Reads one TNEF stream: its files; nullopt for a stream that cannot be read (its own fault:
// broken, or what reads it crashed on it); an error when the reading could not be done now (the
// program could not start, took too long, was stopped), for the mail to be tried again.
using TnefUnpacker =
    std::function<Result<std::optional<std::vector<Attachment>>>(std::string_view)>;

// The deepest nesting of TNEF streams read (an Outlook mail attached inside a winmail.dat is one
// itself); deeper ones are counted as not read.
constexpr int kMaxTnefDepth = 3;

// The most streams read for one mail (each a program run of up to 10 s), and no more than the
// mail may keep files.
constexpr size_t kMaxTnefReads = 20;

// Replaces each TNEF attachment of `mail` by the files `unpack` finds inside it, in its place
// and order, those inside an attached Outlook mail too. One that cannot be read is dropped and
// counted in Mail::tnef_not_read, as one beyond kMaxTnefDepth. Files beyond
// limits.max_attachments are counted in attachments_not_kept, and so is a stream met when the
// limit is reached or beyond the budget of streams read (at most kMaxTnefReads, at most
// limits.max_attachments): as one, unread. An error of
// `unpack` is returned, and the mail is left as it was.
Status ExpandTnef(const Limits& limits, const TnefUnpacker& unpack, Mail* mail);

}  // namespace meldestelle::email
