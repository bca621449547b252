#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/webform/intake.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/result.hpp"

// Open311 GeoReport v2 (docs/open311.md): the pure adapter. Parses a POST requests body into the
// normalized report intake, validates it per the specification, and renders every answer (and
// the specification's error list) as JSON or XML. No I/O.
namespace meldestelle::open311 {

enum class Format { kJson, kXml };

// "application/json; charset=utf-8" or "text/xml; charset=utf-8".
const char* ContentType(Format f);

// A resource path without its format suffix: "requests.xml" → {"requests", kXml}. Without a
// suffix the format is JSON, unless `accept` names XML (and not JSON).
struct Resource {
  std::string name;
  Format format = Format::kJson;
};
Resource SplitFormat(std::string_view path, std::string_view accept = {});

// One entry of the specification's error list. `code` is the HTTP status ("400") or a more
// specific code ("LOCATION_MISSING"); digits are written as a number in JSON.
struct Error311 {
  std::string code;
  std::string description;
};
struct Failure {
  int http_status = 400;
  std::vector<Error311> errors;
};
// JSON `[{"code":400,"description":"…"}]`, XML `<errors><error><code>…`.
std::string RenderErrors(const std::vector<Error311>& errors, Format f);

// The decoded fields of a POST body, in order, repeated names kept.
using Form = std::vector<std::pair<std::string, std::string>>;
// application/x-www-form-urlencoded (the specification's format).
Result<Form> ParseForm(std::string_view body);
// A JSON object (some clients send one): strings, numbers, true and false; an array of them
// stands for a repeated field (attribute[CODE][]); an object "attribute" for the answers
// (attribute[CODE]). A field of another shape (an object, a nested array) has the value
// kNotText: ParseRequest and ParseUpdate refuse it where they read the field and ignore it
// elsewhere.
Result<Form> ParseJsonBody(std::string_view body);
inline constexpr std::string_view kNotText{"\0(not text)", 11};
// By Content-Type: form-encoded or JSON; anything else is an error "unsupported_media_type".
Result<Form> ParseBody(std::string_view content_type, std::string_view body);

// A form-encoded body in another charset, made UTF-8: its fields, the body re-encoded (as it is
// kept with the report) and its Content-Type (charset=utf-8). For a body that is not UTF-8,
// unlabelled (an older client's Latin-1) or labelled with a charset iconv knows (iso-8859-1 and
// its aliases read as windows-1252, as browsers do); a field that is UTF-8 stays as it is.
// nullopt where nothing is to be done: every field UTF-8 (also where the label says Latin-1: some
// clients label UTF-8 so), labelled UTF-8 (checked as such), a charset iconv does not know.
struct RecodedForm {
  Form form;
  std::string raw;
  std::string content_type;
};
std::optional<RecodedForm> RecodeForm(std::string_view content_type, const Form& form);
// One text of a form (a multipart text part) by the same rules, its part's Content-Type naming
// the charset: as it is if UTF-8 or if said to be UTF-8 and not (refused by the checks).
std::string TextAsUtf8(const std::string& text, std::string_view content_type);

// The body without its api_key field (form-encoded or JSON), as it is kept with the report (the
// raw payload, the queue message): the key is a secret and is checked at the gateway only.
// Anything else is unchanged, byte for byte.
std::string WithoutApiKey(std::string_view content_type, std::string_view body);

// The client application an api_key belongs to; nullopt for a missing or unknown key.
std::optional<std::string> ClientForKey(const Config& config, std::string_view key);
// The error list when the key is wrong (HTTP 403).
Failure InvalidApiKey();

// A validated POST requests.
struct PostRequest {
  std::string api_key;
  std::string jurisdiction_id;
  std::string service_code;
  std::string device_id;
  std::string account_id;
  std::vector<std::string> media_urls;  // http(s), fetched by the worker (docs/open311.md)
  // Fields we do not use (a client's extensions): ignored, named here for the log and metrics.
  std::vector<std::string> ignored_fields;
  webform::Intake intake;  // text, category, location, reporter, attributes; photos uploaded
};
struct PostParse {
  std::optional<PostRequest> request;
  Failure failure;  // when !request
};
// Validates the fields per the specification and our limits (webform.max_description_chars).
// Several problems are reported at once; HTTP 404 when only the service_code or jurisdiction_id
// is unknown, 400 otherwise. The api_key is not checked here (ClientForKey).
// `photos`: the files of a multipart request (the GeoReporter apps' "media" part), checked as
// the web form's photos (webform.max_photos, max_photo_bytes; images by their bytes).
PostParse ParseRequest(const Form& form, const Config& config,
                       const std::vector<webform::UploadedFile>& photos = {});

// The media_url values of a report that came in through Open311, read from its raw payload (the
// POST body kept in the envelope); empty if none or not an Open311 body.
std::vector<std::string> MediaUrlsFromRaw(const RawPayload& raw);
// At most this many media_url per request or update.
inline constexpr size_t kMaxMediaUrls = 10;

// GET services.
struct Service {
  std::string code, name, description;
  bool metadata = false;
  std::string type = "realtime";  // realtime | batch | blackbox
  std::string keywords, group;
};
std::vector<Service> ServicesFromConfig(const Config& config);
std::string RenderServices(const std::vector<Service>& services, Format f);

// GET services/{code}: the definition. Ours have no attributes (metadata false).
struct AttributeValue {
  std::string key, name;
};
struct Attribute {
  bool variable = true;
  std::string code, datatype;  // string|number|datetime|text|singlevaluelist|multivaluelist
  bool required = false;
  std::string datatype_description;  // "" = null
  int order = 0;
  std::string description;
  std::vector<AttributeValue> values;
};
struct ServiceDefinition {
  std::string service_code;
  std::vector<Attribute> attributes;
};
std::string RenderServiceDefinition(const ServiceDefinition& d, Format f);
// A category's definition: its extra questions (config `categories[].questions`) as attributes.
ServiceDefinition DefinitionFromCategory(const Category& c);

// The answer to POST requests: `[{service_request_id | token, service_notice, account_id}]`.
struct Created {
  std::string service_request_id;  // "" = answered with a token instead
  std::string token;
  std::string service_notice;  // "" = null
  std::string account_id;      // "" = null
};
std::string RenderCreated(const Created& c, Format f);

// GET tokens/{token}.
struct TokenAnswer {
  std::string service_request_id;
  std::string token;
};
std::string RenderToken(const TokenAnswer& t, Format f);

// One service request as GET requests shows it; empty strings are null.
struct ServiceRequest {
  std::string service_request_id, status, status_notes, service_name, service_code, description,
      agency_responsible, service_notice, requested_datetime, updated_datetime, expected_datetime,
      address, address_id, zipcode;
  std::optional<double> lat, lon;
  std::string media_url;
};
std::string RenderRequests(const std::vector<ServiceRequest>& requests, Format f);

// Our ticket status → "open" or "closed" (done, rejected and duplicate are closed).
std::string StatusOf(std::string_view ticket_status);
// A German postcode (five digits) in an address, or "".
std::string ZipcodeIn(std::string_view address);

// The filters of GET requests.
// GeoReport v2: service_request_id, service_code and status may each be a comma list (or be
// given more than once: the caller joins them with commas).
struct Query {
  std::vector<std::string> ids;            // service_request_id
  std::vector<std::string> service_codes;  // any of them; none = every category
  std::string start_date, end_date;        // W3C date-times as given; "" = none
  std::string status;                      // "", "open" or "closed" ("open,closed" is "")
};
struct QueryParse {
  std::optional<Query> query;
  Failure failure;
};
// `param(name)` returns the query parameter's value ("" if absent: the specification treats an
// empty parameter like an absent one).
template <typename Param>
QueryParse ParseQuery(const Param& param);
QueryParse ParseQueryValues(const std::string& ids, const std::string& service_code,
                            const std::string& start_date, const std::string& end_date,
                            const std::string& status);
template <typename Param>
QueryParse ParseQuery(const Param& param) {
  return ParseQueryValues(param("service_request_id"), param("service_code"), param("start_date"),
                          param("end_date"), param("status"));
}
// W3C date-time: YYYY-MM-DD, or with Thh:mm[:ss[.f]] and Z or ±hh:mm.
bool IsW3cDateTime(std::string_view s);
// A query's date-time, trimmed, with the '+' of its offset back where a client sent it
// unencoded (decoded as a space): "2025-03-10T08:00:00 01:00" is "…+01:00".
std::string QueryDateTime(std::string_view value);

// --- mySociety's Service Request Updates extension (docs/open311.md, "Updates") ---

// The window of GET servicerequestupdates: W3C date-times as given ("" = none).
struct UpdatesQuery {
  std::string start_date, end_date;
};
struct UpdatesQueryParse {
  std::optional<UpdatesQuery> query;
  Failure failure;
};
UpdatesQueryParse ParseUpdatesQuery(const std::string& start_date, const std::string& end_date);

// One status change or public note of a request. Empty strings are written as empty elements
// (FixMyStreet's client reads `<media_url></media_url>` as none).
struct RequestUpdate {
  std::string update_id, service_request_id, status, description, updated_datetime, media_url;
};
std::string RenderUpdates(const std::vector<RequestUpdate>& updates, Format f);
// The answer to POST servicerequestupdates: `[{"update_id": …}]`.
std::string RenderUpdateCreated(const std::string& update_id, Format f);

// A validated POST servicerequestupdates: the citizen's comment (or a "still broken" reopening)
// on a request, from a client such as FixMyStreet.
struct UpdatePost {
  std::string api_key;
  std::string jurisdiction_id;
  std::string service_request_id;
  std::string client_update_id;  // the client's own id of the update ("" = none)
  std::string status;            // upper case: OPEN, CLOSED, FIXED, REOPEN, …; "" = none
  std::string description;
  std::string updated_datetime;  // W3C, as the client sent it; "" = none
  std::vector<std::string> media_urls;
  std::vector<std::string> ignored_fields;
};
struct UpdateParse {
  std::optional<UpdatePost> update;
  Failure failure;
};
UpdateParse ParseUpdate(const Form& form, const Config& config);
// A ticket status as the updates extension names it (lower case; FixMyStreet maps each to a
// state of its own): open, investigating, in_progress, fixed, no_further_action.
std::string UpdateStatusOf(std::string_view ticket_status);
// Whether an update's status says the problem is still there (OPEN, REOPEN, IN_PROGRESS, …).
bool UpdateSaysOpen(std::string_view status);

// The discovery document: our one endpoint, its formats and the contact.
struct Discovery {
  std::string changeset;  // a date-time
  std::string contact;
  std::string key_service;
  std::string endpoint_url;  // <base>/open311/v2
};
std::string RenderDiscovery(const Discovery& d, Format f);

}  // namespace meldestelle::open311
