#pragma once

#include <string>
#include <string_view>

namespace meldestelle::tickets {

// The reference as written to citizens and staff: groups of four ("4KQ7-XRT2-WNPA"); the status
// lookup and staff accept it with or without the dashes (core/reference.hpp parses it). Anything
// that is not a 12-character reference is returned as it is.
std::string DisplayReference(std::string_view reference);

}  // namespace meldestelle::tickets
