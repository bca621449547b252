#include "core/json_writer.hpp"

#include <charconv>
#include <cmath>

#include "core/swar.hpp"

namespace meldestelle::json_writer {

void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the current run of characters that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    // Words of eight bytes with nothing to escape are passed over whole.
    while (i + 8 <= s.size()) {
      uint64_t w = swar::Load8(s.data() + i);
      if (swar::AnyBelow(w, 0x20) || swar::AnyEqual(w, '"') || swar::AnyEqual(w, '\\'))
        break;
      i += 8;
    }
    if (i == s.size())
      break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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
