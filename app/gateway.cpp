// `meldestelle gateway`: the HTTP front.
#include <filesystem>
#include <iostream>

#include "app/command.hpp"
#include "channels/builtin.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "gateway/server.hpp"

namespace meldestelle::app {

namespace {

const char* kGatewayHelp = R"(Usage: meldestelle gateway [--config FILE]

Serves the web form (GET /), the report API (POST /api/v1/reports), the public status
(GET /api/v1/reports/REFERENCE), /healthz, /readyz and /metrics on gateway.listen:gateway.port
(MELDESTELLE_HTTP_PORT in the example config). A report is answered 2xx only after the broker
confirmed it; without a broker the answer is 503 with Retry-After. Stops on SIGINT or SIGTERM.
)";

}  // namespace

int RunGateway(const Args& args) {
  if (args.help) {
    std::cout << kGatewayHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kGatewayHelp, "gateway"))
    return kExitUsage;
  log::SetComponent("gateway");
  SignalWaiter signals;
  auto cfg = LoadOrReport(args);
  if (!cfg)
    return kExitUsage;
  if (!SchemaIsCurrent(*cfg, "gateway"))
    return kExitFailure;
  // The photos' folder, there from the start: the command line's privacy commands refuse one
  // that does not exist (they would look in the wrong place), before the first photo too.
  if (std::error_code ec; !std::filesystem::create_directories(cfg->storage.media_dir, ec) && ec)
    log::Warn("the media folder cannot be created: photos cannot be stored",
              {{"folder", cfg->storage.media_dir.string()}, {"error", ec.message()}});
  metrics::Registry registry;
  channels::Registry channels = channels::BuiltinChannels();
  gateway::Gateway gw(*cfg, channels, registry);
  auto port = gw.Start();
  if (!port) {
    std::cerr << "meldestelle gateway: " << port.error().message << "\n";
    return port.error().code == errors::kConfigInvalid ? kExitUsage : kExitFailure;
  }
  log::Info("gateway listening",
            {{"address", cfg->gateway.listen + ":" + std::to_string(*port)},
             {"form", "http://" + cfg->gateway.listen + ":" + std::to_string(*port) + "/"}});
  signals.Wait();
  gw.Stop();
  return kExitOk;
}

}  // namespace meldestelle::app
