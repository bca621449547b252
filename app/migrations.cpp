#include "app/migrations.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>
#include <thread>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/sql.hpp"

namespace meldestelle::app {

namespace {

constexpr const char* kInitial = R"SQL(
CREATE TABLE tickets (
  id                 uuid PRIMARY KEY,
  reference          text NOT NULL UNIQUE,
  channel            text NOT NULL,
  channel_message_id text NOT NULL,
  received_at        timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  status             text NOT NULL DEFAULT 'assigned'
                     CHECK (status IN ('assigned', 'accepted', 'in_progress', 'done', 'rejected')),
  department_id      text NOT NULL,
  department_name    text NOT NULL,
  category           text,
  rule_id            text,
  ruleset_version    text NOT NULL,
  text               text NOT NULL,
  lat                double precision,
  lon                double precision,
  accuracy_m         double precision,
  location_source    text NOT NULL,
  address            text NOT NULL DEFAULT '',
  reporter           jsonb NOT NULL,
  report             jsonb NOT NULL,
  raw_ref            text,
  UNIQUE (channel, channel_message_id)
);
CREATE INDEX tickets_department_status ON tickets (department_id, status);
CREATE INDEX tickets_received_at ON tickets (received_at);

CREATE TABLE attachments (
  ticket_id  uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  position   int NOT NULL,
  sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  media_type text NOT NULL,
  size       bigint NOT NULL,
  filename   text NOT NULL DEFAULT '',
  PRIMARY KEY (ticket_id, position)
);
CREATE INDEX attachments_sha256 ON attachments (sha256);

CREATE TABLE raw_payloads (
  sha256       text PRIMARY KEY,
  content_type text NOT NULL,
  body         bytea NOT NULL,
  stored_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  ticket_id       uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  kind            text NOT NULL,
  channel         text NOT NULL,
  address         text NOT NULL DEFAULT '',
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'failed', 'done')),
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (ticket_id, kind)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE intake_keys (
  channel      text NOT NULL,
  key          text NOT NULL,
  reference    text NOT NULL UNIQUE,
  report_id    uuid NOT NULL,
  request_hash text NOT NULL,
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'confirmed')),
  envelope     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, key)
);
)SQL";

// Every ticket records why it went where it went (routing::DecisionToJson).
constexpr const char* kRoutingExplanation = R"SQL(
ALTER TABLE tickets ADD COLUMN routing_explanation jsonb;
)SQL";

// Every rule set that was taken live or refused (hot reload, promote, rollback), and by whom.
constexpr const char* kRulesetSwaps = R"SQL(
CREATE TABLE ruleset_swaps (
  id               bigserial PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  rule_set         text NOT NULL DEFAULT 'live' CHECK (rule_set IN ('live', 'shadow')),
  version          text NOT NULL,
  previous_version text,
  source           text NOT NULL
                   CHECK (source IN ('sighup', 'file_change', 'promote', 'rollback', 'startup')),
  worker           text NOT NULL,
  accepted         boolean NOT NULL,
  error            text
);
CREATE INDEX ruleset_swaps_at ON ruleset_swaps (at);
)SQL";

// Shadow mode: reports the candidate rule set would have routed elsewhere. Written in the
// ticket's transaction.
constexpr const char* kShadowDisagreements = R"SQL(
CREATE TABLE shadow_disagreements (
  id                   bigserial PRIMARY KEY,
  ticket_id            uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  reference            text NOT NULL,
  live_version         text NOT NULL,
  live_department      text NOT NULL,
  live_rule            text,
  candidate_version    text NOT NULL,
  candidate_department text NOT NULL,
  candidate_rule       text,
  at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shadow_disagreements_at ON shadow_disagreements (at);
)SQL";

// Duplicate linking (docs/duplicates.md). A duplicate keeps its own row (its reference and its
// own routing stay valid, for unlinking) with status 'duplicate' and `duplicate_of` the open
// ticket it was linked to; `ticket_reporters` lists the further reporters of a ticket (their
// contact is in their own row). `routed_category` is the category routing used (the citizen's or
// the classifier's), the key the search for an open ticket uses. The status CHECK was created
// inline in migration 1, so PostgreSQL named it tickets_status_check.
constexpr const char* kDuplicates = R"SQL(
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
  CHECK (status IN ('assigned', 'accepted', 'in_progress', 'done', 'rejected', 'duplicate'));
ALTER TABLE tickets ADD COLUMN duplicate_of uuid REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN routed_category text;
ALTER TABLE tickets ADD CONSTRAINT tickets_duplicate_status
  CHECK ((status = 'duplicate') = (duplicate_of IS NOT NULL));
UPDATE tickets SET routed_category = COALESCE(category, NULLIF(routing_explanation->>'category', ''));
CREATE INDEX tickets_open_by_category ON tickets (routed_category, lat, lon)
  WHERE status NOT IN ('done', 'rejected', 'duplicate') AND lat IS NOT NULL;
CREATE INDEX tickets_duplicate_of ON tickets (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE ticket_reporters (
  ticket_id          uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  reporter_ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  distance_m         double precision NOT NULL,
  linked_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ticket_id, reporter_ticket_id)
);
CREATE INDEX ticket_reporters_reporter ON ticket_reporters (reporter_ticket_id);

CREATE TABLE duplicate_unlinks (
  id                 bigserial PRIMARY KEY,
  ticket_id          uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  was_duplicate_of   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  at                 timestamptz NOT NULL DEFAULT now(),
  by                 text NOT NULL
);
)SQL";

// Messenger channels (docs/channels/whatsapp.md): provider events remembered for deduplication,
// per-sender drafts that merge several messages into one report, follow-ups to tickets, and the
// outbox grown into a delivery log for chat replies (provider message id, delivery state).
constexpr const char* kChat = R"SQL(
CREATE TABLE chat_events (
  channel     text NOT NULL,
  dedupe_key  text NOT NULL,
  sender      text NOT NULL DEFAULT '',
  outcome     text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, dedupe_key)
);
CREATE INDEX chat_events_sender ON chat_events (channel, sender, received_at);
CREATE INDEX chat_events_received ON chat_events (received_at);

CREATE TABLE chat_contacts (
  channel         text NOT NULL,
  address         text NOT NULL,
  account         text NOT NULL DEFAULT '',
  name            text NOT NULL DEFAULT '',
  language        text NOT NULL DEFAULT 'de',
  last_inbound_at timestamptz NOT NULL,
  PRIMARY KEY (channel, address)
);

CREATE TABLE chat_drafts (
  id              bigserial PRIMARY KEY,
  channel         text NOT NULL,
  sender          text NOT NULL,
  report_id       uuid NOT NULL UNIQUE,
  reference       text NOT NULL UNIQUE,
  state           text NOT NULL DEFAULT 'open'
                  CHECK (state IN ('open', 'asked_location', 'published')),
  first_message_id text NOT NULL,
  opened_at       timestamptz NOT NULL DEFAULT now(),
  last_message_at timestamptz NOT NULL DEFAULT now(),
  deadline        timestamptz NOT NULL,
  ticket_id       uuid REFERENCES tickets (id),
  published_at    timestamptz
);
CREATE UNIQUE INDEX chat_drafts_one_open ON chat_drafts (channel, sender) WHERE state <> 'published';
CREATE INDEX chat_drafts_due ON chat_drafts (deadline) WHERE state <> 'published';

CREATE TABLE chat_draft_items (
  draft_id    bigint NOT NULL REFERENCES chat_drafts (id) ON DELETE CASCADE,
  message_id  text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('text', 'photo', 'location', 'audio', 'document')),
  text        text NOT NULL DEFAULT '',
  lat         double precision,
  lon         double precision,
  accuracy_m  double precision,
  place       text NOT NULL DEFAULT '',
  sha256      text,
  media_type  text,
  size        bigint,
  filename    text NOT NULL DEFAULT '',
  photo_lat   double precision,
  photo_lon   double precision,
  received_at timestamptz NOT NULL DEFAULT now(),
  edited_at   timestamptz,
  PRIMARY KEY (draft_id, message_id, kind)
);

CREATE TABLE ticket_followups (
  id          bigserial PRIMARY KEY,
  ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  channel     text NOT NULL,
  message_id  text NOT NULL,
  text        text NOT NULL DEFAULT '',
  attachments jsonb NOT NULL DEFAULT '[]',
  lat         double precision,
  lon         double precision,
  at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, message_id)
);

ALTER TABLE outbox ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN dedupe_key text UNIQUE;
ALTER TABLE outbox ADD COLUMN provider_message_id text;
ALTER TABLE outbox ADD COLUMN delivery_state text;
ALTER TABLE outbox ADD COLUMN last_error text;
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE outbox ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'done'));
CREATE INDEX outbox_provider_message ON outbox (channel, provider_message_id)
  WHERE provider_message_id IS NOT NULL;
)SQL";

// Phone calls (docs/channels/phone.md): the events of one call joined by its call id.
constexpr const char* kPhone = R"SQL(
CREATE TABLE phone_calls (
  call_id              text PRIMARY KEY,
  caller               text NOT NULL DEFAULT '',
  called               text NOT NULL DEFAULT '',
  language             text NOT NULL DEFAULT 'de',
  reference            text UNIQUE,
  report_id            uuid UNIQUE,
  state                text NOT NULL DEFAULT 'open'
                       CHECK (state IN ('open', 'recorded', 'published')),
  recording_sid        text NOT NULL DEFAULT '',
  recording_url        text NOT NULL DEFAULT '',
  recording_status     text NOT NULL DEFAULT '',
  recording_duration_s int NOT NULL DEFAULT 0,
  recording_sha256     text,
  recording_type       text,
  recording_size       bigint,
  recording_deleted_at timestamptz,
  transcript           text,
  transcript_source    text,
  wants_sms            boolean NOT NULL DEFAULT false,
  attempts             int NOT NULL DEFAULT 0,
  deadline             timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  recorded_at          timestamptz,
  ticket_id            uuid REFERENCES tickets (id),
  published_at         timestamptz
);
CREATE INDEX phone_calls_due ON phone_calls (deadline) WHERE state = 'recorded';
CREATE INDEX phone_calls_retention ON phone_calls (recorded_at)
  WHERE recording_sha256 IS NOT NULL AND recording_deleted_at IS NULL;
)SQL";

// Delivery receipts that overtook the provider's answer to our send (outbox/outbox.hpp,
// ApplyReceipt).
constexpr const char* kStatusBacklog = R"SQL(
CREATE TABLE chat_status_backlog (
  id                  bigserial PRIMARY KEY,
  channel             text NOT NULL,
  provider_message_id text NOT NULL,
  status              text NOT NULL,
  error_code          int NOT NULL DEFAULT 0,
  error_title         text NOT NULL DEFAULT '',
  received_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_status_backlog_id ON chat_status_backlog (channel, provider_message_id);
)SQL";

// Departments and the closed loop (docs/departments.md, docs/api.md): the ticket's life after
// routing — accepted, handed back, in progress, done, rejected — with its history, the staff API's
// tokens (only a SHA-256 of each secret is kept), the outcome of every delivery attempt, and the
// citizens who asked not to hear from us again. The outbox now holds several rows of one kind per
// ticket (status notifications, deliveries), deduplicated by dedupe_key; ack and forward stay one.
constexpr const char* kDepartments = R"SQL(
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
  CHECK (status IN ('assigned', 'handed_back', 'accepted', 'in_progress', 'done', 'rejected',
                    'duplicate'));
ALTER TABLE tickets ADD COLUMN assigned_at timestamptz;
UPDATE tickets SET assigned_at = created_at;
ALTER TABLE tickets ALTER COLUMN assigned_at SET DEFAULT now();
ALTER TABLE tickets ALTER COLUMN assigned_at SET NOT NULL;
ALTER TABLE tickets ADD COLUMN accepted_at timestamptz;
ALTER TABLE tickets ADD COLUMN closed_at timestamptz;
ALTER TABLE tickets ADD COLUMN public_note text NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN excluded_departments text[] NOT NULL DEFAULT '{}';
ALTER TABLE tickets ADD COLUMN escalation_level int NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN first_rule_id text;
ALTER TABLE tickets ADD COLUMN first_department_id text;
UPDATE tickets SET first_rule_id = rule_id, first_department_id = department_id;
CREATE INDEX tickets_awaiting_acceptance ON tickets (assigned_at) WHERE status = 'assigned';
CREATE INDEX tickets_handed_back ON tickets (updated_at) WHERE status = 'handed_back';

CREATE TABLE ticket_history (
  id              bigserial PRIMARY KEY,
  ticket_id       uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  at              timestamptz NOT NULL DEFAULT now(),
  actor           text NOT NULL,
  actor_department text,
  action          text NOT NULL
                  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status',
                                    'note', 'duplicate', 'reminder', 'escalated', 'delivery_failed',
                                    'delivery_fallback')),
  from_status     text,
  to_status       text,
  from_department text,
  to_department   text,
  public_note     text NOT NULL DEFAULT '',
  note            text NOT NULL DEFAULT '',
  details         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);
CREATE INDEX ticket_history_action_at ON ticket_history (action, at);

CREATE TABLE api_tokens (
  id            text PRIMARY KEY,
  secret_sha256 text NOT NULL UNIQUE CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
  role          text NOT NULL CHECK (role IN ('department', 'operator')),
  department_id text,
  label         text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  CHECK ((role = 'department') = (department_id IS NOT NULL))
);

CREATE TABLE outbox_attempts (
  outbox_id  bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
  attempt    int NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  outcome    text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
  detail     text NOT NULL DEFAULT '',
  PRIMARY KEY (outbox_id, attempt)
);

CREATE TABLE notification_optouts (
  channel text NOT NULL,
  address text NOT NULL,
  source  text NOT NULL,
  at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, address)
);

ALTER TABLE outbox DROP CONSTRAINT outbox_ticket_id_kind_key;
CREATE UNIQUE INDEX outbox_one_ack ON outbox (ticket_id, kind) WHERE kind IN ('ack', 'forward');
CREATE INDEX outbox_ticket ON outbox (ticket_id);
)SQL";

// Server-side inbox sessions: the cookie holds a random id, the table only its SHA-256.
constexpr const char* kStaffSessions = R"SQL(
CREATE TABLE staff_sessions (
  id_sha256  text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
  token_id   text NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_sessions_token ON staff_sessions (token_id);
)SQL";

// What notices to one address and SMS in all have cost lately (tickets/notice_limits).
constexpr const char* kNoticeLimits = R"SQL(
CREATE INDEX outbox_sent_to
  ON outbox (channel, lower(regexp_replace(address, '[\s()./-]', '', 'g')), sent_at)
  WHERE status = 'sent';
CREATE INDEX outbox_sent_on ON outbox (channel, sent_at) WHERE status = 'sent';
)SQL";

// A ticket that was done can be reopened by its citizen (an Open311 client's "still broken").
constexpr const char* kReopened = R"SQL(
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check
  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status', 'note',
                    'duplicate', 'reminder', 'escalated', 'delivery_failed',
                    'delivery_fallback', 'reopened'));
)SQL";

// Data protection (docs/datenschutz.md): when a ticket's personal data was anonymised (retention
// or erasure), who was shown a citizen's contact data, the erasures done (without the person:
// a keyed hash of the selector and counts), and the indexes the retention pass reads by.
constexpr const char* kPrivacy = R"SQL(
ALTER TABLE tickets ADD COLUMN anonymised_at timestamptz;
CREATE INDEX tickets_not_anonymised ON tickets (received_at) WHERE anonymised_at IS NULL;
CREATE INDEX raw_payloads_stored_at ON raw_payloads (stored_at);
CREATE INDEX intake_keys_created_at ON intake_keys (created_at);
CREATE INDEX outbox_updated_at ON outbox (updated_at);
CREATE INDEX ticket_followups_ticket ON ticket_followups (ticket_id);
CREATE INDEX phone_calls_ticket ON phone_calls (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX chat_drafts_ticket ON chat_drafts (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX chat_draft_items_sha256 ON chat_draft_items (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX ticket_followups_attachments ON ticket_followups USING gin (attachments jsonb_path_ops);

CREATE TABLE contact_views (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  ticket_id  uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  actor      text NOT NULL,
  actor_role text NOT NULL,
  surface    text NOT NULL CHECK (surface IN ('api', 'inbox'))
);
CREATE INDEX contact_views_ticket ON contact_views (ticket_id, at);
CREATE INDEX contact_views_at ON contact_views (at);

CREATE TABLE privacy_erasures (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  selector_kind text NOT NULL,
  selector_hmac text NOT NULL,
  counts        jsonb NOT NULL
);
)SQL";

// "Ist es behoben?" (docs/intake-api.md, "Is it fixed?"): the citizen's answer after a ticket was
// set done, one per closing, counted per department that closed it. `ticket_id` is the ticket
// that was closed; `answered_ticket_id` the citizen's own (a linked duplicate's reporter answers
// about the ticket their report joined): export, anonymising and erasure go by it.
constexpr const char* kFixAnswers = R"SQL(
CREATE TABLE fix_answers (
  id            bigserial PRIMARY KEY,
  ticket_id     uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  answered_ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  closed_at     timestamptz NOT NULL,
  department_id text NOT NULL,
  fixed         boolean NOT NULL,
  channel       text NOT NULL,
  note          text NOT NULL DEFAULT '',
  at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (ticket_id, closed_at)
);
CREATE INDEX fix_answers_at ON fix_answers (at);
CREATE INDEX fix_answers_answered ON fix_answers (answered_ticket_id);
)SQL";

// Voice notes in chats (docs/channels/whatsapp.md, "Voice notes"): what the speech-to-text
// service heard, kept with the recording's draft item; the draft's report text takes it.
constexpr const char* kVoiceNotes = R"SQL(
ALTER TABLE chat_draft_items ADD COLUMN transcript text NOT NULL DEFAULT '';
)SQL";

// The public map and list of reports (GET /meldungen, docs/intake-api.md): the text staff
// released for it (never the citizen's own words), when and by whom; the history records each
// release as 'published'.
constexpr const char* kPublicText = R"SQL(
ALTER TABLE tickets ADD COLUMN public_text text NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN public_text_at timestamptz;
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check
  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status', 'note',
                    'duplicate', 'reminder', 'escalated', 'delivery_failed',
                    'delivery_fallback', 'reopened', 'published'));
CREATE INDEX tickets_public ON tickets (received_at DESC)
  WHERE duplicate_of IS NULL AND status <> 'rejected';
)SQL";

// Migration 17: the history records what a citizen sent later ('followup'; the words stay in
// ticket_followups with their retention), and the department's delivery is told of it.
constexpr const char* kFollowupHistory = R"SQL(
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check
  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status', 'note',
                    'duplicate', 'reminder', 'escalated', 'delivery_failed',
                    'delivery_fallback', 'reopened', 'published', 'followup'));
)SQL";

// Migration 18: staff change a ticket's category ('recategorised'), operators and the triage
// department send it to a named department ('forwarded').
constexpr const char* kRecategoriseForward = R"SQL(
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check
  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status', 'note',
                    'duplicate', 'reminder', 'escalated', 'delivery_failed',
                    'delivery_fallback', 'reopened', 'published', 'followup',
                    'recategorised', 'forwarded'));
)SQL";

// Migration 19: staff ask the citizen back ("Rückfrage"): the ticket waits in status
// 'waiting_for_citizen' since waiting_since, coming from waiting_from_status; the time it waits
// is paused on the acceptance and done clocks (paused_seconds, of which paused_before_accept_
// seconds before the acceptance). History: 'question', 'answered', 'question_expired'.
constexpr const char* kQuestions = R"SQL(
ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_check
  CHECK (status IN ('assigned', 'handed_back', 'accepted', 'in_progress', 'done', 'rejected',
                    'duplicate', 'waiting_for_citizen'));
ALTER TABLE tickets ADD COLUMN waiting_since timestamptz;
ALTER TABLE tickets ADD COLUMN waiting_from_status text;
ALTER TABLE tickets ADD COLUMN paused_seconds double precision NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN paused_before_accept_seconds double precision NOT NULL DEFAULT 0;
CREATE INDEX tickets_waiting ON tickets (waiting_since) WHERE status = 'waiting_for_citizen';
ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check
  CHECK (action IN ('routed', 'accepted', 'handed_back', 'rerouted', 'status', 'note',
                    'duplicate', 'reminder', 'escalated', 'delivery_failed',
                    'delivery_fallback', 'reopened', 'published', 'followup',
                    'recategorised', 'forwarded', 'question', 'answered', 'question_expired'));
)SQL";

// Personal sign-in (tickets/staff_accounts.hpp): local accounts with an Argon2id hash; inbox
// sessions belong to a person now (department tokens are for the staff API only), so the
// token sessions of before end here.
constexpr const char* kStaffAccounts = R"SQL(
CREATE TABLE staff_accounts (
  username            text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
  display_name        text NOT NULL DEFAULT '',
  role                text NOT NULL CHECK (role IN ('staff', 'operator')),
  department_id       text,
  password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
  created_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  disabled_at         timestamptz,
  last_login_at       timestamptz,
  CHECK ((role = 'operator') = (department_id IS NULL))
);

DELETE FROM staff_sessions;
DROP INDEX staff_sessions_token;
ALTER TABLE staff_sessions DROP COLUMN token_id;
ALTER TABLE staff_sessions
  ADD COLUMN username      text NOT NULL,
  ADD COLUMN display_name  text NOT NULL,
  ADD COLUMN source        text NOT NULL CHECK (source IN ('local', 'directory')),
  ADD COLUMN role          text NOT NULL CHECK (role IN ('department', 'operator')),
  ADD COLUMN department_id text,
  ADD CHECK ((role = 'operator') = (department_id IS NULL));
CREATE INDEX staff_sessions_person ON staff_sessions (source, username);
)SQL";

// The rows still to send, due or not (the claim's and the backlog gauges' index: the one above
// covers 'pending' alone, so a claim, which also takes up 'sending' rows whose lease ran out,
// read the whole table).
constexpr const char* kOutboxWaiting = R"SQL(
CREATE INDEX outbox_waiting ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
)SQL";

// Who holds a row's lease (outbox::LaneSettings::holder): a dispatcher started again takes up
// its own rows at once.
constexpr const char* kOutboxLeasedBy = R"SQL(
ALTER TABLE outbox ADD COLUMN leased_by text;
)SQL";

// Who claimed a call for closing (phone::PhoneCloser, under channels::WorkerServices::holder):
// a worker started again takes up its own calls at once.
constexpr const char* kPhoneCallsClaimedBy = R"SQL(
ALTER TABLE phone_calls ADD COLUMN claimed_by text;
)SQL";

// A sender's published drafts, newest first: a pin alone looks for the report it may be the
// place of (chat::ChatIntake::TicketAwaitingPlace, within chat.late_place_minutes).
constexpr const char* kChatDraftsPublished = R"SQL(
CREATE INDEX chat_drafts_published ON chat_drafts (channel, sender, published_at)
  WHERE state = 'published';
)SQL";

// Migration 25: an attempt the provider never confirmed (the request went out whole, its answer
// did not come or could not be read) is an outcome of its own (outbox::Attempt::unconfirmed).
// A check widened in place: the previous version writes only the values it knew.
constexpr const char* kUnconfirmedAttempts = R"SQL(
ALTER TABLE outbox_attempts DROP CONSTRAINT outbox_attempts_outcome_check;
ALTER TABLE outbox_attempts ADD CONSTRAINT outbox_attempts_outcome_check
  CHECK (outcome IN ('sent', 'retry', 'failed', 'unconfirmed'));
)SQL";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema: tickets, attachments, raw payloads, outbox, intake keys", kInitial},
      {2, "tickets.routing_explanation: the routing decision and its explanation",
       kRoutingExplanation},
      {3, "ruleset_swaps: every rule set reload, promotion and rollback", kRulesetSwaps},
      {4, "shadow_disagreements: where a candidate rule set would have routed differently",
       kShadowDisagreements},
      {5, "duplicates: tickets.duplicate_of, routed_category, ticket_reporters, duplicate_unlinks",
       kDuplicates},
      {6,
       "messenger channels: chat_events, chat_contacts, chat_drafts, ticket_followups, outbox"
       " delivery state",
       kChat},
      {7, "phone calls: the events of a call joined by call id", kPhone},
      {8, "chat_status_backlog: delivery receipts that overtook the send's answer", kStatusBacklog},
      {9, "departments: ticket history, staff tokens, delivery attempts, opt-outs", kDepartments},
      {10, "staff_sessions: the inbox's server-side sessions", kStaffSessions},
      {11, "outbox indexes for the limits on notices per address and SMS per hour", kNoticeLimits},
      {12, "ticket_history: the action 'reopened' (a citizen says it is not fixed)", kReopened},
      {13, "data protection: tickets.anonymised_at, contact_views, privacy_erasures", kPrivacy},
      {14, "fix_answers: the citizen's answer to \"Ist es behoben?\"", kFixAnswers},
      {15, "chat_draft_items.transcript: what a voice note says", kVoiceNotes},
      {16, "tickets.public_text: the text staff released for the public map", kPublicText},
      {17, "ticket_history: the action 'followup' (what a citizen sent later)", kFollowupHistory},
      {18, "ticket_history: the actions 'recategorised' and 'forwarded'", kRecategoriseForward},
      {19, "Rückfrage: status waiting_for_citizen, paused clocks, its history actions", kQuestions},
      {20, "personal sign-in: staff_accounts, inbox sessions of a person", kStaffAccounts},
      {21, "outbox_waiting: the index of the rows still to send (claim, backlog gauges)",
       kOutboxWaiting},
      {22, "outbox.leased_by: a dispatcher started again takes up its own rows", kOutboxLeasedBy},
      {23, "phone_calls.claimed_by: a worker started again takes up the calls it was closing",
       kPhoneCallsClaimedBy},
      {24, "chat_drafts_published: a sender's published drafts (a pin that comes late)",
       kChatDraftsPublished},
      {25, "outbox_attempts: the outcome 'unconfirmed' (sent, the provider's answer never came)",
       kUnconfirmedAttempts},
  };
  return kMigrations;
}

namespace {

Status EnsureDatabase(const std::string& url) {
  std::string name = db::DatabaseName(url);
  if (name.empty()) {
    return MakeError(errors::kConfigInvalid, "database URL names no database");
  }
  auto probe = db::Connect(url);
  if (probe) {
    return Ok{};
  }
  // The database may not exist yet: create it through the maintenance database.
  auto admin = db::Connect(db::WithDatabase(url, "postgres"));
  if (!admin) {
    return probe.error();
  }
  return db::Guard<Ok>([&]() -> Ok {
    pqxx::nontransaction tx(**admin);
    // Several machines' first `migrate` at once: one creates the database, the others wait for
    // it and find it (without the lock, they failed on pg_database's unique name). The lock is
    // the session's and ends with the connection at the latest.
    tx.exec("SELECT pg_advisory_lock(7412002)");
    auto r = tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name);
    if (r.empty()) {
      tx.exec0("CREATE DATABASE " + tx.quote_name(name));
      log::Info("created database", {{"database", name}});
    }
    tx.exec("SELECT pg_advisory_unlock(7412002)");
    return Ok{};
  });
}

}  // namespace

int LatestVersion() { return Migrations().back().version; }

std::vector<std::string> ContractChanges(const std::string& sql) {
  // Comments and string literals say nothing about what the statement does.
  static const std::regex kNoise(R"(--[^\n]*|'(?:[^']|'')*')");
  const std::string text = std::regex_replace(sql, kNoise, " ");
  auto all = [&](const char* pattern) {
    std::vector<std::smatch> out;
    const std::regex re(pattern, std::regex::icase);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
         ++it)
      out.push_back(*it);
    return out;
  };
  auto lower = [](std::string v) {
    for (char& c : v)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  std::vector<std::string> found;
  // A constraint or index dropped and made again under its name in the same migration (a check
  // widened for a new value) is a change in place; any other drop takes away what the previous
  // version may use (a column it reads, the unique index its ON CONFLICT names, a default).
  for (const auto& m : all(R"(\bDROP\s+(CONSTRAINT|INDEX)\s+(?:IF\s+EXISTS\s+)?(\w+))")) {
    const std::string kind = lower(m[1].str()), name = m[2].str();
    const bool again =
        !all((kind == "index"
                  ? R"(\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?)" + name + R"(\b)"
                  : R"(\bADD\s+CONSTRAINT\s+)" + name + R"(\b)")
                 .c_str())
             .empty();
    if (!again)
      found.push_back("drops the " + kind + " " + name);
  }
  for (const auto& m : all(R"(\bDROP\s+(?!CONSTRAINT\b|INDEX\b|NOT\s+NULL\b)[^;,]*)"))
    found.push_back("drops: " + m[0].str());
  for (const auto& m : all(R"(\bRENAME\b[^;]*)"))
    found.push_back("renames: " + m[0].str());
  for (const auto& m : all(R"(\bALTER\s+COLUMN\s+(\w+)\s+(?:SET\s+DATA\s+)?TYPE\b)"))
    found.push_back("changes the type of the column " + m[1].str());
  for (const auto& m : all(R"(\bALTER\s+COLUMN\s+(\w+)\s+SET\s+NOT\s+NULL\b)"))
    found.push_back("makes the column " + m[1].str() + " NOT NULL");
  for (
      const auto& m :
      all(R"(\bADD\s+(?!CONSTRAINT\b|CHECK\b|PRIMARY\b|UNIQUE\b|FOREIGN\b)(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\w+)([^,;]*))")) {
    const std::string rest = lower(m[2].str());
    if (std::regex_search(rest, std::regex(R"(\bnot\s+null\b)")) &&
        rest.find("default") == std::string::npos && rest.find("generated") == std::string::npos)
      found.push_back("adds the column " + m[1].str() + " NOT NULL without a default");
  }
  for (const auto& m : all(R"(\b(?:DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(\w+))"))
    found.push_back("deletes the rows of " + m[1].str());
  for (const auto& m :
       all(R"(\b(?:CREATE\s+UNIQUE\s+INDEX|ADD\s+(?:CONSTRAINT\s+\w+\s+)?UNIQUE)\b[^;]*)"))
    found.push_back("adds a uniqueness the previous version may not keep: " + m[0].str());
  return found;
}

Result<int> SchemaVersion(const std::string& database_url) {
  auto conn = db::Connect(database_url);
  if (!conn)
    return conn.error();
  return db::Guard<int>([&]() -> int {
    pqxx::nontransaction tx(**conn);
    auto exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (!exists[0][0].as<bool>())
      return 0;
    return tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0].as<int>();
  });
}

Result<int> Migrate(const std::string& database_url, const MigrateOptions& options) {
  return Migrate(database_url, Migrations(), options);
}

Result<int> Migrate(const std::string& database_url, const std::vector<Migration>& migrations,
                    const MigrateOptions& options) {
  if (auto st = EnsureDatabase(database_url); !st) {
    return st.error();
  }
  auto conn = db::Connect(database_url);
  if (!conn) {
    return conn.error();
  }
  const std::string lock_timeout =
      "SET LOCAL lock_timeout = " + std::to_string(options.lock_timeout.count());
  int applied = 0;
  for (const auto& m : migrations) {
    const auto give_up = std::chrono::steady_clock::now() + options.give_up_after;
    std::chrono::milliseconds backoff{100};
    for (int attempt = 1;; ++attempt) {
      // True when this try applied it, false when another migrator had.
      auto done = db::Guard<bool>([&]() -> bool {
        db::Tx tx(**conn);
        // One migrator at a time; the lock ends with the transaction. Taken before the
        // lock_timeout: a second migrator waits here for as long as the first one's migration
        // takes.
        tx.exec("SELECT pg_advisory_xact_lock(7412001)");
        tx.exec0(lock_timeout);
        tx.exec0(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
        auto had = tx.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version);
        if (!had.empty()) {
          tx.commit();
          return false;
        }
        tx.exec0(m.sql);
        tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                        m.name);
        tx.commit();
        return true;
      });
      if (done) {
        if (*done) {
          ++applied;
          log::Info("applied migration",
                    {{"version", std::to_string(m.version)}, {"name", m.name}});
        }
        break;
      }
      // The transaction was rolled back whole: nothing of the migration stays.
      const Error& e = done.error();
      if (!db::IsLockConflict(e))
        return e;
      if (const auto now = std::chrono::steady_clock::now(); now + backoff > give_up) {
        const auto tried = std::chrono::duration_cast<std::chrono::milliseconds>(
            now - (give_up - options.give_up_after));
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(tried.count()) / 1000);
        return MakeError(
            errors::kDbError,
            "migration " + std::to_string(m.version) + " (" + m.name +
                ") could not take its tables' locks in " + seconds + " s (" +
                std::to_string(attempt) +
                " tries) while the running processes used them; nothing of it was applied",
            "last: " + e.detail +
                "; run it again, or with a longer --give-up-after or --lock-timeout");
      }
      log::Warn("migration waits for its tables' locks, tries again",
                {{"version", std::to_string(m.version)},
                 {"attempt", std::to_string(attempt)},
                 {"reason", e.detail},
                 {"again_in_ms", std::to_string(backoff.count())}});
      if (options.on_retry)
        options.on_retry(m, attempt, e.detail);
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
  return applied;
}

}  // namespace meldestelle::app
