#include "core/charset.hpp"

#include <iconv.h>

#include <cerrno>
#include <vector>

namespace meldestelle {

bool IsWindows1252Label(std::string_view label) {
  static constexpr std::string_view kLabels[] = {
      "iso-8859-1", "iso8859-1",      "iso_8859-1", "iso88591",     "iso_8859-1:1987", "latin1",
      "l1",         "cp819",          "ibm819",     "iso-ir-100",   "csisolatin1",     "us-ascii",
      "ascii",      "ansi_x3.4-1968", "cp1252",     "windows-1252", "x-cp1252"};
  for (std::string_view l : kLabels) {
    if (label == l)
      return true;
  }
  return false;
}

std::optional<std::string> ConvertToUtf8(std::string_view bytes, const char* from) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1))
    return std::nullopt;
  std::string out;
  std::vector<char> buf(4096);
  // iconv's interface takes char** for the input although it does not write through it.
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  while (true) {
    char* o = buf.data();
    size_t o_left = buf.size();
    size_t rc = in_left == 0 ? iconv(cd, nullptr, nullptr, &o, &o_left)
                             : iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf.data(), buf.size() - o_left);
    if (rc != static_cast<size_t>(-1)) {
      if (in_left == 0)
        break;
      continue;
    }
    if (errno == E2BIG)
      continue;
    // EILSEQ or EINVAL (a truncated sequence at the end): one byte becomes U+FFFD.
    out.append("\xEF\xBF\xBD");
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  iconv_close(cd);
  return out;
}

}  // namespace meldestelle
