#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

// Helpers of the libFuzzer harnesses (fuzz/*.cpp). Not product code: the multipart splitter stands
// in for cpp-httplib's (Debian's compiled library, not instrumented here), so that the seed
// corpora can be the vectors' HTTP bodies byte for byte.
namespace meldestelle::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// One part of a multipart/form-data body.
struct Part {
  std::string name, filename, content_type, value;
};

// Splits a multipart/form-data body whose first line is "--<boundary>": parts end at
// "\r\n--<boundary>", each has a header block ending in a blank line (CRLF), from which the
// Content-Disposition's name and filename and the Content-Type are taken. Empty if the body does
// not start with "--". Lenient: whatever does not fit is skipped.
std::vector<Part> SplitMultipart(std::string_view body);

// config/example/meldestelle.yaml with the sections of the channels' adapters and of routing
// (loaded once; aborts if it does not load: a broken harness must not fuzz nothing).
const Config& ExampleConfig();

}  // namespace meldestelle::fuzz
