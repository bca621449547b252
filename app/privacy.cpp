// `meldestelle privacy`: the retention pass at any time, a citizen's data export (Art. 15) and
// erasure (Art. 17), and who saw a ticket's contact data (docs/datenschutz.md).
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "app/command.hpp"
#include "app/privacy_admin.hpp"
#include "channels/phone/settings.hpp"
#include "core/errors.hpp"
#include "core/reference.hpp"
#include "core/text.hpp"
#include "privacy/access_log.hpp"
#include "privacy/person.hpp"
#include "privacy/retention.hpp"
#include "privacy/subject.hpp"
#include "routing/timezone.hpp"

namespace meldestelle::app {

namespace {

const char* kPrivacyHelp = R"(Usage: meldestelle privacy <command> [options] [--config FILE]

Data protection (docs/datenschutz.md).

  retention run [--now TIME] [--dry-run]
      One pass of the retention every worker runs every privacy.job_interval_minutes: contact
      data of tickets closed privacy.retention.contact_after_close_days ago (or received
      contact_open_days ago) anonymised, raw payloads, idempotency envelopes, chat drafts, chat
      events and contacts, follow-up texts, transcripts, recordings, sent messages, the access
      log and dead letters deleted or emptied after their periods, files nobody needs deleted.
      Prints the count per class; with --dry-run what it would do, changing nothing.
      TIME is ISO 8601 (2026-12-01T15:00, ...Z or with an offset; no offset = town time).

  export SELECTOR --out DIR
      Writes DIR/data.json: every stored row about the person, across all tables and channels,
      each with its table and purpose, and copies of their photos, documents and recordings in
      DIR/files/. Prints a summary.

  erase SELECTOR [--dry-run]
      Removes or anonymises the person's data everywhere: their tickets' contact data, texts
      (their contacts redacted where the ticket is still worked on), photos only they sent,
      unsent messages to them, chat state, calls, opt-outs, raw payloads, idempotency
      envelopes and dead letters. The tickets stay, anonymous. Records the erasure in
      privacy_erasures (a keyed hash of the selector, the counts, the time). With --dry-run
      only counts.

  access-log --reference REF
      Who was shown the contact data of ticket REF, when, and where (staff API or inbox).

SELECTOR is one of --email ADDRESS, --phone NUMBER (also finds the WhatsApp, SMS and phone-call
data of that number), --whatsapp NUMBER (the same; or the user id Meta gives a WhatsApp user
with a username, DE.1349120865530274), --telegram CHAT_ID, --reference REF (the person who filed
that ticket, by the contacts it has).

Exit codes: 0 success, 1 database or broker failing, 2 usage error, unknown reference.
)";

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void PrintCounts(const privacy::Counts& counts) {
  size_t width = 0;
  for (const auto& item : counts.items())
    width = std::max(width, item.first.size());
  for (const auto& [klass, n] : counts.items())
    std::cout << "  " << std::left << std::setw(static_cast<int>(width)) << klass << "  " << n
              << "\n";
}

int Failed(const char* what, const Config& cfg, const Error& e) {
  std::cerr << "meldestelle privacy " << what << ": " << e.message;
  if (!e.detail.empty())
    std::cerr << " (" << RedactUrl(cfg.database.url) << "): " << e.detail;
  std::cerr << "\n";
  if (e.code == errors::kNotFound || e.code == errors::kInvalidParameter ||
      e.code == errors::kConfigInvalid)
    return kExitUsage;
  return kExitFailure;
}

std::optional<privacy::Selector> SelectorOf(const char* what, const Args& args, const Config& cfg) {
  using K = privacy::Selector::Kind;
  std::vector<std::pair<K, std::string>> given;
  if (!args.email.empty())
    given.emplace_back(K::kEmail, args.email);
  if (!args.phone.empty())
    given.emplace_back(K::kPhone, args.phone);
  if (!args.whatsapp.empty()) {
    // A number, or the user id of a WhatsApp user with a username ("DE.1349…").
    const std::string value(TrimAscii(args.whatsapp));
    given.emplace_back(privacy::IsWhatsAppUserId(value) ? K::kWhatsAppId : K::kPhone, value);
  }
  if (!args.telegram.empty())
    given.emplace_back(K::kTelegram, args.telegram);
  if (!args.reference.empty())
    given.emplace_back(K::kReference, args.reference);
  if (given.size() != 1) {
    std::cerr << "meldestelle privacy " << what
              << ": give exactly one of --email, --phone, --whatsapp, --telegram, --reference\n";
    return std::nullopt;
  }
  // National numbers ("0170 …") are read with the town's country code.
  auto s = privacy::ParseSelector(given[0].first, given[0].second,
                                  cfg.Get<phone::Settings>().country_code);
  if (!s && !args.whatsapp.empty()) {
    std::cerr << "meldestelle privacy " << what << ": --whatsapp \"" << args.whatsapp
              << "\": neither a phone number (+49 170 1234567, 0170 1234567 or 491701234567) nor"
                 " a WhatsApp user id (DE.1349120865530274)\n";
    return std::nullopt;
  }
  if (!s) {
    std::cerr << "meldestelle privacy " << what << ": " << s.error().message << "\n";
    return std::nullopt;
  }
  return *s;
}

int Retention(const Args& args, const Config& cfg) {
  if (args.positional.size() != 2 || args.positional[1] != "run") {
    std::cerr << "meldestelle privacy retention: expected run\n";
    return kExitUsage;
  }
  std::optional<int64_t> now;
  if (!ParseTimes("privacy retention run", cfg, {{"--now", &args.now, &now, false}}))
    return kExitUsage;
  if (!now)
    now = NowUnix();
  auto retention = NewRetention(cfg);
  auto counts = retention->RunOnce(*now, args.dry_run);
  if (!counts)
    return Failed("retention run", cfg, counts.error());
  std::cout << (args.dry_run ? "would change (dry run)" : "changed") << " at "
            << routing::FormatUnixSeconds(*now) << ":\n";
  PrintCounts(*counts);
  for (const auto& skipped : counts->skipped())
    std::cerr << "meldestelle privacy retention run: not done (the next pass tries again): "
              << skipped << "\n";
  return counts->skipped().empty() ? kExitOk : kExitFailure;
}

int Export(const Args& args, const Config& cfg) {
  auto selector = SelectorOf("export", args, cfg);
  if (!selector)
    return kExitUsage;
  if (args.out.empty()) {
    std::cerr << "meldestelle privacy export: --out DIR is required\n";
    return kExitUsage;
  }
  auto summary = privacy::Export(cfg, *selector, args.out);
  if (!summary)
    return Failed("export", cfg, summary.error());
  long long rows = 0;
  for (const auto& item : summary->rows.items())
    rows += item.second;
  std::cout << "wrote " << summary->data_json.string() << ": " << rows << " row(s), "
            << summary->files << " file(s)\n";
  PrintCounts(summary->rows);
  return kExitOk;
}

int Erase(const Args& args, const Config& cfg) {
  auto selector = SelectorOf("erase", args, cfg);
  if (!selector)
    return kExitUsage;
  auto counts = privacy::Erase(cfg, *selector, args.dry_run, DeadLetterDropFor(cfg));
  if (!counts)
    return Failed("erase", cfg, counts.error());
  std::cout << (args.dry_run ? "would erase (dry run):\n" : "erased:\n");
  PrintCounts(*counts);
  return kExitOk;
}

int AccessLog(const Args& args, const Config& cfg) {
  if (args.reference.empty()) {
    std::cerr << "meldestelle privacy access-log: --reference REF is required\n";
    return kExitUsage;
  }
  auto ref = ParseReference(args.reference);
  if (!ref) {
    std::cerr << "meldestelle privacy access-log: --reference \"" << args.reference
              << "\": " << ref.error().message << "\n";
    return kExitUsage;
  }
  auto views = privacy::ContactViews(cfg.database.url, *ref);
  if (!views)
    return Failed("access-log", cfg, views.error());
  for (const auto& v : *views)
    std::cout << v.at << "  " << v.surface << "  " << v.actor_role << "  " << v.actor << "\n";
  std::cout << views->size() << " view(s) of the contact data of " << *ref << "\n";
  return kExitOk;
}

}  // namespace

int RunPrivacy(const Args& args) {
  if (args.help) {
    std::cout << kPrivacyHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kPrivacyHelp, "privacy"))
    return kExitUsage;
  if (args.positional.empty()) {
    std::cerr << "meldestelle privacy: expected retention, export, erase or access-log\n"
              << kPrivacyHelp;
    return kExitUsage;
  }
  const std::string& cmd = args.positional[0];
  if (cmd != "retention" && cmd != "export" && cmd != "erase" && cmd != "access-log") {
    std::cerr << "meldestelle privacy: unknown command \"" << cmd << "\"\n" << kPrivacyHelp;
    return kExitUsage;
  }
  if (cmd != "retention" && args.positional.size() != 1) {
    std::cerr << "meldestelle privacy " << cmd << ": unexpected argument \"" << args.positional[1]
              << "\"\n";
    return kExitUsage;
  }
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  // The photos and recordings these commands delete or copy: in a folder that does not exist
  // (a relative path from another working directory, MELDESTELLE_MEDIA_DIR not set as for the
  // service) they would not be found, and the rows would go while the files stayed.
  if (cmd != "access-log") {
    std::error_code ec;
    const auto& media = cfg->storage.media_dir;
    if (!std::filesystem::is_directory(media, ec)) {
      std::cerr << "meldestelle privacy " << cmd << ": storage.media_dir " << media.string()
                << " is no folder here: the photos and recordings would not be found. Run it as"
                   " the service does (MELDESTELLE_MEDIA_DIR; docs/operations.md, \"Running a"
                   " command as the service does\")\n";
      return kExitFailure;
    }
  }
  if (cmd == "retention")
    return Retention(args, *cfg);
  if (cmd == "export")
    return Export(args, *cfg);
  if (cmd == "erase")
    return Erase(args, *cfg);
  return AccessLog(args, *cfg);
}

}  // namespace meldestelle::app
