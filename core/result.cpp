#include "core/result.hpp"

#include <ostream>

namespace meldestelle {

std::ostream& operator<<(std::ostream& out, ErrorCode code) { return out << code.name(); }

}  // namespace meldestelle
