// `meldestelle outbox unsendable|resend-unsendable`: the acknowledgements that could not be sent
// because no sender for their channel was configured (docs/operations.md, "Acknowledgements:
// which channels send here"), listed, and sent after all once it is.
#include "outbox/outbox.hpp"

#include <iostream>
#include <limits>

#include "app/command.hpp"
#include "channels/builtin.hpp"
#include "core/sql.hpp"
#include "workers/admit.hpp"

namespace meldestelle::app {

namespace {

const char* kOutboxHelp =
    R"(Usage: meldestelle outbox unsendable [--since TIME] [--limit N] [--config FILE]
       meldestelle outbox resend-unsendable [--since TIME] [--dry-run] [--config FILE]

An acknowledgement on a channel for which no sender was configured where the report was
admitted (an SMS without the Twilio account, an e-mail without a relay) is recorded as failed
at once, and its ticket flagged "Eingangsbestätigung nicht sendbar: <channel>".

unsendable         lists them, oldest first (up to N, default 20): the outbox row, the
                   ticket's reference, the channel, when the report came in
resend-unsendable  once the sender is configured here: puts those on the channels this
                   configuration sends on back into the outbox as new, to be sent by the
                   dispatchers, and takes the flag off their tickets. Those on channels still
                   without a sender stay as they are and are counted. Status notices of the
                   time between are not sent afterwards.

  --since TIME  only reports received since then (e.g. 2026-12-01 or "2026-12-01 08:00", in
                the town's time zone); default: all
  --dry-run     resend-unsendable: say how many would be sent, change nothing

Run it with the configuration of the dispatchers (the same files as every process).
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
  if (action == "unsendable" && args.dry_run) {
    std::cerr << "meldestelle outbox unsendable: --dry-run is for resend-unsendable (see --help)\n";
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
    auto rows = db::Guard<std::vector<outbox::Unsendable>>([&] {
      db::ReadTx tx(**conn);
      return outbox::ListUnsendable(tx, from, args.limit);
    });
    if (!rows) {
      std::cerr << "meldestelle outbox: " << rows.error().message << ": " << rows.error().detail
                << "\n";
      return kExitFailure;
    }
    for (const auto& r : *rows)
      std::cout << r.id << "  " << r.reference << "  " << r.channel << "  " << r.received_at
                << "\n";
    std::cout << rows->size() << " acknowledgement(s) not sendable"
              << (static_cast<int>(rows->size()) == args.limit ? " shown (--limit)" : "") << "\n";
    return kExitOk;
  }
  const auto senders = channels::BuiltinChannels().AcknowledgementSenders(*cfg);
  auto counts = db::Guard<std::pair<int64_t, int64_t>>([&] {
    db::Tx tx(**conn);
    const int64_t all = static_cast<int64_t>(
        outbox::ListUnsendable(tx, from, std::numeric_limits<int>::max()).size());
    const int64_t resent = outbox::ResendUnsendable(tx, senders, from, workers::kFlagAckUnsendable);
    if (!args.dry_run)
      tx.commit();  // else rolled back: nothing changes
    return std::pair{resent, all - resent};
  });
  if (!counts) {
    std::cerr << "meldestelle outbox: " << counts.error().message << ": " << counts.error().detail
              << "\n";
    return kExitFailure;
  }
  std::string on;
  for (const auto& c : senders)
    on += (on.empty() ? "" : ", ") + c;
  std::cout << counts->first << " acknowledgement(s) "
            << (args.dry_run ? "would be sent again" : "put back to be sent")
            << " (senders here: " << (on.empty() ? "none" : on) << ")";
  if (counts->second > 0)
    std::cout << "; " << counts->second << " stay on channels without a sender here";
  std::cout << "\n";
  return kExitOk;
}

}  // namespace meldestelle::app
