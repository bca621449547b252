#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"
#include "routing/german.hpp"

// The automatic category (docs/routing.md, "Automatic category"): weighted keywords and phrases
// per category from the configuration, matched with the rule keywords' German normalisation.
namespace meldestelle::routing {

// One category's score for a text.
struct CategoryScore {
  std::string category;
  double score = 0;
  std::vector<std::string> keywords;  // found, as written in the configuration
};

struct Classification {
  std::string category;            // the inferred code; empty when unsure or nothing was found
  double confidence = 0;           // best score / sum of all scores; 0 when nothing was found
  std::vector<CategoryScore> top;  // at most 3 categories with a score > 0, best first
};

// Built once from the configuration; immutable and thread-safe afterwards.
class Classifier {
 public:
  static constexpr size_t kTop = 3;

  Classifier() = default;
  explicit Classifier(const Config& config);

  // False if no category has keywords: then reports without a category stay without one and
  // are not flagged.
  bool enabled() const { return !entries_.empty(); }

  // Scores every category: the sum of the weights of its distinct keywords that occur in the
  // text. The best category is chosen if its score is at least min_score, its share of the sum
  // of all scores (the confidence) at least min_confidence, and no other category ties with it.
  Classification Classify(const Words& text) const;

 private:
  struct Entry {
    Keyword keyword;
    double weight = 1;
    size_t category = 0;  // index into codes_
  };
  std::vector<std::string> codes_;
  std::vector<Entry> entries_;
  double min_score_ = 1.0;
  double min_confidence_ = 0.5;
};

}  // namespace meldestelle::routing
