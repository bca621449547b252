#pragma once

#include <simdjson.h>

#include <string_view>

namespace meldestelle {

// Parses `body` as the app API's intake does (webform::FromJson) and as the worker reads a
// report's text from the raw request again (TextInRaw, core/envelope.hpp): simdjson, which
// checks the UTF-8 of every byte, with a leading byte order mark skipped (RFC 8259 lets a parser
// ignore it). One parser per thread keeps its buffers; `*doc` is valid until the thread's next
// call.
simdjson::error_code ParseJson(std::string_view body, simdjson::dom::element* doc);

}  // namespace meldestelle
