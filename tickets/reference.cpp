#include "tickets/reference.hpp"

namespace meldestelle::tickets {

std::string DisplayReference(std::string_view ref) {
  if (ref.size() != 12)
    return std::string(ref);
  std::string out;
  out.reserve(14);
  out.append(ref.substr(0, 4))
      .append("-")
      .append(ref.substr(4, 4))
      .append("-")
      .append(ref.substr(8, 4));
  return out;
}

}  // namespace meldestelle::tickets
