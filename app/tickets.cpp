// `meldestelle tickets unlink`.
#include <iostream>

#include "app/command.hpp"
#include "tickets/unlink.hpp"

namespace meldestelle::app {

namespace {

const char* kTicketsHelp = R"(Usage: meldestelle tickets unlink REFERENCE [--config FILE]

A report linked to an open ticket as its duplicate (docs/duplicates.md) becomes its own open
ticket again, for the department its own routing chose when it arrived. The unlinking is
recorded (duplicate_unlinks, with $USER). Running it again changes nothing.
Exit codes: 0 unlinked or not linked, 1 unknown reference or database failure.
)";

}  // namespace

int RunTickets(const Args& args) {
  if (args.help) {
    std::cout << kTicketsHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kTicketsHelp, "tickets"))
    return kExitUsage;
  if (args.positional.size() != 2 || args.positional[0] != "unlink") {
    std::cerr << "meldestelle tickets: expected unlink REFERENCE\n" << kTicketsHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  const std::string& ref = args.positional[1];
  auto r = tickets::UnlinkDuplicate(*cfg, ref, CliActor());
  if (!r) {
    std::cerr << "meldestelle tickets unlink: " << r.error().message
              << (r.error().detail.empty() ? "" : ": " + r.error().detail) << "\n";
    return kExitFailure;
  }
  if (r->kind == tickets::UnlinkResult::Kind::kUnlinked) {
    std::cout << ref << ": unlinked from " << r->existing_reference
              << ", now its own open ticket for " << r->department << "\n";
  } else {
    std::cout << ref << ": not linked to another ticket, nothing changed\n";
  }
  return kExitOk;
}

}  // namespace meldestelle::app
