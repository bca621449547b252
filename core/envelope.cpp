#include "core/envelope.hpp"

#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/text.hpp"

namespace meldestelle {

using namespace std::string_view_literals;

std::string EncodeEnvelope(const Envelope& e) {
  return EncodeEnvelope(e.report, e.raw, e.channel_data);
}

std::string EncodeEnvelope(const Report& report, const RawPayload& raw,
                           std::string_view channel_data, std::string_view text_in_raw) {
  std::string out;
  out.reserve(512 + report.text.size() * 2 + raw.body.size() * 4 / 3);
  out += "{\"report\":"sv;
  if (text_in_raw.empty()) {
    AppendReportJson(out, report, ReportJsonForm::kQueue);
  } else {
    // The text once, in the raw payload: every byte of a message costs the broker
    // (docs/benchmarks.md).
    AppendReportJsonBeforeText(out, report, ReportJsonForm::kQueue);
    out += ",\"text\":{\"in_raw\":"sv;
    json_writer::AppendString(out, text_in_raw);
    out += "}}"sv;
  }
  out += ",\"raw\":{\"content_type\":"sv;
  json_writer::AppendString(out, raw.content_type);
  if (raw.utf8_checked || IsValidUtf8(raw.body)) {
    // Text (JSON, a form, the multipart summary) as a JSON string: a third smaller on the queue
    // than base64, and every byte of a message costs the broker (docs/benchmarks.md).
    out += ",\"body\":"sv;
    json_writer::AppendString(out, raw.body);
  } else {
    out += ",\"body_base64\":\""sv;
    AppendBase64(out, raw.body);  // the base64 alphabet needs no escaping
    out += "\""sv;
  }
  out += "}"sv;
  if (!channel_data.empty()) {
    out += ",\"channel_data\":"sv;
    out += channel_data;  // a JSON object written by the channel
  }
  out += "}"sv;
  return out;
}

Result<std::string> TextInRaw(std::string_view raw, std::string_view pointer) {
  // The parse of webform::FromJson, so that the text read here is the one the gateway validated.
  simdjson::dom::element doc;
  if (ParseJson(raw, &doc) != simdjson::SUCCESS) {
    return MakeError(errors::kEnvelopeInvalid, "text is in a raw payload that is not JSON");
  }
  std::string_view text;
  if (doc.at_pointer(pointer).get_string().get(text) != simdjson::SUCCESS) {
    return MakeError(errors::kEnvelopeInvalid,
                     "the raw payload has no string at " + std::string(pointer));
  }
  return std::string(text);
}

std::string JsonPointerStep(std::string_view name) {
  std::string out = "/";
  for (char c : name) {
    if (c == '~')
      out += "~0"sv;
    else if (c == '/')
      out += "~1"sv;
    else
      out += c;
  }
  return out;
}

Result<Envelope> DecodeEnvelope(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(errors::kEnvelopeInvalid, "message body is not a JSON object");
  }
  auto report = j.find("report");
  if (report == j.end()) {
    return MakeError(errors::kEnvelopeInvalid, "message has no report");
  }
  Envelope e;
  std::string text_in_raw;
  if (auto text = report->find("text"); text != report->end() && text->is_object()) {
    auto in_raw = text->find("in_raw");
    if (text->size() != 1 || in_raw == text->end() || !in_raw->is_string() ||
        in_raw->get_ref<const std::string&>().rfind('/', 0) != 0) {
      return MakeError(errors::kEnvelopeInvalid,
                       "report: text must be a string or {\"in_raw\": a JSON pointer}");
    }
    text_in_raw = in_raw->get<std::string>();
    *text = "";  // read from the raw payload below
  }
  auto parsed = ReportFromJson(*report);
  if (!parsed) {
    // The reason in the dead letter names a version we do not know by its code (report-schema.md).
    const Error& why = parsed.error();
    return MakeError(errors::kEnvelopeInvalid,
                     why.code == errors::kSchemaVersionUnsupported
                         ? Concat({"report: ", why.code.name(), ": ", why.message})
                         : "report: " + why.message);
  }
  e.report = std::move(parsed).value();
  auto raw = j.find("raw");
  if (!text_in_raw.empty() && (raw == j.end() || !raw->is_object())) {
    return MakeError(errors::kEnvelopeInvalid, "report: text is in a raw payload that is missing");
  }
  if (raw != j.end() && raw->is_object()) {
    auto ct = raw->find("content_type");
    auto text = raw->find("body");
    auto b64 = raw->find("body_base64");
    // Exactly one of "body" (text) and "body_base64" (bytes; every message before 2026-12).
    if (ct == raw->end() || !ct->is_string() || (text == raw->end()) == (b64 == raw->end()) ||
        (text != raw->end() && !text->is_string()) || (b64 != raw->end() && !b64->is_string())) {
      return MakeError(errors::kEnvelopeInvalid, "raw payload is malformed");
    }
    e.raw.content_type = ct->get<std::string>();
    if (text != raw->end()) {
      e.raw.body = text->get<std::string>();
    } else if (!Base64Decode(b64->get<std::string>(), &e.raw.body)) {
      return MakeError(errors::kEnvelopeInvalid, "raw payload is not base64");
    }
    // The gateway names the raw payload only when it hashed it anyway (for a dedup key); the
    // report that reaches a worker always names it (docs/report-schema.md).
    if (e.report.raw_ref.empty())
      e.report.raw_ref = "sha256:" + Sha256Hex(e.raw.body);
    if (!text_in_raw.empty()) {
      // Valid UTF-8, as ReportFromJson holds a text to: simdjson checks every byte it parses.
      auto resolved = TextInRaw(e.raw.body, text_in_raw);
      if (!resolved)
        return MakeError(errors::kEnvelopeInvalid, "report: " + resolved.error().message);
      e.report.text = std::move(resolved).value();
    }
  }
  if (auto data = j.find("channel_data"); data != j.end()) {
    if (!data->is_object()) {
      return MakeError(errors::kEnvelopeInvalid, "channel_data must be an object");
    }
    e.channel_data = data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return e;
}

}  // namespace meldestelle
