#pragma once

// Text in other charsets made UTF-8, through iconv (glibc).
#include <optional>
#include <string>
#include <string_view>

namespace meldestelle {

// Whether a charset label (lower case, no blanks) means windows-1252 as browsers read it (WHATWG
// Encoding): iso-8859-1, latin1, us-ascii, cp1252 and their aliases.
bool IsWindows1252Label(std::string_view label);

// `bytes` in the charset iconv calls `from` ("WINDOWS-1252", "ISO-8859-15"), as UTF-8; a byte
// that cannot be decoded becomes U+FFFD. nullopt if iconv knows no such charset.
std::optional<std::string> ConvertToUtf8(std::string_view bytes, const char* from);

}  // namespace meldestelle
