#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Reads YAML into typed values while collecting every problem as "file:line: key: reason".
// Scalars have `${VAR}` and `${VAR:-default}` expanded from the environment.
// Not thread-safe; one reader per file being loaded.
namespace meldestelle {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  // Parses the file; on a syntax error records it and returns a null node.
  YAML::Node LoadFile();
  // The same for text already in memory (labelled with the reader's file name).
  YAML::Node LoadText(const std::string& text);
  // Reports a key given twice in one mapping, anywhere in the document (LoadFile and LoadText
  // do; for a document loaded otherwise).
  void CheckDuplicateKeys(const YAML::Node& root);

  // Records an error for `key` at the node's line.
  void Fail(const YAML::Node& at, std::string_view key, std::string_view reason);
  void FailAtLine(int line, std::string_view key, std::string_view reason);

  // Checks that `map` is a mapping whose keys are all in `allowed`; reports the others.
  bool ExpectMap(const YAML::Node& map, std::string_view key,
                 std::initializer_list<std::string_view> allowed);
  bool ExpectSequence(const YAML::Node& seq, std::string_view key);

  // Scalar readers: absent keys leave `out` unchanged (the default) unless `required`.
  void String(const YAML::Node& map, std::string_view name, std::string* out,
              bool required = false, std::string_view path = {});
  void Int(const YAML::Node& map, std::string_view name, int64_t* out, int64_t min, int64_t max,
           std::string_view path = {});
  void Int(const YAML::Node& map, std::string_view name, int* out, int64_t min, int64_t max,
           std::string_view path = {}) {
    int64_t v = *out;
    Int(map, name, &v, min, max, path);
    *out = static_cast<int>(v);
  }
  void StringList(const YAML::Node& map, std::string_view name, std::vector<std::string>* out,
                  std::string_view path = {});
  // true/false (also yes/no, on/off); anything else is an error.
  void Bool(const YAML::Node& map, std::string_view name, bool* out, std::string_view path = {});
  // A finite number in [min, max].
  void Double(const YAML::Node& map, std::string_view name, double* out, double min, double max,
              std::string_view path = {});
  // Parses one scalar node as a finite number; false (nothing recorded) if it is none.
  bool ScalarDouble(const YAML::Node& n, double* out) const;

  // Expands ${VAR} / ${VAR:-default}. Records the names of unset variables without default.
  std::string Expand(const std::string& raw, std::vector<std::string>* unset = nullptr) const;

  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  std::string JoinedErrors() const;
  const std::string& file() const { return file_; }
  static int Line(const YAML::Node& n) { return n.Mark().line + 1; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

}  // namespace meldestelle
