#include "core/json_writer.hpp"

#include <charconv>
#include <cmath>

#include "core/swar.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace meldestelle::json_writer {

namespace {

bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The index of the first byte at or after `i` that a JSON string must escape, or s.size().
// Sixteen bytes a step with SSE2 (every x86-64 CPU has it), else eight as a word: what the
// gateway writes is mostly plain text (the raw report in its envelope, the log lines).
size_t NextToEscape(std::string_view s, size_t i) {
  const size_t n = s.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i last_control = _mm_set1_epi8(0x1F);
  // One bit for each of the 16 bytes at `p` that must be escaped.
  auto hits = [&](const char* p) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A byte is at most 0x1F (unsigned) where the smaller of it and 0x1F is itself.
    return static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v))));
  };
  for (; i + 16 <= n; i += 16) {
    if (unsigned mask = hits(s.data() + i); mask != 0)
      return i + static_cast<size_t>(__builtin_ctz(mask));
  }
  if (i < n && n >= 16) {
    // The rest, fewer than 16 bytes, as the last 16 of the string: the bits of the bytes before
    // `i` shifted out, instead of the rest byte by byte.
    if (unsigned mask = hits(s.data() + n - 16) >> (i - (n - 16)); mask != 0)
      return i + static_cast<size_t>(__builtin_ctz(mask));
    return n;
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w = swar::Load8(s.data() + i);
    if (swar::AnyBelow(w, 0x20) || swar::AnyEqual(w, '"') || swar::AnyEqual(w, '\\'))
      break;
  }
  if (i < n && i + 8 > n && n >= 8) {
    // The rest as the last word: nothing to escape in it, nothing in the rest. (A hit may be a
    // byte before `i`, the one just escaped: then byte by byte.)
    uint64_t w = swar::Load8(s.data() + n - 8);
    if (!swar::AnyBelow(w, 0x20) && !swar::AnyEqual(w, '"') && !swar::AnyEqual(w, '\\'))
      return n;
  }
  for (; i < n; ++i) {
    if (NeedsEscape(static_cast<unsigned char>(s[i])))
      return i;
  }
  return n;
}

}  // namespace

void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the current run of characters that need no escaping
  for (size_t i = NextToEscape(s, 0); i < s.size(); i = NextToEscape(s, i + 1)) {
    auto c = static_cast<unsigned char>(s[i]);
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void AppendNumber(std::string& out, std::optional<double> v) {
  if (!v || !std::isfinite(*v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *v);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out.append(text);
  if (text.find_first_of(".e") == std::string_view::npos) {
    out += ".0";  // keep it a floating-point number, as nlohmann::json writes it
  }
}

void AppendInt(std::string& out, long long v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace meldestelle::json_writer
