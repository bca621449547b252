#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/chat/event.hpp"
#include "core/result.hpp"

// WhatsApp Business Cloud API (Meta Graph API): webhook authentication, notification parsing,
// and the JSON of the calls we make. Pure: bytes in, values out; no I/O, no clock. All functions
// are thread-safe. Facts and sources: shared/reference/channels.md §1.
namespace meldestelle::whatsapp {

// Meta's error code for a message outside the 24-hour customer service window: only an approved
// template may be sent then.
inline constexpr int kOutsideWindow = 131047;

enum class SignatureCheck { kOk, kMissing, kMismatch };

// Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(app_secret, raw_body), in
// constant time. `raw_body` must be the bytes as received. Upper-case hex is accepted. An empty
// header is kMissing; an empty app secret never verifies (kMismatch).
SignatureCheck VerifySignature(std::string_view app_secret, std::string_view raw_body,
                               std::string_view header_value);

// The GET verification handshake (hub.mode, hub.verify_token, hub.challenge): the challenge to
// echo with 200, or nullopt for 403. Never accepts an empty configured token or challenge.
std::optional<std::string> VerifyHandshake(std::string_view mode, std::string_view verify_token,
                                           std::string_view challenge,
                                           std::string_view configured_token);

// Every message and status of every change with field "messages" in every entry, in payload
// order (within a change: messages, then statuses). Other fields are skipped. Errors (codes
// "body_empty", "invalid_utf8", "json_invalid", "object_unexpected", "field_missing",
// "field_type_invalid", "field_value_invalid") name the JSON path. A message or status that is
// malformed is left out and its error added to `skipped`: Meta sends the same notification
// again on an error, so refusing it for an item would lose the others for good, and an item
// that cannot be read never can. Refused: a body that is not a notification (not JSON, another
// object, entries or changes that are not what the API sends).
Result<std::vector<chat::ChatEvent>> ParseNotification(std::string_view raw_body,
                                                       std::vector<Error>* skipped = nullptr);

// POST /<phone-number-id>/messages body for a free-form text (channels.md §1.5). `body` is cut to
// 4096 code points; `reply_to_wamid` adds "context" (quotes the citizen's message).
std::string BuildTextMessage(std::string_view to, std::string_view body,
                             std::string_view reply_to_wamid = {});

// A template message (outside the 24-hour window) with the body parameters as text parameters,
// each made one that Meta takes (TemplateParameter).
std::string BuildTemplateMessage(std::string_view to, std::string_view template_name,
                                 std::string_view language_code,
                                 const std::vector<std::string>& body_params);

// A template's text parameter as Meta takes it: white space (line breaks, tabs, runs of
// spaces) as one space, trimmed, cut to 800 characters, never empty ("–").
std::string TemplateParameter(std::string_view text);

struct SendResult {
  std::string message_id;  // our wamid on success; statuses refer to it
  int error_code = 0;      // Graph error.code, or 0 (then error_message says why)
  std::string error_message;
  bool permanent = false;  // retrying the same request will not help
  // Meta refused the access token (expired, revoked, a permission missing): tried again after
  // a long wait (chat::kTokenRefusedWaitSeconds), while the town replaces it.
  bool token_refused = false;
};

// Maps the answer to a send. 2xx: message_id from messages[0].id; a 2xx body without it is an
// error "response_invalid". Otherwise a SendResult with the Graph error: 4xx is permanent except
// 429 and the rate-limit codes 4, 80007, 130429, 131056; 5xx and anything else is temporary.
Result<SendResult> ParseSendResponse(int http_status, std::string_view body);

struct MediaInfo {
  std::string url;  // valid ~5 minutes; fetch it with the same bearer token
  std::string mime_type;
  std::string sha256_hex;  // normalised as in chat::Media
  std::optional<int64_t> file_size;
};

// The answer to GET /<media-id>. `url` must be https (the bearer token is sent to it) — or start
// with `trusted_origin` (the configured API base's scheme://host[:port], so that a local stand-in
// on plain http works in tests); a Graph error body is returned as error "graph_error".
Result<MediaInfo> ParseMediaInfo(std::string_view body, std::string_view trusted_origin = {});

// Lowercase hex of a SHA-256 given as 64 hex digits or as base64 (standard or URL alphabet,
// padding optional); "" for anything else.
std::string NormalizeSha256(std::string_view value);

}  // namespace meldestelle::whatsapp
