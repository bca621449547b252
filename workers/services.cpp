#include "workers/services.hpp"

#include "workers/admit.hpp"

namespace meldestelle::workers {

std::unique_ptr<channels::Admission> Services::NewAdmission() {
  return std::make_unique<Admitter>(config_, rules_, registry_, gazetteer_);
}

}  // namespace meldestelle::workers
