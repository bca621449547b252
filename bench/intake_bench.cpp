// The app API's report, its own work per request, warm and on one thread (issue 17, point 5): the
// steps of POST /api/v1/reports between the body read and the publish, on bench/reports.lua's
// body, each timed over many reports. Prints the median of several runs per step.
//
// bench/run measures the same work inside the gateway, where it runs cold (64 request threads
// taking turns on two cores, each with its own stack and caches to fill): the two together say
// how much of the gateway's cost beyond its floor is instructions and how much is the memory they
// touch (docs/benchmarks.md, "Tenth round").
//   build/bench/intake_bench [--reports N] [--runs N]      (run from the source directory)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "channels/builtin.hpp"
#include "channels/webform/intake.hpp"
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/envelope.hpp"
#include "core/log.hpp"
#include "workers/settings.hpp"

using namespace meldestelle;

namespace {

// bench/reports.lua's body, byte for byte: 950 bytes of German text cut at a blank.
std::string ReportBody() {
  const std::string text =
      "Auf der Hauptstraße vor Hausnummer 12 ist ein tiefes Schlagloch in der Fahrbahn, "
      "etwa einen halben Meter breit. Radfahrer müssen auf die Gegenfahrbahn ausweichen, "
      "bei Regen ist es kaum zu sehen. Bitte schnell beheben, es ist gefährlich! ";
  std::string description;
  for (int i = 0; i < 5; ++i)
    description += text;
  description.resize(950);
  description.resize(description.rfind(' '));
  return "{\"description\": \"" + description +
         "\", \"lat\": 50.94, \"lon\": 6.96, \"category\": \"STR-01\"}";
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reports = 100000;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--reports" || arg == "--runs") && i + 1 < argc) {
      int n = std::atoi(argv[++i]);
      if (n <= 0) {
        std::fprintf(stderr, "intake_bench: %s takes a positive number\n", arg.c_str());
        return 2;
      }
      (arg == "--reports" ? reports : runs) = n;
    } else {
      std::fprintf(arg == "--help" || arg == "-h" ? stdout : stderr,
                   "usage: intake_bench [--reports N] [--runs N]\n"
                   "The app API's report (bench/reports.lua's body) through the gateway's own\n"
                   "steps, on one thread: FromJson, Validate, EncodeEnvelope (with a new id),\n"
                   "the log line. Prints the median of RUNS runs of N reports (100000, 5), in\n"
                   "nanoseconds a report. Run from the source directory (it reads\n"
                   "config/example/meldestelle.yaml).\n");
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  auto config = LoadConfig("config/example/meldestelle.yaml",
                           workers::AllSections(channels::BuiltinChannels()));
  if (!config) {
    std::fprintf(stderr, "intake_bench: %s\n", config.error().message.c_str());
    return 1;
  }
  const std::string body = ReportBody();
  const webform::Limits limits;
  enum { kJson, kValidate, kEnvelope, kLine, kSteps };
  const char* names[kSteps] = {"FromJson", "Validate", "EncodeEnvelope", "log::Line"};
  std::vector<double> per_step[kSteps];
  std::vector<double> totals;
  size_t sink = 0;  // so that nothing is optimised away
  using Clock = std::chrono::steady_clock;
  for (int run = 0; run < runs; ++run) {
    Clock::duration spent[kSteps] = {};
    for (int i = 0; i < reports; ++i) {
      auto t0 = Clock::now();
      auto submission = webform::FromJson(body);
      auto t1 = Clock::now();
      webform::Validation v = webform::Validate(*submission, limits, *config);
      auto t2 = Clock::now();
      if (!v.intake) {
        std::fprintf(stderr, "intake_bench: the report was refused: %s\n",
                     v.errors.front().message.c_str());
        return 1;
      }
      Report& r = v.intake->report;
      r.id = NewUuid();
      r.reference = "M-2026-000042";
      r.channel = "app";
      r.channel_message_id = r.id;
      r.received_at = "2026-12-06T10:00:00.000Z";
      std::string envelope =
          EncodeEnvelope(r, {"application/json", body}, "", v.intake->text_in_raw);
      auto t3 = Clock::now();
      std::string line =
          log::Line(log::Level::kInfo, "report accepted",
                    {{"reference", r.reference}, {"channel", "app"}, {"photos", "0"}});
      auto t4 = Clock::now();
      sink += envelope.size() + line.size();
      spent[kJson] += t1 - t0;
      spent[kValidate] += t2 - t1;
      spent[kEnvelope] += t3 - t2;
      spent[kLine] += t4 - t3;
    }
    double total = 0;
    for (int s = 0; s < kSteps; ++s) {
      double ns = std::chrono::duration<double, std::nano>(spent[s]).count() / reports;
      per_step[s].push_back(ns);
      total += ns;
    }
    totals.push_back(total);
    std::fprintf(stderr, "run %d of %d: %.0f ns a report\n", run + 1, runs, total);
  }
  std::printf("reports_per_run: %d\nruns: %d\n", reports, runs);
  for (int s = 0; s < kSteps; ++s)
    std::printf("%s_ns: %.0f\n", names[s], Median(per_step[s]));
  std::printf("total_ns: %.0f (median of the runs' sums)\n", Median(totals));
  return sink == 0 ? 1 : 0;
}
