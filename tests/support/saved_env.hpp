#pragma once

// An environment variable's value, restored when the test ends (shared by the test binaries:
// tests/ is on their include path).
#include <cstdlib>
#include <optional>
#include <string>

namespace meldestelle::testing {

class SavedEnv {
 public:
  explicit SavedEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name))
      value_ = v;
  }
  ~SavedEnv() {
    if (value_)
      setenv(name_, value_->c_str(), 1);
    else
      unsetenv(name_);
  }
  SavedEnv(const SavedEnv&) = delete;
  SavedEnv& operator=(const SavedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> value_;
};

}  // namespace meldestelle::testing
