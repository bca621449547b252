#pragma once

// Every error code of Meldestelle, as named constants in one place (the codes are the stable
// snake_case text of logs, metrics and JSON errors; see ErrorCode in core/result.hpp). Compare
// codes with these constants, never with string literals. A channel added later may declare
// codes of its own beside its code (docs/adding-a-channel.md).
#include "core/result.hpp"

namespace meldestelle::errors {

// Shared
inline constexpr ErrorCode kConfigInvalid{"config_invalid"};
inline constexpr ErrorCode kUsage{"usage"};
inline constexpr ErrorCode kNotFound{"not_found"};
inline constexpr ErrorCode kInvalidRequest{"invalid_request"};
inline constexpr ErrorCode kStorageFailed{"storage_failed"};
inline constexpr ErrorCode kInternal{"internal"};
inline constexpr ErrorCode kIoError{"io_error"};
inline constexpr ErrorCode kUnavailable{"unavailable"};

// Database (core/db.hpp)
inline constexpr ErrorCode kDbUnavailable{"db_unavailable"};
inline constexpr ErrorCode kDbError{"db_error"};

// Broker (core/amqp.hpp, the publisher, dead letters)
inline constexpr ErrorCode kBrokerUnavailable{"broker_unavailable"};
inline constexpr ErrorCode kBrokerError{"broker_error"};
inline constexpr ErrorCode kBrokerRefused{"broker_refused"};
inline constexpr ErrorCode kBrokerTimeout{"broker_timeout"};
inline constexpr ErrorCode kAmqpEncode{"amqp_encode"};
inline constexpr ErrorCode kBindFailed{"bind_failed"};

// Outbound HTTP and SMTP (core/http_client.hpp, core/smtp_client.hpp)
inline constexpr ErrorCode kHttpTimeout{"http_timeout"};
inline constexpr ErrorCode kHttpTooLarge{"http_too_large"};
inline constexpr ErrorCode kHttpUnreachable{"http_unreachable"};
inline constexpr ErrorCode kHttpAddressRefused{"http_address_refused"};
// The request went out whole and no answer came (timeout or connection lost while waiting): the
// provider may have acted on it.
inline constexpr ErrorCode kHttpUnanswered{"http_unanswered"};
// A 2xx status line came, its body did not come whole: the provider took the request.
inline constexpr ErrorCode kHttpAcceptedUnread{"http_accepted_unread"};
inline constexpr ErrorCode kSmtpTemporary{"smtp_temporary"};
inline constexpr ErrorCode kSmtpPermanent{"smtp_permanent"};
// The message's end of data (".") was sent and the relay's final reply never came.
inline constexpr ErrorCode kSmtpUnconfirmed{"smtp_unconfirmed"};

// The town's directory (core/ldap_client.hpp) and staff sign-in (tickets/staff_accounts.hpp)
inline constexpr ErrorCode kLdapUnavailable{"ldap_unavailable"};
inline constexpr ErrorCode kLdapInvalidCredentials{"ldap_invalid_credentials"};
inline constexpr ErrorCode kLdapError{"ldap_error"};
inline constexpr ErrorCode kSignInRefused{"sign_in_refused"};
inline constexpr ErrorCode kNoDepartment{"no_department"};

// Media downloads (chat providers, Open311 media_url)
inline constexpr ErrorCode kMediaTransient{"media_transient"};
inline constexpr ErrorCode kMediaUnavailable{"media_unavailable"};

// The report and the queue's messages (core/report.hpp, core/envelope.hpp, channels/*/message)
inline constexpr ErrorCode kSchemaInvalid{"schema_invalid"};
inline constexpr ErrorCode kSchemaVersionUnsupported{"schema_version_unsupported"};
inline constexpr ErrorCode kEnvelopeInvalid{"envelope_invalid"};
inline constexpr ErrorCode kMessageInvalid{"message_invalid"};  // any queue message: dead-lettered
inline constexpr ErrorCode kStopping{"stopping"};  // the worker stops: the message is requeued
inline constexpr ErrorCode kBatchInvalid{"batch_invalid"};
inline constexpr ErrorCode kPhoneMessageInvalid{"phone_message_invalid"};
inline constexpr ErrorCode kMailMessageInvalid{"mail_message_invalid"};

// References and opt-out links
inline constexpr ErrorCode kReferenceMalformed{"reference_malformed"};
inline constexpr ErrorCode kReferenceCheckFailed{"reference_check_failed"};
inline constexpr ErrorCode kOptoutInvalid{"optout_invalid"};

// Requests from outside: bodies, forms, fields (web form, API, Open311, webhooks)
inline constexpr ErrorCode kPayloadTooLarge{"payload_too_large"};
inline constexpr ErrorCode kUriTooLong{"uri_too_long"};
inline constexpr ErrorCode kPayloadInvalid{"payload_invalid"};
inline constexpr ErrorCode kUnsupportedMediaType{"unsupported_media_type"};
inline constexpr ErrorCode kContentEncodingUnsupported{"content_encoding_unsupported"};
inline constexpr ErrorCode kHeadersTooLarge{"headers_too_large"};
inline constexpr ErrorCode kRateLimited{"rate_limited"};
inline constexpr ErrorCode kContentLengthInvalid{"content_length_invalid"};
inline constexpr ErrorCode kHeaderInvalid{"header_invalid"};
inline constexpr ErrorCode kBodyNotAllowed{"body_not_allowed"};
inline constexpr ErrorCode kMultipartInvalid{"multipart_invalid"};
inline constexpr ErrorCode kFormInvalid{"form_invalid"};
inline constexpr ErrorCode kJsonInvalid{"json_invalid"};
inline constexpr ErrorCode kInvalidUtf8{"invalid_utf8"};
inline constexpr ErrorCode kControlCharacters{"control_characters"};
inline constexpr ErrorCode kBodyEmpty{"body_empty"};
inline constexpr ErrorCode kUnknownField{"unknown_field"};
inline constexpr ErrorCode kUnknownFileField{"unknown_file_field"};
inline constexpr ErrorCode kDuplicateField{"duplicate_field"};
inline constexpr ErrorCode kFieldMissing{"field_missing"};
inline constexpr ErrorCode kFieldTypeInvalid{"field_type_invalid"};
inline constexpr ErrorCode kFieldValueInvalid{"field_value_invalid"};
inline constexpr ErrorCode kObjectUnexpected{"object_unexpected"};
inline constexpr ErrorCode kIdempotencyKeyInvalid{"idempotency_key_invalid"};
inline constexpr ErrorCode kIdempotencyKeyReused{"idempotency_key_reused"};
inline constexpr ErrorCode kResponseInvalid{"response_invalid"};
inline constexpr ErrorCode kGraphError{"graph_error"};
inline constexpr ErrorCode kTelegramError{"telegram_error"};

// Authentication of requests and links (webhooks, the staff API, signed links)
inline constexpr ErrorCode kAuthInvalid{"auth_invalid"};
inline constexpr ErrorCode kAuthMissing{"auth_missing"};
inline constexpr ErrorCode kChannelDisabled{"channel_disabled"};
inline constexpr ErrorCode kInvalidJson{"invalid_json"};
inline constexpr ErrorCode kInvalidParameter{"invalid_parameter"};
inline constexpr ErrorCode kLinkInvalid{"link_invalid"};
inline constexpr ErrorCode kSecretInvalid{"secret_invalid"};
inline constexpr ErrorCode kSecretMissing{"secret_missing"};
inline constexpr ErrorCode kSignatureInvalid{"signature_invalid"};
inline constexpr ErrorCode kSignatureMissing{"signature_missing"};
inline constexpr ErrorCode kTokenReplayed{"token_replayed"};
inline constexpr ErrorCode kUnauthorized{"unauthorized"};
inline constexpr ErrorCode kVerifyTokenMismatch{"verify_token_mismatch"};
inline constexpr ErrorCode kLengthRequired{"length_required"};
inline constexpr ErrorCode kReferenceUnknown{"reference_unknown"};

// The report's fields (channels/webform: Validate)
inline constexpr ErrorCode kDescriptionMissing{"description_missing"};
inline constexpr ErrorCode kDescriptionTooLong{"description_too_long"};
inline constexpr ErrorCode kCategoryUnknown{"category_unknown"};
inline constexpr ErrorCode kCoordinatesInvalid{"coordinates_invalid"};
inline constexpr ErrorCode kCoordinatesOutOfRange{"coordinates_out_of_range"};
inline constexpr ErrorCode kAddressTooLong{"address_too_long"};
inline constexpr ErrorCode kEmailInvalid{"email_invalid"};
inline constexpr ErrorCode kPhoneInvalid{"phone_invalid"};
inline constexpr ErrorCode kLanguageUnsupported{"language_unsupported"};
inline constexpr ErrorCode kTooManyPhotos{"too_many_photos"};
inline constexpr ErrorCode kPhotoTooLarge{"photo_too_large"};
inline constexpr ErrorCode kPhotoNotAFile{"photo_not_a_file"};
inline constexpr ErrorCode kNotAnImage{"not_an_image"};

// Photos (core/photo.hpp)
inline constexpr ErrorCode kInvalidPhoto{"invalid_photo"};
inline constexpr ErrorCode kUnsupportedPhotoType{"unsupported_photo_type"};

// E-mail (channels/email)
inline constexpr ErrorCode kMailInvalid{"mail_invalid"};
inline constexpr ErrorCode kMailTooLarge{"mail_too_large"};
inline constexpr ErrorCode kMailTooDeep{"mail_too_deep"};
inline constexpr ErrorCode kImapUnavailable{"imap_unavailable"};

// Routing (routing/, rule changes)
inline constexpr ErrorCode kRulesInvalid{"rules_invalid"};
inline constexpr ErrorCode kRulesMissing{"rules_missing"};
inline constexpr ErrorCode kRulesUnavailable{"rules_unavailable"};
inline constexpr ErrorCode kFixturesInvalid{"fixtures_invalid"};
inline constexpr ErrorCode kFixturesFailed{"fixtures_failed"};
inline constexpr ErrorCode kGeojsonInvalid{"geojson_invalid"};
inline constexpr ErrorCode kGazetteerInvalid{"gazetteer_invalid"};
inline constexpr ErrorCode kTimezoneInvalid{"timezone_invalid"};
inline constexpr ErrorCode kNoPrevious{"no_previous"};

// Tickets (tickets/actions, tickets/api_tokens)
inline constexpr ErrorCode kInvalidTransition{"invalid_transition"};
inline constexpr ErrorCode kTicketClosed{"ticket_closed"};
inline constexpr ErrorCode kTicketIsDuplicate{"ticket_is_duplicate"};
inline constexpr ErrorCode kUnknownDepartment{"unknown_department"};
inline constexpr ErrorCode kAccountExists{"account_exists"};  // staff add: the name is taken
inline constexpr ErrorCode kForbidden{"forbidden"};
inline constexpr ErrorCode kNoWayBack{
    "no_way_back"};  // the citizen cannot be asked  // the role may not do this

}  // namespace meldestelle::errors
