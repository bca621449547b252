#include "core/json_parse.hpp"

namespace meldestelle {

simdjson::error_code ParseJson(std::string_view body, simdjson::dom::element* doc) {
  thread_local simdjson::dom::parser parser;
  if (body.substr(0, 3) == "\xEF\xBB\xBF")
    body.remove_prefix(3);
  return parser.parse(body.data(), body.size()).get(*doc);
}

}  // namespace meldestelle
