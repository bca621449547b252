// The gazetteer file loader: YAML → Gazetteer, collecting every problem as
// "file:line: key: reason".
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/yaml_reader.hpp"
#include "routing/gazetteer.hpp"
#include "routing/place_words.hpp"

namespace meldestelle::routing {

namespace {

constexpr int kMaxHouseNumber = 9999;

// Names and aliases already seen, by match key → "\"Name\" (line n)".
using SeenNames = std::map<std::string, std::string>;

class GazetteerLoader {
 public:
  explicit GazetteerLoader(YamlReader& rd) : rd_(rd) {}

  // Reads name, aliases, lat and lon of one street or landmark; returns its error-key prefix.
  std::string Common(const YAML::Node& node, std::string_view list, size_t index, std::string* name,
                     std::vector<std::string>* aliases, double* lat, double* lon, SeenNames& seen) {
    rd_.String(node, "name", name, true, std::string(list) + "[]");
    std::string key =
        std::string(list) + "[" + (name->empty() ? std::to_string(index) : *name) + "]";
    rd_.StringList(node, "aliases", aliases, key);
    CheckName(node["name"], key + ".name", *name, seen);
    for (const auto& alias : *aliases) {
      CheckName(node["aliases"], key + ".aliases", alias, seen);
    }
    for (const char* coord : {"lat", "lon"}) {
      if (!node[coord] || node[coord].IsNull()) {
        rd_.Fail(node, key + "." + coord, "is required");
      }
    }
    rd_.Double(node, "lat", lat, -90, 90, key);
    rd_.Double(node, "lon", lon, -180, 180, key);
    return key;
  }

  void Numbers(const YAML::Node& node, const std::string& key, Street& s) {
    if (!node || node.IsNull()) {
      return;
    }
    if (!node.IsMap()) {
      rd_.Fail(node, key, "must be a mapping of house number to [lat, lon]");
      return;
    }
    std::set<int> seen;
    for (const auto& kv : node) {
      std::string text = kv.first.IsScalar() ? kv.first.Scalar() : "";
      std::string entry = key + "." + text;
      int number = 0;
      bool digits =
          !text.empty() && text.size() <= 4 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) {
        number = std::stoi(text);
      }
      if (number < 1 || number > kMaxHouseNumber) {
        rd_.FailAtLine(YamlReader::Line(kv.first), entry,
                       "must be a house number 1..9999 (digits only, no letter)");
        continue;
      }
      if (!seen.insert(number).second) {
        rd_.FailAtLine(YamlReader::Line(kv.first), entry, "house number listed twice");
        continue;
      }
      StreetPoint p{number, 0, 0};
      const YAML::Node& v = kv.second;
      if (!v.IsSequence() || v.size() != 2 || !rd_.ScalarDouble(v[0], &p.lat) ||
          !rd_.ScalarDouble(v[1], &p.lon)) {
        rd_.Fail(v, entry, "must be [lat, lon]");
        continue;
      }
      if (p.lat < -90 || p.lat > 90) {
        rd_.Fail(v, entry, "lat must be between -90 and 90");
        continue;
      }
      if (p.lon < -180 || p.lon > 180) {
        rd_.Fail(v, entry, "lon must be between -180 and 180");
        continue;
      }
      s.numbers.push_back(p);
    }
    std::sort(s.numbers.begin(), s.numbers.end(),
              [](const StreetPoint& a, const StreetPoint& b) { return a.number < b.number; });
  }

 private:
  void CheckName(const YAML::Node& at, const std::string& key, const std::string& name,
                 SeenNames& seen) {
    if (name.empty()) {
      return;  // "is required" / "must not be empty" is reported by the reader
    }
    if (!IsValidUtf8(name)) {
      rd_.Fail(at, key, "must be valid UTF-8");
      return;
    }
    std::string match_key = PreparePlaceName(name).key;
    if (match_key.empty()) {
      rd_.Fail(at, key, "\"" + name + "\" has no letters or digits");
      return;
    }
    std::string self = "\"" + name + "\" (line " + std::to_string(YamlReader::Line(at)) + ")";
    auto [it, fresh] = seen.emplace(match_key, self);
    if (!fresh) {
      rd_.Fail(at, key, "duplicate name: \"" + name + "\" reads the same as " + it->second);
    }
  }

  YamlReader& rd_;
};

}  // namespace

Result<Gazetteer> LoadGazetteer(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(errors::kGazetteerInvalid, file.string() + ":0: (file): cannot be read\n");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseGazetteer(ss.str(), file.string());
}

Result<Gazetteer> ParseGazetteer(const std::string& text, const std::string& file_name) {
  YamlReader rd(file_name);
  auto fail = [&] { return MakeError(errors::kGazetteerInvalid, rd.JoinedErrors()); };
  Gazetteer g;
  g.version = "sha256:" + Sha256Hex(text);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    rd.FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
    return fail();
  }
  if (!root || !root.IsMap()) {
    rd.FailAtLine(1, "(file)", "must be a mapping with streets and landmarks");
    return fail();
  }
  rd.CheckDuplicateKeys(root);
  rd.ExpectMap(root, "", {"streets", "landmarks"});
  GazetteerLoader loader(rd);
  SeenNames street_names;
  SeenNames landmark_names;
  YAML::Node streets = root["streets"];
  if (!streets) {
    rd.Fail(root, "streets", "is required");
  } else if (rd.ExpectSequence(streets, "streets")) {
    size_t index = 0;
    for (const auto& node : streets) {
      ++index;
      if (!node.IsMap()) {
        rd.Fail(node, "streets[]", "must be a mapping");
        continue;
      }
      Street s;
      s.line = YamlReader::Line(node);
      std::string key =
          loader.Common(node, "streets", index, &s.name, &s.aliases, &s.lat, &s.lon, street_names);
      rd.ExpectMap(node, key, {"name", "aliases", "lat", "lon", "numbers"});
      loader.Numbers(node["numbers"], key + ".numbers", s);
      g.streets.push_back(std::move(s));
    }
  }
  if (YAML::Node landmarks = root["landmarks"]; landmarks && !landmarks.IsNull()) {
    if (rd.ExpectSequence(landmarks, "landmarks")) {
      size_t index = 0;
      for (const auto& node : landmarks) {
        ++index;
        if (!node.IsMap()) {
          rd.Fail(node, "landmarks[]", "must be a mapping");
          continue;
        }
        Landmark l;
        l.line = YamlReader::Line(node);
        std::string key = loader.Common(node, "landmarks", index, &l.name, &l.aliases, &l.lat,
                                        &l.lon, landmark_names);
        rd.ExpectMap(node, key, {"name", "aliases", "lat", "lon"});
        g.landmarks.push_back(std::move(l));
      }
    }
  }
  if (!rd.ok()) {
    return fail();
  }
  return g;
}

}  // namespace meldestelle::routing
