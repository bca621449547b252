#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channels/admission.hpp"
#include "channels/email/mail.hpp"
#include "channels/email/message.hpp"
#include "core/config.hpp"
#include "core/db.hpp"
#include "core/media.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"

namespace meldestelle::routing {
class Gazetteer;
}

namespace meldestelle::email {

// Turns an accepted e-mail into what it is (docs/channels/email.md): a bounce of one of our
// acknowledgements (that delivery is marked failed; no ticket), a reply to one of our mails or a
// mail naming a reference (a follow-up to that ticket, never a new one; robots included, without
// an answer), or a new report: text without quotes and signature, photos stripped with their EXIF
// position, other attachments kept for staff, the place from a photo or from an address in the
// text (gazetteer), admitted with a threaded acknowledgement — none for robots.
// Idempotent: the ticket is unique on the Message-ID; follow-ups and bounces are remembered.
// One instance per thread.
class MailIntake {
 public:
  MailIntake(const Config& config, channels::Admission& admission,
             const routing::Gazetteer* gazetteer, metrics::Registry& registry);
  // On the last attempt (the worker's max_attempts), what could not be done for now (reading a
  // winmail.dat) is done without: the mail is taken, flagged.
  Status Process(const Message& message, bool last_attempt = false);

 private:
  struct Stored;
  struct Files;
  Result<Mail> Parse(const Message& m, bool last_attempt) const;
  Result<Files> StoreFiles(const Mail& mail);
  // A bounce or a follow-up: handled (true), or a new report (false).
  Result<bool> HandleKnown(const Mail& mail, const Files& files);
  channels::AdmitRequest ReportOf(const Message& m, const Mail& mail, const Files& files,
                                  std::string* place_kind) const;

  const Config& config_;
  channels::Admission& admission_;
  const routing::Gazetteer* gazetteer_;
  BlobStore blobs_;
  db::Session session_;
  metrics::Counter& reports_;
  metrics::Counter& followups_;
  metrics::Counter& bounces_;
};

}  // namespace meldestelle::email
