#include "core/yaml_reader.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

namespace meldestelle {

// yaml-cpp keeps both of a key given twice in one mapping, and a lookup finds the first: a line
// added above the one an operator edits would win silently, even over the environment. Every
// mapping of the document is checked once (a node reached again through an alias is the same
// node, by its place in the text, and is not walked again).
void YamlReader::CheckDuplicateKeys(const YAML::Node& root) {
  std::vector<std::pair<YAML::Node, std::string>> todo = {{root, ""}};
  std::set<int> seen;
  while (!todo.empty()) {
    auto [node, path] = std::move(todo.back());
    todo.pop_back();
    if (!node.IsMap() && !node.IsSequence())
      continue;
    if (!seen.insert(node.Mark().pos).second)
      continue;
    if (node.IsSequence()) {
      for (const auto& item : node)
        todo.emplace_back(item, path + "[]");
      continue;
    }
    std::map<std::string, int> lines;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      const std::string full = path.empty() ? key : path + "." + key;
      const int line = YamlReader::Line(kv.first);
      if (kv.first.IsScalar()) {
        auto [it, added] = lines.emplace(key, line);
        if (!added)
          FailAtLine(
              line, full,
              "given twice in the same mapping (first on line " + std::to_string(it->second) + ")");
      }
      todo.emplace_back(kv.second, full);
    }
  }
}

YAML::Node YamlReader::LoadFile() {
  try {
    YAML::Node root = YAML::LoadFile(file_);
    if (!root || root.IsNull()) {
      FailAtLine(1, "(file)", "is empty");
      return {};
    }
    CheckDuplicateKeys(root);
    return root;
  } catch (const YAML::BadFile&) {
    FailAtLine(0, "(file)", "cannot be read");
  } catch (const YAML::Exception& e) {
    FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
  } catch (const std::exception&) {
    // A folder, a device: the stream refuses to read it ("basic_filebuf::underflow").
    FailAtLine(0, "(file)", "cannot be read (a folder or not a regular file?)");
  }
  return {};
}

YAML::Node YamlReader::LoadText(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) {
      FailAtLine(1, "(file)", "is empty");
      return {};
    }
    CheckDuplicateKeys(root);
    return root;
  } catch (const YAML::Exception& e) {
    FailAtLine(e.mark.line + 1, "(syntax)", e.msg);
  }
  return {};
}

void YamlReader::FailAtLine(int line, std::string_view key, std::string_view reason) {
  errors_.push_back(file_ + ":" + std::to_string(line) + ": " + std::string(key) + ": " +
                    std::string(reason));
}

void YamlReader::Fail(const YAML::Node& at, std::string_view key, std::string_view reason) {
  FailAtLine(at ? Line(at) : 0, key, reason);
}

bool YamlReader::ExpectMap(const YAML::Node& map, std::string_view key,
                           std::initializer_list<std::string_view> allowed) {
  if (!map.IsMap()) {
    Fail(map, key, "must be a mapping");
    return false;
  }
  for (const auto& kv : map) {
    std::string k = kv.first.Scalar();
    bool known = false;
    for (auto a : allowed) {
      known = known || a == k;
    }
    if (!known) {
      std::string full = key.empty() ? k : std::string(key) + "." + k;
      std::string list;
      for (auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      FailAtLine(Line(kv.first), full, "unknown key (allowed: " + list + ")");
    }
  }
  return true;
}

bool YamlReader::ExpectSequence(const YAML::Node& seq, std::string_view key) {
  if (!seq.IsSequence()) {
    Fail(seq, key, "must be a list");
    return false;
  }
  return true;
}

std::string YamlReader::Expand(const std::string& raw, std::vector<std::string>* unset) const {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
      size_t end = raw.find('}', i + 2);
      if (end != std::string::npos) {
        std::string inner = raw.substr(i + 2, end - i - 2);
        std::string name = inner;
        std::optional<std::string> def;
        if (auto sep = inner.find(":-"); sep != std::string::npos) {
          name = inner.substr(0, sep);
          def = inner.substr(sep + 2);
        }
        const char* v = std::getenv(name.c_str());
        if (v != nullptr && *v != '\0') {
          out += v;
        } else if (def) {
          out += *def;
        } else if (unset != nullptr) {
          unset->push_back(name);
        }
        i = end + 1;
        continue;
      }
    }
    out.push_back(raw[i++]);
  }
  return out;
}

namespace {
std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Join(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
}
}  // namespace

void YamlReader::String(const YAML::Node& map, std::string_view name, std::string* out,
                        bool required, std::string_view path) {
  YAML::Node n = map[std::string(name)];
  if (!n || n.IsNull()) {
    if (required) {
      Fail(map, Join(path, name), "is required");
    }
    return;
  }
  if (!n.IsScalar()) {
    Fail(n, Join(path, name), "must be a string");
    return;
  }
  std::vector<std::string> unset;
  *out = Expand(n.Scalar(), &unset);
  for (const auto& var : unset) {
    Fail(n, Join(path, name),
         "environment variable " + var + " is not set or empty (and has no default)");
  }
  if (required && out->empty() && unset.empty()) {
    Fail(n, Join(path, name), "must not be empty");
  }
}

void YamlReader::Int(const YAML::Node& map, std::string_view name, int64_t* out, int64_t min,
                     int64_t max, std::string_view path) {
  YAML::Node n = map[std::string(name)];
  if (!n || n.IsNull()) {
    return;
  }
  if (!n.IsScalar()) {
    Fail(n, Join(path, name), "must be a number");
    return;
  }
  std::vector<std::string> unset;
  std::string text = Expand(n.Scalar(), &unset);
  if (!unset.empty()) {
    Fail(n, Join(path, name),
         "environment variable " + unset[0] + " is not set or empty (and has no default)");
    return;
  }
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) {
    Fail(n, Join(path, name), "must be an integer, got \"" + text + "\"");
    return;
  }
  if (v < min || v > max) {
    Fail(n, Join(path, name),
         "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return;
  }
  *out = v;
}

void YamlReader::Bool(const YAML::Node& map, std::string_view name, bool* out,
                      std::string_view path) {
  YAML::Node n = map[std::string(name)];
  if (!n || n.IsNull()) {
    return;
  }
  std::string text = n.IsScalar() ? Expand(n.Scalar()) : "";
  if (text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    Fail(n, Join(path, name), "must be true or false, got \"" + text + "\"");
  }
}

void YamlReader::StringList(const YAML::Node& map, std::string_view name,
                            std::vector<std::string>* out, std::string_view path) {
  YAML::Node n = map[std::string(name)];
  if (!n || n.IsNull()) {
    return;
  }
  if (n.IsScalar()) {
    out->push_back(Expand(n.Scalar()));
    return;
  }
  if (!n.IsSequence()) {
    Fail(n, Join(path, name), "must be a list of strings");
    return;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      Fail(item, Join(path, name), "must be a list of strings");
      continue;
    }
    out->push_back(Expand(item.Scalar()));
  }
}

bool YamlReader::ScalarDouble(const YAML::Node& n, double* out) const {
  if (!n.IsScalar()) {
    return false;
  }
  std::string text = Expand(n.Scalar());
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

void YamlReader::Double(const YAML::Node& map, std::string_view name, double* out, double min,
                        double max, std::string_view path) {
  YAML::Node n = map[std::string(name)];
  if (!n || n.IsNull()) {
    return;
  }
  double v = 0;
  if (!ScalarDouble(n, &v)) {
    Fail(n, Join(path, name),
         "must be a number, got \"" + (n.IsScalar() ? n.Scalar() : "") + "\"");
    return;
  }
  if (v < min || v > max) {
    Fail(n, Join(path, name),
         "must be between " + FormatNumber(min) + " and " + FormatNumber(max));
    return;
  }
  *out = v;
}

std::string YamlReader::JoinedErrors() const {
  std::string out;
  for (const auto& e : errors_) {
    out += e + "\n";
  }
  return out;
}

}  // namespace meldestelle
