#include "routing/classifier.hpp"

#include <algorithm>
#include <map>

#include "routing/settings.hpp"

namespace meldestelle::routing {

Classifier::Classifier(const Config& config)
    : min_score_(config.Get<ClassifierSettings>().min_score),
      min_confidence_(config.Get<ClassifierSettings>().min_confidence) {
  for (const auto& cat : config.categories) {
    size_t index = codes_.size();
    codes_.push_back(cat.code);
    // Keywords with the same normalised form ("ampel", "Ampeln") count once, with the highest
    // weight: the score is about evidence, not about how often the operator listed a word.
    std::map<std::vector<std::string>, size_t> seen;
    for (const auto& kw : cat.keywords) {
      Keyword k = PrepareKeyword(kw.text);
      if (k.words.words.empty()) {
        continue;
      }
      auto [it, fresh] = seen.emplace(k.words.stems, entries_.size());
      if (!fresh) {
        Entry& e = entries_[it->second];
        e.weight = std::max(e.weight, kw.weight);
        continue;
      }
      entries_.push_back({std::move(k), kw.weight, index});
    }
  }
}

Classification Classifier::Classify(const Words& text) const {
  Classification out;
  if (text.words.empty()) {
    return out;
  }
  std::vector<CategoryScore> scores(codes_.size());
  for (const auto& e : entries_) {
    if (ContainsPhrase(text, e.keyword.words)) {
      CategoryScore& s = scores[e.category];
      s.score += e.weight;
      s.keywords.push_back(e.keyword.written);
    }
  }
  double total = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i].category = codes_[i];
    total += scores[i].score;
  }
  if (total <= 0) {
    return out;
  }
  // Stable: among equal scores the configuration's order decides the listing (not the choice).
  std::stable_sort(
      scores.begin(), scores.end(),
      [](const CategoryScore& a, const CategoryScore& b) { return a.score > b.score; });
  for (size_t i = 0; i < scores.size() && i < kTop && scores[i].score > 0; ++i) {
    out.top.push_back(std::move(scores[i]));
  }
  const double best = out.top[0].score;
  out.confidence = best / total;
  bool tie = out.top.size() > 1 && out.top[1].score >= best;
  if (best >= min_score_ && out.confidence >= min_confidence_ && !tie) {
    out.category = out.top[0].category;
  }
  return out;
}

}  // namespace meldestelle::routing
