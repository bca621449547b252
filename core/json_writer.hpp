#pragma once

#include <optional>
#include <string>
#include <string_view>

// A small append-only JSON writer for the hot path (the queue envelope): building a nlohmann
// DOM and dumping it cost a sixth of the gateway's CPU per request. Output is compact JSON;
// the caller is responsible for the structure. Strings must be valid UTF-8.
namespace meldestelle::json_writer {

// Appends `s` as a JSON string literal (quotes included), escaping ", \ and control characters.
void AppendString(std::string& out, std::string_view s);
// Appends a finite double in the shortest form that reads back exactly, or null.
void AppendNumber(std::string& out, std::optional<double> v);
void AppendInt(std::string& out, long long v);

}  // namespace meldestelle::json_writer
