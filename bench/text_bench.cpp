// The text paths of a mail with hostile content (issue 14, point 4): MIME parsing, HTML to text,
// history and signature stripping (email::ParseMail) and place finding (routing::FindPlace) on
// the inputs that used to take super-linear time. Prints the seconds per mail for each case; the
// target is under one second each. Not a test: bench/text_paths runs it.
//
//   text_bench [--streets N] [--runs N] [--only CASE-SUBSTRING]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "channels/email/mail.hpp"
#include "routing/gazetteer.hpp"

namespace {

using namespace meldestelle;
using Clock = std::chrono::steady_clock;

std::string Mail(const std::string& content_type, const std::string& body) {
  return "From: Anna Beispiel <anna@example.org>\r\nTo: maengel@musterstadt.example\r\n"
         "Subject: Schlagloch\r\nDate: Thu, 03 Dec 2026 10:00:00 +0100\r\n"
         "Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: " +
         content_type + "\r\n\r\n" + body;
}

// A gazetteer the size of a real town's street list: `n` streets with made-up German names.
std::string StreetsYaml(int n) {
  // 24 distinct syllables: three of them make 13,824 distinct names.
  static const char* syllables[] = {"lin", "dor", "ah",  "bir", "ken", "ei",  "ul",  "mer",
                                    "er",  "bu",  "tan", "kas", "wei", "ro",  "mü",  "fal",
                                    "gu",  "hol", "ip",  "jor", "lu",  "nat", "pes", "sa"};
  static const char* kinds[] = {"straße", "weg", "allee", "gasse", "ring", "platz"};
  std::string y = "streets:\n";
  for (int i = 0; i < n; ++i) {
    std::string name;
    int v = i;
    for (int k = 0; k < 3; ++k) {
      name += syllables[v % 24];
      v /= 24;
    }
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    name += kinds[i % 6];
    y += "  - {name: \"" + name + "\", lat: 50.9" + std::to_string(1000 + i % 9000) + ", lon: 6.9" +
         std::to_string(1000 + (i * 7) % 9000) + "}\n";
  }
  y += "  - {name: \"Hauptstraße\", lat: 50.9375, lon: 6.9603}\n";
  return y;
}

struct Case {
  std::string name;
  std::string raw;  // the mail as it arrives
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  // 25 MB of <title></title> in an HTML mail: HtmlToText used to copy and lower-case the rest of
  // the document for every <title>.
  std::string html = "<html><body>";
  const std::string title = "<title></title>";
  html.reserve(25'000'000);
  while (html.size() < 25'000'000 - 64)
    html += title;
  html += "Schlagloch vor Hauptstraße 5</body></html>";
  cases.push_back({"html_25MB_of_title_tags", Mail("text/html; charset=utf-8", html)});
  // A body of "Hauptstraße " repeated: a candidate for every word, compared with every other.
  std::string streets;
  while (streets.size() < 1'000'000)
    streets += "Hauptstraße ";
  cases.push_back({"text_1MB_of_Hauptstrasse", Mail("text/plain; charset=utf-8", streets)});
  // Near-misses of street names (fuzzy matching against every street).
  std::string typos;
  while (typos.size() < 1'000'000)
    typos += "Lindenahornstrase Birkeneichenweeg Hauptstrase ";
  cases.push_back({"text_1MB_of_typos", Mail("text/plain; charset=utf-8", typos)});
  // Multiparts nested 2,000 deep (GMime bounds the depth; we take what is within max_depth).
  std::string nested;
  for (int i = 0; i < 2000; ++i)
    nested += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
              std::to_string(i + 1) + "\r\n\r\n";
  nested += "--b2000\r\nContent-Type: text/plain\r\n\r\nSchlagloch Hauptstraße 5\r\n--b2000--\r\n";
  cases.push_back({"mime_nested_2000_deep", Mail("multipart/mixed; boundary=b0", nested)});
  // Many small HTML elements with unclosed <script>: the skip must not rescan.
  std::string scripts;
  while (scripts.size() < 5'000'000)
    scripts += "<p>a</p><style>x</style><SCRIPT>y</SCRIPT><head></head>";
  cases.push_back({"html_5MB_of_script_style", Mail("text/html; charset=utf-8", scripts)});
  return cases;
}

}  // namespace

int main(int argc, char** argv) {
  int streets = 1500;
  int runs = 3;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--streets" && i + 1 < argc) {
      streets = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::cerr << "usage: text_bench [--streets N] [--runs N] [--only CASE-SUBSTRING]\n";
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  auto gazetteer = routing::ParseGazetteer(StreetsYaml(streets), "bench-streets.yaml");
  if (!gazetteer) {
    std::cerr << gazetteer.error().message << "\n";
    return 2;
  }
  std::cout << "streets: " << gazetteer->streets.size() << "\n";
  double worst = 0;
  for (const auto& c : Cases()) {
    if (!only.empty() && c.name.find(only) == std::string::npos)
      continue;
    double best = 1e9;
    std::string outcome;
    for (int r = 0; r < runs; ++r) {
      auto t0 = Clock::now();
      auto mail = email::ParseMail(c.raw, email::Limits{});
      std::optional<routing::PlaceMatch> place;
      if (mail)
        place = routing::FindPlace(*gazetteer, mail->text);
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      best = std::min(best, s);
      outcome = !mail ? "refused: " + mail.error().message
                      : "text " + std::to_string(mail->text.size()) + " bytes, place " +
                            (place ? place->street + " " + place->house_number : "none");
    }
    worst = std::max(worst, best);
    std::cout << c.name << "_mb: " << c.raw.size() / 1e6 << "\n"
              << c.name << "_seconds: " << best << "   (" << outcome << ")\n";
  }
  std::cout << "worst_seconds_per_mail: " << worst << "\n"
            << "each_under_1s: " << (worst < 1.0 ? "yes" : "no") << "\n";
  return 0;
}
