#include "core/text.hpp"

#include <simdjson.h>

#include <cstdint>
#include <regex>

#include "core/swar.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace meldestelle {

namespace {

using swar::AnyBelow;
using swar::AnyEqual;
using swar::kHighBits;
using swar::Load8;

// A control character a text field may not hold: C0 but tab, line feed and carriage return, and
// DEL.
bool IsControl(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  // Plain ASCII a word at a time (a short field, a log line's values, is often all of it); from
  // the first word with a byte of 0x80 or more, simdjson's validator (SIMD, chosen for the CPU
  // at run time), which checks RFC 3629's UTF-8: no overlong forms, no surrogates, nothing above
  // U+10FFFF. A citizen's German text has a multi-byte character every few dozen bytes, where a
  // check a byte at a time would leave its fast path for each.
  size_t i = 0;
  while (i + 8 <= s.size() && (Load8(s.data() + i) & kHighBits) == 0)
    i += 8;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80)
    ++i;
  return i == s.size() || simdjson::validate_utf8(s.data() + i, s.size() - i);
}

TextFault CheckText(std::string_view s) {
  // A broken byte is the first fault, wherever it is.
  if (!IsValidUtf8(s))
    return TextFault::kInvalidUtf8;
  return HasControlCharacter(s) ? TextFault::kControlCharacter : TextFault::kNone;
}

bool HasControlCharacter(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes a step (every x86-64 CPU has SSE2); a block with a byte below 0x20 or DEL is
  // looked at byte by byte (tab, LF and CR are allowed, and a text may have many).
  const __m128i last_c0 = _mm_set1_epi8(0x1F);
  const __m128i del = _mm_set1_epi8(0x7F);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // A byte is at most 0x1F (unsigned) where the smaller of it and 0x1F is itself.
    __m128i hits =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, last_c0), v), _mm_cmpeq_epi8(v, del));
    if (_mm_movemask_epi8(hits) == 0)
      continue;
    for (size_t k = i; k < i + 16; ++k) {
      if (IsControl(p[k]))
        return true;
    }
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w = Load8(p + i);
    // AnyBelow and AnyEqual are exact for bytes of 0x80 and above (none of them matches).
    if (!AnyBelow(w, 0x20) && !AnyEqual(w, 0x7F))
      continue;
    for (size_t k = i; k < i + 8; ++k) {
      if (IsControl(p[k]))
        return true;
    }
  }
  for (; i < n; ++i) {
    if (IsControl(p[i]))
      return true;
  }
  return false;
}

size_t Utf8Length(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  // The bytes that are not continuation bytes (10xxxxxx) are the code points.
  size_t continuations = 0;
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes a step: a continuation byte is below -64 as a signed byte (0x80-0xBF are -128
  // to -65). Each lane counts its own in a byte, added up every 255 steps before it could wrap.
  const __m128i above = _mm_set1_epi8(-65);
  const __m128i zero = _mm_setzero_si128();
  while (i + 16 <= n) {
    __m128i counts = zero;
    for (int step = 0; step < 255 && i + 16 <= n; ++step, i += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      counts = _mm_sub_epi8(counts, _mm_cmpgt_epi8(above, v));  // -1 for each continuation
    }
    __m128i sums = _mm_sad_epu8(counts, zero);  // two sums of eight lanes
    continuations += static_cast<size_t>(_mm_cvtsi128_si32(sums)) +
                     static_cast<size_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; i + 8 <= n; i += 8) {
    // A continuation byte is 10xxxxxx: its top bit set and the next one clear.
    uint64_t w = Load8(p + i);
    // Their count as the sum of the bytes' low bits (at most 8: no carry between bytes), by one
    // multiplication: std::popcount is a call into libgcc where the CPU's popcnt is not assumed.
    continuations += static_cast<size_t>((((w & ~(w << 1) & kHighBits) >> 7) * swar::kOnes) >> 56);
  }
  for (; i < n; ++i) {
    if ((p[i] & 0xC0) == 0x80)
      ++continuations;
  }
  return n - continuations;
}

bool AsciiEqualIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

bool AsciiStartsWithLower(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size())
    return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i])
      return false;
  }
  return true;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::u32string Utf8CodePoints(std::string_view s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (d & 0x3F);
    }
    // No overlong forms, surrogates or code points beyond U+10FFFF.
    constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < kLeast[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
      ok = false;
    if (ok)
      out += cp;
    i += ok ? n : 1;
  }
  return out;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

char32_t LowerCodePoint(char32_t c) {
  if (c >= 'A' && c <= 'Z')
    return c + 0x20;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7)  // Latin-1 capitals
    return c + 0x20;
  if (c == 0x130)  // İ
    return 'i';
  // Latin Extended-A's pairs with the capital first: Ğ ğ, Ş ş, …
  if (((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) &&
      c % 2 == 0)
    return c + 1;
  if (c >= 0x410 && c <= 0x42F)  // А–Я
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40F)  // Ѐ–Џ (Є, І, Ї, Ў …)
    return c + 0x50;
  if (c == 0x490)  // Ґ
    return 0x491;
  return c;
}

}  // namespace

std::string Utf8Lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (n == 1 || i + n > s.size()) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 0x20 : c);
      ++i;
      continue;
    }
    std::u32string cp = Utf8CodePoints(s.substr(i, n));
    if (cp.size() == 1)
      AppendUtf8(out, LowerCodePoint(cp[0]));
    else
      out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes)
    return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;  // s[cut] continues a character: cut before that character
  return s.substr(0, cut);
}

std::string_view TrimAscii(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) {
    return {};
  }
  auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string FoldGerman(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  bool pending_space = false;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) {
      out.push_back(' ');
    }
    pending_space = false;
    out.append(piece);
  };
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (std::isalnum(c)) {
        char lower = static_cast<char>(std::tolower(c));
        emit(std::string_view(&lower, 1));
      } else {
        pending_space = true;
      }
      continue;
    }
    // Two-byte sequences for the German letters (U+00C4.. U+00FC, U+00DF, U+1E9E).
    if (c == 0xC3 && i + 1 < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[i + 1]);
      const char* rep = nullptr;
      switch (d) {
        case 0x84: case 0xA4: rep = "ae"; break;  // Ä ä
        case 0x96: case 0xB6: rep = "oe"; break;  // Ö ö
        case 0x9C: case 0xBC: rep = "ue"; break;  // Ü ü
        case 0x9F: rep = "ss"; break;             // ß
        default: break;
      }
      if (rep != nullptr) {
        emit(rep);
        ++i;
        continue;
      }
      if (d >= 0x80 && d <= 0x9E && d != 0x97) {  // other Latin-1 capitals: lowercase
        char buf[2] = {static_cast<char>(0xC3), static_cast<char>(d + 0x20)};
        emit(std::string_view(buf, 2));
        ++i;
        continue;
      }
    }
    if (c == 0xE1 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBA &&
        static_cast<unsigned char>(s[i + 2]) == 0x9E) {  // ẞ
      emit("ss");
      i += 2;
      continue;
    }
    // A combining diaeresis (decomposed "u" + U+0308) folds like the precomposed umlaut.
    if (c == 0xCC && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x88) {
      out.push_back('e');
      ++i;
      continue;
    }
    // Latin-1 punctuation (NBSP, «», °) and General Punctuation (–, „, “, …) separate words.
    if (c == 0xC2 || (c == 0xE2 && i + 1 < s.size() &&
                      (static_cast<unsigned char>(s[i + 1]) == 0x80 ||
                       static_cast<unsigned char>(s[i + 1]) == 0x81))) {
      pending_space = true;
      i += (c == 0xC2) ? 1 : 2;
      continue;
    }
    // Any other multi-byte character is kept as it is (a letter of another script).
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    emit(s.substr(i, len));
    i += len - 1;
  }
  return out;
}

void AppendMarkupEscaped(std::string& out, std::string_view s, Markup markup) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += markup == Markup::kXml ? "&apos;" : "&#39;";
        break;
      default:
        if (markup == Markup::kHtml || static_cast<unsigned char>(c) >= 0x20 || c == '\t' ||
            c == '\n' || c == '\r') {
          out.push_back(c);
        }
    }
  }
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  AppendMarkupEscaped(out, s, Markup::kXml);
  return out;
}

std::string PercentEncode(std::string_view s, std::string_view also_plain) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (c != '\0' && also_plain.find(static_cast<char>(c)) != std::string_view::npos);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Concat(std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (auto p : parts)
    n += p.size();
  std::string out;
  out.reserve(n);
  for (auto p : parts)
    out += p;
  return out;
}

std::string RedactContacts(std::string_view s) {
  static const std::regex kAddress(R"([A-Za-z0-9._%+=-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)");
  static const std::regex kNumber(R"(\+?[0-9](?:[ /().-]?[0-9]){6,})");
  std::string out = std::regex_replace(std::string(s), kAddress, "[address]");
  return std::regex_replace(out, kNumber, "[number]");
}

}  // namespace meldestelle
