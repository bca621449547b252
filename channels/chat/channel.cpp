#include "channels/chat/channel.hpp"

#include "channels/chat/batch.hpp"
#include "channels/chat/drafts.hpp"
#include "channels/chat/intake.hpp"
#include "channels/chat/settings.hpp"
#include "core/errors.hpp"

namespace meldestelle::chat {

namespace {

class BatchHandler final : public channels::Handler {
 public:
  BatchHandler(channels::WorkerServices& services, const MediaFetchers& fetchers)
      : media_(services.config(), fetchers),
        intake_(services.config(), media_, services.metrics()) {}

  Status Handle(const channels::Delivery& d) override {
    auto batch = DecodeBatch(d.body);
    if (!batch)
      return MakeError(errors::kMessageInvalid, "unparseable: " + batch.error().message);
    return intake_.Process(*batch, d.last_attempt);
  }

 private:
  ProviderMedia media_;
  ChatIntake intake_;
};

}  // namespace

channels::Channel Drafts(MediaFetchers fetchers) {
  channels::Channel c;
  c.name = "chat";
  c.display_name = "Chat";
  channels::MessageType batch;
  batch.name = std::string(kBatchType);
  batch.handler = [fetchers](channels::WorkerServices& s) {
    return std::make_unique<BatchHandler>(s, fetchers);
  };
  batch.claims_untyped = IsBatch;
  c.message_types.push_back(std::move(batch));
  c.jobs.push_back(
      {"chat drafts", [](channels::WorkerServices& s) -> std::unique_ptr<channels::Job> {
         return std::make_unique<DraftCloser>(s.config(), s.NewAdmission(), s.gazetteer(),
                                              s.metrics());
       }});
  c.config_sections = Sections();
  return c;
}

}  // namespace meldestelle::chat
