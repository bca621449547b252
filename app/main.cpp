// meldestelle: one binary, thin main. It parses the command name and dispatches to the command's
// own file (app/<command>.cpp), which parses its flags, loads the config and hands over to a
// component.
#include <malloc.h>

#include <exception>
#include <iostream>
#include <string>

#include "app/command.hpp"

#ifndef MELDESTELLE_VERSION
#define MELDESTELLE_VERSION "0.0.0"
#endif

namespace {

using namespace meldestelle::app;

const char* kMainHelp = R"(meldestelle – intake gateway for citizens' defect reports

Usage: meldestelle [--version] [--help] <command> [options]

Commands:
  gateway           serve the HTTP front (web form, API, webhooks, /metrics)
  worker            route queued reports and store tickets; close chat drafts
  dispatcher        send replies from the outbox: chat (WhatsApp, Telegram), SMS, e-mail
  mailgate          hand one e-mail from stdin to the gateway (for the mail server's pipe)
  mail-poll         fetch e-mail from the IMAP mailbox and hand it to the gateway
  migrate           create or update the database schema
  rules check       validate the routing rules (and the areas they use), run their fixtures
  rules explain     show which rule routes a report file, and why
  rules shadow-report  where the candidate rule set disagreed with the live one
  rules promote     make the candidate rule set live (keeping the previous for rollback)
  rules rollback    bring the previous rule set back
  rules history     every swap of the rule set: when, which version, by whom
  rules replay      re-route stored tickets with a candidate rule set: who would move where
  dead-letters      list the dead-letter queue, or move its messages back (requeue)
  outbox            acknowledgements that had no sender here: list them (unsendable), send
                    them once one is configured (resend-unsendable)
  tickets unlink    make a report linked as a duplicate its own open ticket again
  token             create, list and revoke the staff API's tokens (per department, operator)
  staff             the inbox's local accounts (add, password, disable, enable, logout, list);
                    try a sign-in (check)
  deadlines run     one pass of the ticket jobs (re-routing, acceptance deadlines) at a time
  stats             routing quality per rule and department: misroutes, escalations, times
  report            figures for the council: reports, open, done, times, by category,
                    district, department or channel, per week or month (table, CSV, JSON)
  privacy           data protection: retention pass, a citizen's data export and erasure,
                    who saw contact data
  texts             the citizens' texts in every language: check a town's folder, show them

Every command takes --config FILE (default: $MELDESTELLE_CONFIG, else
config/example/meldestelle.yaml) and --help, and only the options its --help names (another,
such as --dry-run where there is none, is a usage error: nothing is done).
Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
)";

struct Command {
  const char* name;
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"gateway", RunGateway},       {"worker", RunWorker},
    {"dispatcher", RunDispatcher}, {"mailgate", RunMailgate},
    {"mail-poll", RunMailPoll},    {"migrate", RunMigrate},
    {"rules", RunRules},           {"dead-letters", RunDeadLetters},
    {"tickets", RunTickets},       {"token", RunToken},
    {"deadlines", RunDeadlines},   {"stats", RunStats},
    {"privacy", RunPrivacy},       {"texts", RunTexts},
    {"report", RunReport},         {"staff", RunStaff},
    {"outbox", RunOutbox},
};

}  // namespace

int main(int argc, char** argv) {
  // Every allocation of 1 MiB or more gets its own mapping, returned to the system when freed.
  // Without this glibc raises the threshold to the size of each large block freed (up to 32 MiB)
  // and serves later ones from its per-thread arenas, which keep the memory: after 64 photo
  // decodes (libjpeg's coefficient arrays and libheif's planes are 10-150 MB each) the gateway
  // kept 1.6 GB (docs/security.md, "Photos"). Before any thread exists.
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  if (argc < 2) {
    std::cerr << kMainHelp;
    return kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::cout << "meldestelle " << MELDESTELLE_VERSION << "\n";
    return kExitOk;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kMainHelp;
    return kExitOk;
  }
  Args args = ParseArgs(argc, argv, 2);
  if (!args.error.empty()) {
    std::cerr << "meldestelle " << cmd << ": " << args.error << "\n";
    return kExitUsage;
  }
  try {
    for (const Command& c : kCommands) {
      if (cmd != c.name)
        continue;
      SetDatabaseDefaults(cmd);  // before any thread exists
      return c.run(args);
    }
  } catch (const std::exception& e) {
    std::cerr << "meldestelle " << cmd << ": " << e.what() << "\n";
    return kExitFailure;
  }
  std::cerr << "meldestelle: unknown command \"" << cmd << "\"\n\n" << kMainHelp;
  return kExitUsage;
}
