// Accuracy of the automatic category on a labelled set (docs/routing.md, "Automatic category").
//   build/bench/classifier_eval [--config FILE] [--data FILE.jsonl] [--errors]
// Each line of the data file is {"text": "...", "category": "STR-01"}. A report the classifier
// leaves without a category ("Kategorie unsicher") counts as wrong. Prints precision and recall
// per category as a Markdown table and the overall accuracy; --errors also lists every miss.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.hpp"
#include "core/text.hpp"
#include "routing/classifier.hpp"
#include "routing/settings.hpp"

using namespace meldestelle;

namespace {

struct Counts {
  int labelled = 0;   // reports whose expected category is this one
  int predicted = 0;  // reports the classifier put here
  int correct = 0;
};

double Ratio(int a, int b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "config/example/meldestelle.yaml";
  std::string data_path = "tests/data/classifier_reports.jsonl";
  bool errors = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--data" && i + 1 < argc) {
      data_path = argv[++i];
    } else if (a == "--errors") {
      errors = true;
    } else {
      std::cerr << "usage: classifier_eval [--config FILE] [--data FILE.jsonl] [--errors]\n";
      return 2;
    }
  }
  auto config = LoadConfig(config_path, routing::Sections(), /*ignore_other_keys=*/true);
  if (!config) {
    std::cerr << config.error().message;
    return 2;
  }
  std::ifstream in(data_path);
  if (!in) {
    std::cerr << data_path << ": cannot be read\n";
    return 2;
  }
  routing::Classifier classifier(*config);
  std::map<std::string, Counts> counts;
  for (const auto& c : config->categories) {
    counts[c.code];
  }
  int total = 0;
  int correct = 0;
  int unsure = 0;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) {
      continue;
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("text") || !j.contains("category")) {
      std::cerr << data_path << ":" << line_no << ": expected {\"text\", \"category\"}\n";
      return 2;
    }
    std::string text = j["text"];
    std::string expected = j["category"];
    auto result = classifier.Classify(routing::SplitAndStem(FoldGerman(text)));
    ++total;
    ++counts[expected].labelled;
    if (result.category.empty()) {
      ++unsure;
    } else {
      ++counts[result.category].predicted;
    }
    if (result.category == expected) {
      ++correct;
      ++counts[expected].correct;
    } else if (errors) {
      std::printf("miss %s -> %s (%.2f): %s\n", expected.c_str(),
                  result.category.empty() ? "unsure" : result.category.c_str(), result.confidence,
                  text.c_str());
    }
  }
  std::printf("| category | reports | predicted | correct | precision | recall |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& [code, c] : counts) {
    std::printf("| %s | %d | %d | %d | %.2f | %.2f |\n", code.c_str(), c.labelled, c.predicted,
                c.correct, Ratio(c.correct, c.predicted), Ratio(c.correct, c.labelled));
  }
  std::printf("\nreports: %d, correct: %d, unsure (no category): %d, wrong category: %d\n", total,
              correct, unsure, total - correct - unsure);
  std::printf("accuracy: %.3f\n", Ratio(correct, total));
  return 0;
}
