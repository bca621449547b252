#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace meldestelle {

// The normalized report: the one currency between channels, queue, routing and store.
// Documented in docs/report-schema.md; bump kReportSchemaVersion on incompatible changes.
inline constexpr int kReportSchemaVersion = 1;

enum class LocationSource { kNone, kDevice, kPhoto, kAddress };

struct Location {
  std::optional<double> lat;         // WGS84 degrees
  std::optional<double> lon;         // WGS84 degrees
  std::optional<double> accuracy_m;  // radius in metres, if known
  LocationSource source = LocationSource::kNone;
  std::string address;  // the address text as the citizen gave it (may be empty)
};

struct Reporter {
  std::string address;      // channel address (e-mail, phone number, chat id); empty = anonymous
  std::string name;         // if given
  std::string ack_channel;  // how to reach them for the acknowledgement: "email", "sms", "none", …
  std::string ack_address;  // where, on that channel
  std::string language = "de";
};

struct Attachment {
  std::string sha256;      // lowercase hex of the stored bytes
  std::string media_type;  // sniffed from the magic bytes, never the client's claim
  int64_t size = 0;
  std::string filename;  // original file name, sanitised
};

// An answer to one of a category's extra questions (Open311 `attribute[code]`; docs/open311.md),
// or a value a client sent under a code we did not ask for.
struct ReportAttribute {
  std::string code;
  std::string name;                 // the question as configured; "" for codes we did not ask
  std::vector<std::string> values;  // one, or several for a multiple choice
};

// The most text a report from a message of any length keeps (an e-mail, a chat's messages
// together), in bytes of UTF-8: the place finder reads as much, and it is what a department's
// mail can carry (docs/security.md, "Linear time for text from outside").
inline constexpr size_t kMaxReportTextBytes = 16 * 1024;

struct Report {
  int schema_version = kReportSchemaVersion;
  std::string id;  // UUID
  std::string reference;
  std::string channel;             // "webform", "api", …
  std::string channel_message_id;  // deduplication key, unique per channel
  std::string received_at;         // RFC 3339 UTC with milliseconds
  Reporter reporter;
  std::string text;      // valid UTF-8
  std::string category;  // category code the citizen chose; empty if none
  Location location;
  std::vector<Attachment> attachments;
  std::vector<ReportAttribute> attributes;  // optional; written only when there are some
  std::string raw_ref;  // "sha256:<hex>" of the raw inbound payload kept for audit
  // "Ich auch" (docs/intake-api.md): the reference of the ticket this report joins as a further
  // reporter; optional, written only when set.
  std::string same_as;
};

const char* ToString(LocationSource s);
std::optional<LocationSource> LocationSourceFromString(std::string_view s);

// The two forms of a report's JSON. kStored: every member (the database's `tickets.report`, which
// SQL reads member by member; tools, tests). kQueue: the members at their default value (empty,
// null, no attachments, a reporter with nothing but the language "de") left out, for the
// envelope on the queue: every byte of a message costs the broker (docs/benchmarks.md).
// ReportFromJson reads both as the same report, and so does a worker from before the queue's
// form (it always read a missing optional member as its default).
enum class ReportJsonForm { kStored, kQueue };

// The one writer of a report's JSON, for the queue and the database alike: written directly, no
// DOM (the queue's hot path). ReportToJson parses it back (tools, tests).
void AppendReportJson(std::string& out, const Report& r,
                      ReportJsonForm form = ReportJsonForm::kStored);
// All of it up to `text`, its last member: without `,"text":…}`. For the envelope, which may give
// the text by its place in the raw payload instead (core/envelope.hpp).
void AppendReportJsonBeforeText(std::string& out, const Report& r,
                                ReportJsonForm form = ReportJsonForm::kStored);
// The `reporter` object of the report's JSON, alone (the tickets' reporter column).
void AppendReporterJson(std::string& out, const Reporter& reporter,
                        ReportJsonForm form = ReportJsonForm::kStored);
nlohmann::json ReportToJson(const Report& r);
// Validates types, required fields, UTF-8 and coordinate ranges.
Result<Report> ReportFromJson(const nlohmann::json& j);

// RFC 3339 UTC timestamp with milliseconds, e.g. 2026-11-27T13:06:28.123Z.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);
std::string NowTimestamp();

}  // namespace meldestelle
