#pragma once

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// Reading the shared test vectors (shared/reference/vectors, see its README): bodies byte for
// byte, .headers files, _expected.json.
namespace vector_files {

inline std::string Read(const std::string& rel) {
  std::ifstream in(std::string(MELDESTELLE_VECTORS_DIR) + "/" + rel, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file name in one channel folder.
inline std::set<std::string> List(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(MELDESTELLE_VECTORS_DIR) + "/" + folder)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

struct Http {
  std::string request_line;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// A .headers file: '#' lines are comments, the first other line is the request line.
inline Http ReadHeaders(const std::string& rel) {
  std::istringstream in(Read(rel));
  Http h;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (h.request_line.empty()) {
      h.request_line = line;
      continue;
    }
    size_t colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    size_t v = line.find_first_not_of(' ', colon + 1);
    h.headers[name] = v == std::string::npos ? "" : line.substr(v);
  }
  return h;
}

// The entry of `folder`/_expected.json whose "case" is `name`.
inline nlohmann::json Expected(const std::string& folder, const std::string& name) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(folder);
  if (it == cache.end()) {
    it = cache.emplace(folder, nlohmann::json::parse(Read(folder + "/_expected.json"))).first;
  }
  for (const auto& c : it->second) {
    if (c.at("case") == name) {
      return c;
    }
  }
  FAIL("no case " << name << " in " << folder << "/_expected.json");
  return {};
}

inline std::vector<std::string> ExpectedCases(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& c : nlohmann::json::parse(Read(folder + "/_expected.json"))) {
    names.push_back(c.at("case").get<std::string>());
  }
  return names;
}

// Lines of a .txt transcript that are not comments and not blank.
inline std::vector<std::string> ContentLines(const std::string& rel) {
  std::istringstream in(Read(rel));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (!line.empty() && line[0] != '#') {
      lines.push_back(line);
    }
  }
  return lines;
}

}  // namespace vector_files
