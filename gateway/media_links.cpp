// GET /media/{sha256}?e={expiry}&s={signature}: a photo linked from a department's mail because
// it was too large to attach (docs/departments.md, "Delivery"). The link is signed with the link
// secret (core/links) for 30 days; without a valid, unexpired signature nothing is revealed, not
// even whether the photo exists.
#include <httplib.h>

#include <cctype>
#include <ctime>
#include <optional>
#include <string>

#include "channels/http.hpp"
#include "core/errors.hpp"
#include "core/links.hpp"
#include "core/media.hpp"
#include "gateway/server.hpp"

namespace meldestelle::gateway {

using channels::NowMillis;
using channels::SendError;

namespace {

// A non-negative decimal of at most 18 digits, else nullopt.
std::optional<int64_t> ParseExpiry(const std::string& s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

void Gateway::HandleMediaLink(const httplib::Request& req, httplib::Response& res) {
  const std::string sha256 = req.matches[1];
  auto expiry = ParseExpiry(req.get_param_value("e"));
  const std::string signature = req.get_param_value("s");
  // Links always expire; "e=0" (never) is not accepted here.
  if (!expiry || *expiry == 0 ||
      !VerifyLinkOrLegacy(config_, KeyPurpose::kMediaLinks, "media", sha256, *expiry, signature,
                          static_cast<int64_t>(std::time(nullptr)))) {
    SendError(res, 403, errors::kLinkInvalid,
              "Der Link ist ungültig oder abgelaufen. Bitte öffnen Sie die Meldung im "
              "Posteingang der Meldestelle.");
    return;
  }
  auto bytes = blobs_.Get(sha256);
  if (!bytes) {
    SendError(res, 404, errors::kNotFound, "Das Foto ist nicht mehr gespeichert.");
    return;
  }
  std::string type = SniffMediaType(*bytes);
  res.set_header("Cache-Control", "private, max-age=3600");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Content-Disposition", "inline");
  res.set_content(std::move(bytes).value(), type.empty() ? "application/octet-stream" : type);
}

}  // namespace meldestelle::gateway
