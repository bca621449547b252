// `meldestelle outbox unsendable|resend-unsendable`: the acknowledgements that could not be sent
// because no sender for their channel was configured (docs/operations.md, "Acknowledgements:
// which channels send here"), listed, and sent after all once it is.
#include "outbox/outbox.hpp"

#include <algorithm>
#include <iostream>

#include "app/command.hpp"
#include "channels/builtin.hpp"
#include "core/sql.hpp"

namespace meldestelle::app {

namespace {

const char* kOutboxHelp =
    R"(Usage: meldestelle outbox unsendable [--since TIME] [--limit N] [--config FILE]
       meldestelle outbox resend-unsendable [--since TIME] [--dry-run] [--config FILE]

An acknowledgement on a channel for which no sender was configured where the report was
admitted (an SMS without the Twilio account, an e-mail without a relay) is recorded as failed
at once, and its ticket flagged "Eingangsbestätigung nicht sendbar: <channel>".

unsendable         lists them, oldest first (up to N, default 20): the outbox row, the
                   ticket's reference, the channel, the ticket's status, when the report came
                   in (UTC); then how many there are in all
resend-unsendable  once the sender is configured here: sets those on the channels this
                   configuration sends on back to be sent (the same rows, to the dispatchers),
                   takes the flag off their tickets and notes it in their history. Left as
                   they are, and counted: those on channels still without a sender, and those
                   whose ticket is done, rejected or a duplicate ("received" would come
                   after "done").
                   Status notices of the time between are not sent afterwards.

  --since TIME  only reports received since then (e.g. 2026-12-01 or "2026-12-01 08:00", in
                the town's time zone); default: all
  --limit N     unsendable: how many to list
  --dry-run     resend-unsendable: say how many would be sent, change nothing

Run it with the configuration of the dispatchers (the same files as every process): what it
sets back on a channel the dispatchers have no sender for waits unsent.
)";

}  // namespace

int RunOutbox(const Args& args) {
  if (args.help) {
    std::cout << kOutboxHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kOutboxHelp, "outbox"))
    return kExitUsage;
  const std::string action = args.positional.empty() ? "" : args.positional[0];
  if ((action != "unsendable" && action != "resend-unsendable") || args.positional.size() > 1) {
    std::cerr << "meldestelle outbox: expected unsendable or resend-unsendable\n" << kOutboxHelp;
    return kExitUsage;
  }
  auto given = [&](std::string_view option) {
    return std::find(args.given.begin(), args.given.end(), option) != args.given.end();
  };
  if (action == "unsendable" && given("--dry-run")) {
    std::cerr << "meldestelle outbox unsendable: --dry-run is for resend-unsendable (see --help)\n";
    return kExitUsage;
  }
  if (action == "resend-unsendable" && given("--limit")) {
    std::cerr << "meldestelle outbox resend-unsendable: --limit is for unsendable: it sets back "
                 "all of them (narrow it with --since; see --help)\n";
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  std::optional<int64_t> since;
  if (!ParseTimes("outbox", *cfg, {{"--since", &args.since, &since, false}}))
    return kExitUsage;
  auto conn = db::Connect(cfg->database.url);
  if (!conn) {
    std::cerr << "meldestelle outbox: cannot reach the database " << RedactUrl(cfg->database.url)
              << ": " << conn.error().detail << "\n";
    return kExitFailure;
  }
  const int64_t from = since.value_or(0);
  if (action == "unsendable") {
    auto list = db::Guard<outbox::UnsendableList>([&] {
      db::ReadTx tx(**conn);
      return outbox::ListUnsendable(tx, from, args.limit);
    });
    if (!list) {
      std::cerr << "meldestelle outbox: " << list.error().message << ": " << list.error().detail
                << "\n";
      return kExitFailure;
    }
    for (const auto& r : list->rows)
      std::cout << r.id << "  " << r.reference << "  " << r.channel << "  " << r.ticket_status
                << "  " << r.received_at << "\n";
    std::cout << list->total << " acknowledgement(s) not sendable";
    if (list->total > static_cast<int64_t>(list->rows.size()))
      std::cout << ", " << list->rows.size() << " shown (--limit)";
    std::cout << "\n";
    return kExitOk;
  }
  const auto senders = channels::BuiltinChannels().AcknowledgementSenders(*cfg);
  const std::string actor = CliActor();
  auto counts = db::Guard<outbox::Resent>([&] {
    db::Tx tx(**conn);
    auto resent = outbox::ResendUnsendable(tx, senders, from, actor);
    if (!args.dry_run)
      tx.commit();  // else rolled back: nothing changes
    return resent;
  });
  if (!counts) {
    std::cerr << "meldestelle outbox: " << counts.error().message << ": " << counts.error().detail
              << "\n";
    return kExitFailure;
  }
  std::string on;
  for (const auto& c : senders)
    on += (on.empty() ? "" : ", ") + c;
  std::cout << counts->resent << " acknowledgement(s) "
            << (args.dry_run ? "would be set back to be sent" : "set back to be sent")
            << " (senders here: " << (on.empty() ? "none" : on) << ")";
  if (counts->closed > 0)
    std::cout << "; " << counts->closed << " left: their ticket is done, rejected or a duplicate";
  if (counts->no_sender > 0)
    std::cout << "; " << counts->no_sender << " left on channels without a sender here";
  std::cout << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
