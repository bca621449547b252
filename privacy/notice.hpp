#pragma once

// The full privacy notice (Art. 13 GDPR) behind GET /datenschutz, built from the configuration:
// the controller, the data protection officer, purposes and legal basis, what is stored and for
// how long (the periods as configured), who receives it, the processors of the channels that are
// switched on, and the citizen's rights. German and English; every text can be replaced in
// `privacy.texts`. Pure.
#include <string>
#include <vector>

#include "core/config.hpp"

namespace meldestelle::privacy {

struct NoticeSection {
  std::string heading;
  std::vector<std::string> paragraphs;
  std::vector<std::string> items;  // a list after the paragraphs
};

struct Notice {
  std::string language;  // "de" or "en"
  std::string title;
  std::vector<NoticeSection> sections;
};

// `channels`: the names of the channels that are switched on ("webform", "whatsapp", …).
// `recording_days`: phone.recording_retention_days. `map_tiles_host`: the host the status page's
// map loads its tiles from (webform.map.tile_url), "" when the map is off.
// `voice_notes_transcribed`: chat.stt_url is set (the text key "voice" is shown with a
// messenger).
Notice BuildNotice(const Config& config, const std::vector<std::string>& channels,
                   int recording_days, const std::string& language,
                   const std::string& map_tiles_host = "", bool voice_notes_transcribed = false);

// The keys of privacy.texts.<language> (docs/datenschutz.md).
const std::vector<std::string>& NoticeTextKeys();

}  // namespace meldestelle::privacy
