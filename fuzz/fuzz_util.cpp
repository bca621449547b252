#include "fuzz_util.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "channels/chat/settings.hpp"
#include "channels/email/settings.hpp"
#include "channels/open311/settings.hpp"
#include "channels/phone/settings.hpp"
#include "channels/telegram/settings.hpp"
#include "channels/webform/settings.hpp"
#include "channels/whatsapp/settings.hpp"
#include "routing/settings.hpp"

namespace meldestelle::fuzz {

namespace {

// The value of `param="value"` or `param=value` in a header line; "" if absent.
std::string HeaderParam(std::string_view line, std::string_view param) {
  size_t at = 0;
  while ((at = line.find(param, at)) != std::string_view::npos) {
    // Only a whole parameter name: preceded by ';' or a blank ("filename" is not "name").
    bool whole = at > 0 && (line[at - 1] == ';' || line[at - 1] == ' ');
    at += param.size();
    if (!whole || at >= line.size() || line[at] != '=') {
      continue;
    }
    ++at;
    if (at < line.size() && line[at] == '"') {
      size_t end = line.find('"', at + 1);
      return std::string(line.substr(at + 1, end == std::string_view::npos ? end : end - at - 1));
    }
    size_t end = line.find(';', at);
    return std::string(line.substr(at, end == std::string_view::npos ? end : end - at));
  }
  return {};
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

Part ReadPart(std::string_view raw) {
  Part part;
  size_t blank = raw.find("\r\n\r\n");
  std::string_view head = raw.substr(0, blank);
  part.value = blank == std::string_view::npos ? "" : std::string(raw.substr(blank + 4));
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (StartsWithNoCase(line, "content-disposition:")) {
      part.name = HeaderParam(line, "name");
      part.filename = HeaderParam(line, "filename");
    } else if (StartsWithNoCase(line, "content-type:")) {
      std::string_view v = line.substr(13);
      while (!v.empty() && v.front() == ' ') {
        v.remove_prefix(1);
      }
      part.content_type = std::string(v);
    }
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  }
  return part;
}

}  // namespace

std::vector<Part> SplitMultipart(std::string_view body) {
  std::vector<Part> parts;
  if (body.substr(0, 2) != "--") {
    return parts;
  }
  size_t eol = body.find("\r\n");
  if (eol == std::string_view::npos || eol == 2) {
    return parts;
  }
  const std::string delimiter = "\r\n" + std::string(body.substr(0, eol));
  size_t start = eol + 2;
  while (start <= body.size() && parts.size() < 64) {
    size_t end = body.find(delimiter, start);
    if (end == std::string_view::npos) {
      break;  // no closing delimiter: httplib refuses the body
    }
    parts.push_back(ReadPart(body.substr(start, end - start)));
    start = end + delimiter.size();
    if (body.substr(start, 2) == "--") {
      break;  // the closing delimiter
    }
    start += 2;  // the CRLF after a delimiter
  }
  return parts;
}

const Config& ExampleConfig() {
  static const Config config = [] {
    ConfigSections sections = routing::Sections();
    for (auto list : {chat::Sections(), email::Sections(), open311::Sections(), phone::Sections(),
                      telegram::Sections(), webform::Sections(), whatsapp::Sections()}) {
      sections.insert(sections.end(), list.begin(), list.end());
    }
    auto c = LoadConfig(
        std::filesystem::path(MELDESTELLE_SOURCE_DIR) / "config/example/meldestelle.yaml", sections,
        /*ignore_other_keys=*/true);
    if (!c) {
      std::fprintf(stderr, "fuzz: the example configuration does not load: %s\n",
                   c.error().message.c_str());
      std::abort();
    }
    Config out = std::move(c).value();
    // The vectors' api key and jurisdiction (shared/reference/vectors/README.md).
    out.Set<open311::Settings>().api_keys = {{"default", "test-api-key-123"}};
    out.Set<open311::Settings>().jurisdiction_id = "musterstadt.example";
    return out;
  }();
  return config;
}

}  // namespace meldestelle::fuzz
