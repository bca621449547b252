// `meldestelle dead-letters list|requeue` (app/dead_letter_queue.cpp).
#include "core/dead_letters.hpp"

#include <iostream>

#include "app/command.hpp"

namespace meldestelle::app {

namespace {

const char* kDeadLettersHelp =
    R"(Usage: meldestelle dead-letters [list|requeue] [--limit N] [--config FILE]

list     (default) prints up to N (default 20) messages of the dead-letter queue with the
         reason each one failed; they stay in the queue.
requeue  moves up to N messages back onto the work queue, e.g. after the cause was fixed; each
         is republished with a broker confirm before it leaves the dead-letter queue.
)";

}  // namespace

int RunDeadLetters(const Args& args) {
  if (args.help) {
    std::cout << kDeadLettersHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kDeadLettersHelp, "dead-letters"))
    return kExitUsage;
  std::string action = args.positional.empty() ? "list" : args.positional[0];
  if ((action != "list" && action != "requeue") || args.positional.size() > 1) {
    std::cerr << "meldestelle dead-letters: expected list or requeue\n" << kDeadLettersHelp;
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  auto n = action == "list" ? ListDeadLetters(*cfg, args.limit, std::cout)
                            : RequeueDeadLetters(*cfg, args.limit, std::cout);
  if (!n) {
    std::cerr << "meldestelle dead-letters: " << n.error().message << ": " << n.error().detail
              << "\n";
    return kExitFailure;
  }
  std::cout << *n << " message(s) " << (action == "list" ? "listed" : "requeued") << " from "
            << cfg->amqp.dead_letter_queue << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
