// docs/openapi.yaml is checked against the running server: every documented operation is called
// (without a token, with a good request and with a bad one), every answer's status must be
// documented for that operation and every JSON body must match its documented schema — with no
// undocumented fields — so the description cannot drift from the code.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace openapi_test {

using meldestelle::testing::Stack;
using meldestelle::testing::VectorFile;
using nlohmann::json;

namespace {

// (yaml-cpp: `node = other` would rewrite the document; reset() re-points the handle.)
YAML::Node Resolve(const YAML::Node& root, YAML::Node n) {
  while (n.IsMap() && n["$ref"]) {
    std::string ref = n["$ref"].as<std::string>();  // "#/components/schemas/Ticket"
    REQUIRE(ref.rfind("#/", 0) == 0);
    YAML::Node at;
    at.reset(root);
    size_t pos = 2;
    while (pos <= ref.size()) {
      size_t next = ref.find('/', pos);
      std::string key = ref.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      YAML::Node child = at[key];
      at.reset(child);
      INFO(ref);
      REQUIRE(at);
      if (next == std::string::npos)
        break;
      pos = next + 1;
    }
    n.reset(at);
  }
  return n;
}

void Validate(const YAML::Node& root, YAML::Node schema, const json& v, const std::string& path,
              std::vector<std::string>& errors) {
  schema.reset(Resolve(root, schema));
  if (v.is_null()) {
    if (!(schema["nullable"] && schema["nullable"].as<bool>()))
      errors.push_back(path + ": null");
    return;
  }
  std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
  bool ok = type.empty() || (type == "object" && v.is_object()) ||
            (type == "array" && v.is_array()) || (type == "string" && v.is_string()) ||
            (type == "integer" && v.is_number_integer()) || (type == "number" && v.is_number()) ||
            (type == "boolean" && v.is_boolean());
  if (!ok) {
    errors.push_back(path + ": expected " + type + ", got " + v.dump().substr(0, 60));
    return;
  }
  if (schema["enum"] && v.is_string()) {
    bool found = false;
    for (const auto& e : schema["enum"])
      found = found || e.as<std::string>() == v.get<std::string>();
    if (!found)
      errors.push_back(path + ": " + v.dump() + " is not in the enum");
  }
  if (v.is_object()) {
    for (const auto& r : schema["required"]) {
      if (!v.contains(r.as<std::string>()))
        errors.push_back(path + ": missing " + r.as<std::string>());
    }
    YAML::Node props = schema["properties"];
    for (const auto& [k, x] : v.items()) {
      if (props && props[k]) {
        Validate(root, props[k], x, path + "." + k, errors);
      } else if (props) {
        errors.push_back(path + ": undocumented field " + k);
      }
    }
  }
  if (v.is_array() && schema["items"]) {
    for (size_t i = 0; i < v.size(); ++i) {
      Validate(root, schema["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
    }
  }
}

struct Call {
  std::string operation, method, path, body;
  bool as_operator = false;  // with the operator's token instead of the Tiefbauamt's
};

}  // namespace

TEST_CASE("the OpenAPI description matches what the server answers", "[staff][openapi]") {
  YAML::Node spec = YAML::LoadFile(std::string(MELDESTELLE_SOURCE_DIR) + "/docs/openapi.yaml");
  Stack s;
  int st = -1;
  std::string out = s.RunCommand({"token", "create", "--department", "tiefbauamt"}, &st);
  REQUIRE(st == 0);
  std::string token = out.substr(out.find("mst_"), 61);
  out = s.RunCommand({"token", "create", "--operator"}, &st);
  REQUIRE(st == 0);
  std::string operator_token = out.substr(out.find("mst_"), 61);
  // Three tickets for the Tiefbauamt, the first with a photo.
  httplib::MultipartFormDataItems parts = {
      {"description", "Schlagloch, tief", "", ""},
      {"category", "STR-01", "", ""},
      {"lat", "50.948", "", ""},
      {"lon", "6.975", "", ""},
      {"email", "a@example.net", "", ""},
      {"photos", VectorFile("webform/tiny-test.jpg"), "a.jpg", "image/jpeg"}};
  auto r1 = s.Client().Post("/api/v1/reports", parts);
  REQUIRE(r1);
  REQUIRE(r1->status == 202);
  std::string a = json::parse(r1->body)["reference"];
  std::vector<std::string> refs = {a};
  for (auto [cat, lat] :
       {std::pair<const char*, const char*>{"STR-02", "50.9405"}, {"STR-03", "50.9435"}}) {
    auto r = s.Client().Post("/api/v1/reports",
                             json{{"description", "Gehweg uneben"},
                                  {"category", cat},
                                  {"lat", std::stod(lat)},
                                  {"lon", 6.9405}}
                                 .dump(),
                             "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 202);
    refs.push_back(json::parse(r->body)["reference"]);
  }
  REQUIRE(s.WaitForCount("SELECT count(*) FROM tickets WHERE department_id = 'tiefbauamt'", 3));
  std::string b = refs[1], c = refs[2];

  // A good call for every operation, in an order that keeps each one valid.
  std::vector<Call> calls = {
      {"listTickets", "get", "/api/v1/tickets?status=open&limit=10", ""},
      {"getTicket", "get", "/api/v1/tickets/" + a, ""},
      {"getAttachment", "get", "/api/v1/tickets/" + a + "/attachments/0", ""},
      {"addTicketNote", "post", "/api/v1/tickets/" + a + "/notes", R"({"note":"intern"})"},
      {"acceptTicket", "post", "/api/v1/tickets/" + a + "/accept", "{}"},
      {"setTicketStatus", "post", "/api/v1/tickets/" + a + "/status",
       R"({"status":"in_progress","public_note":"Wir kommen am Montag."})"},
      {"setTicketPublicText", "post", "/api/v1/tickets/" + a + "/public-text",
       R"({"public_text":"Schlagloch, wird verfüllt."})"},
      {"markTicketDuplicate", "post", "/api/v1/tickets/" + b + "/duplicate",
       json{{"duplicate_of", a}}.dump()},
      {"changeTicketCategory", "post", "/api/v1/tickets/" + a + "/category",
       R"({"category":"STR-02","note":"Gehweg"})"},
      {"askCitizen", "post", "/api/v1/tickets/" + a + "/question",
       R"({"question":"Wie tief ist das Loch?"})"},
      {"handBackTicket", "post", "/api/v1/tickets/" + c + "/hand-back",
       R"({"reason":"Privatweg"})"},
      {"forwardTicket", "post", "/api/v1/tickets/" + c + "/forward",
       R"({"department":"ordnungsamt","reason":"Parkplatz"})", true},
  };
  std::set<std::string> documented, called;
  for (const auto& c2 : calls)
    called.insert(c2.operation);
  for (const auto& p : spec["paths"]) {
    for (const auto& m : p.second) {
      if (m.first.as<std::string>() == "parameters")
        continue;
      documented.insert(m.second["operationId"].as<std::string>());
    }
  }
  // A new operation in the description needs a call here (and the other way round).
  CHECK(documented == called);

  auto find_op = [&](const Call& c2) -> YAML::Node {
    for (const auto& p : spec["paths"]) {
      for (const auto& m : p.second) {
        if (m.first.as<std::string>() != "parameters" &&
            m.second["operationId"].as<std::string>() == c2.operation) {
          return m.second;
        }
      }
    }
    FAIL("no operation " << c2.operation);
    return {};
  };
  auto send = [&](const Call& c2, bool with_token, const std::string& body) {
    httplib::Headers h;
    if (with_token)
      h.emplace("Authorization", "Bearer " + (c2.as_operator ? operator_token : token));
    auto cl = s.Client();
    return c2.method == "get" ? cl.Get(c2.path.c_str(), h)
                              : cl.Post(c2.path.c_str(), h, body, "application/json");
  };
  auto check = [&](const Call& c2, const httplib::Result& res, int expected) {
    INFO(c2.operation << " " << c2.path << " -> " << res->status << " "
                      << res->body.substr(0, 300));
    CHECK(res->status == expected);
    YAML::Node op = find_op(c2);
    YAML::Node documented_response = op["responses"][std::to_string(res->status)];
    REQUIRE(documented_response);  // the status is documented for this operation
    YAML::Node response = Resolve(spec, documented_response);
    std::string type = res->get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    // and so is the media type (or its range, image/*)
    std::string range = type.substr(0, type.find('/')) + "/*";
    if (!response["content"][type]) type = range;
    REQUIRE(response["content"][type]);
    if (type == "application/json") {
      std::vector<std::string> errors;
      Validate(spec, response["content"][type]["schema"], json::parse(res->body), "$", errors);
      CHECK(errors == std::vector<std::string>{});
    }
  };
  // A department's token may not forward.
  check(calls.back(),
        send(Call{calls.back().operation, "post", calls.back().path, "", false}, true,
             calls.back().body),
        403);
  for (const auto& c2 : calls) {
    check(c2, send(c2, false, c2.body), 401);
    auto good = send(c2, true, c2.body);
    check(c2, good, 200);
    // Staff's answers hold personal data, a citizen's photo included: nothing is kept.
    CHECK(good->get_header_value("Cache-Control") == "no-store");
    if (c2.method == "post")
      check(c2, send(c2, true, R"({"unbekannt":"x"})"), 400);
    if (c2.path.find(a) != std::string::npos) {
      Call other = c2;
      other.path.replace(other.path.find(a), a.size(), "ZZZZZZZZZZZZ");
      check(other, send(other, true, c2.body), 404);
    }
  }
  // A photo's number past what an int holds is no photo (it wrapped round to photo 0).
  Call wrapped = calls[2];
  wrapped.path = "/api/v1/tickets/" + a + "/attachments/4294967296";
  check(wrapped, send(wrapped, true, ""), 404);
  // Paths the description does not have are not served either.
  CHECK(s.Client()
            .Post(("/api/v1/tickets/" + a + "/reopen").c_str(), "{}", "application/json")
            ->status == 404);
  CHECK(s.Client().Delete(("/api/v1/tickets/" + a).c_str())->status == 404);
}

}  // namespace openapi_test
