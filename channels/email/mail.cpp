#include "channels/email/mail.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "channels/email/mail_internal.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/media.hpp"
#include "core/reference.hpp"
#include "core/text.hpp"

// Raw MIME through GMime: structure walk, body choice, attachments, header facts, robot rules.
namespace meldestelle::email {

namespace internal {

namespace {

std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// Takes ownership of a g_malloc'ed string.
std::string TakeStr(char* s) {
  std::string out = Str(s);
  g_free(s);
  return out;
}

GMimeObject* AsObject(void* p) { return reinterpret_cast<GMimeObject*>(p); }

std::string Header(GMimeMessage* m, const char* name) {
  return std::string(TrimAscii(Str(g_mime_object_get_header(AsObject(m), name))));
}

// The first mailbox of a list (looking into groups), or nullptr.
InternetAddressMailbox* FirstMailbox(InternetAddressList* list) {
  if (list == nullptr) {
    return nullptr;
  }
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (IsA(a, internet_address_mailbox_get_type())) {
      return reinterpret_cast<InternetAddressMailbox*>(a);
    }
    if (IsA(a, internet_address_group_get_type())) {
      InternetAddressMailbox* inner = FirstMailbox(
          internet_address_group_get_members(reinterpret_cast<InternetAddressGroup*>(a)));
      if (inner != nullptr) {
        return inner;
      }
    }
  }
  return nullptr;
}

void AppendMailboxes(InternetAddressList* list, std::vector<std::string>* out) {
  if (list == nullptr) {
    return;
  }
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (IsA(a, internet_address_mailbox_get_type())) {
      out->push_back(
          Str(internet_address_mailbox_get_addr(reinterpret_cast<InternetAddressMailbox*>(a))));
    } else if (IsA(a, internet_address_group_get_type())) {
      AppendMailboxes(
          internet_address_group_get_members(reinterpret_cast<InternetAddressGroup*>(a)), out);
    }
  }
}

void AppendIds(const std::string& value, std::vector<std::string>* ids) {
  if (value.empty()) {
    return;
  }
  GMimeReferences* refs = g_mime_references_parse(nullptr, value.c_str());
  if (refs == nullptr) {
    return;
  }
  for (int i = 0; i < g_mime_references_length(refs); ++i) {
    std::string id = FixDecodedText(Str(g_mime_references_get_message_id(refs, i)));
    if (!id.empty() && std::find(ids->begin(), ids->end(), id) == ids->end()) {
      ids->push_back(id);
    }
  }
  g_mime_references_free(refs);
}

std::string MimeType(GMimeObject* obj) {
  GMimeContentType* ct = obj == nullptr ? nullptr : g_mime_object_get_content_type(obj);
  return ct == nullptr ? std::string() : AsciiLower(TakeStr(g_mime_content_type_get_mime_type(ct)));
}

std::string LocalPart(std::string_view address) {
  size_t at = address.rfind('@');
  return std::string(at == std::string_view::npos ? address : address.substr(0, at));
}

// The reference in "[4KQ7-XRT2-WNPA]" anywhere in the subject.
std::string ReferenceInSubject(std::string_view subject) {
  size_t open = 0;
  while ((open = subject.find('[', open)) != std::string_view::npos) {
    size_t close = subject.find(']', open + 1);
    if (close == std::string_view::npos) {
      break;
    }
    std::string_view inner = subject.substr(open + 1, close - open - 1);
    if (inner.size() <= 24) {
      auto ref = ParseReference(inner);
      if (ref.ok()) {
        return ref.value();
      }
    }
    open += 1;
  }
  return "";
}

// The reference in a plus address "maengel+4KQ7XRT2WNPA@stadt.example".
std::string ReferenceInAddress(std::string_view address) {
  std::string local = LocalPart(address);
  size_t plus = local.find('+');
  if (plus == std::string::npos) {
    return "";
  }
  auto ref = ParseReference(std::string_view(local).substr(plus + 1));
  return ref.ok() ? ref.value() : "";
}

enum Kind { kAuto = 1, kBounce = 2, kList = 4 };

struct RobotFinding {
  int kinds = 0;
  std::vector<std::string> reasons;
  void Add(Kind k, std::string reason) {
    kinds |= k;
    reasons.push_back(std::move(reason));
  }
};

bool HasToken(const std::string& lower_value, std::string_view token) {
  // Comma- or space-separated tokens, e.g. "DR, OOF, AutoReply".
  size_t pos = 0;
  while ((pos = lower_value.find(token, pos)) != std::string::npos) {
    bool left = pos == 0 || lower_value[pos - 1] == ',' || lower_value[pos - 1] == ' ';
    size_t e = pos + token.size();
    bool right = e == lower_value.size() || lower_value[e] == ',' || lower_value[e] == ' ' ||
                 lower_value[e] == ';';
    if (left && right) {
      return true;
    }
    pos = e;
  }
  return false;
}

// channels.md §4.6, header and subject rules.
RobotFinding FindRobot(GMimeMessage* m, const HeaderFacts& facts, const Mail& mail) {
  RobotFinding f;
  std::string auto_submitted = Header(m, "Auto-Submitted");
  std::string as_token = AsciiLower(auto_submitted.substr(0, auto_submitted.find(';')));
  if (!auto_submitted.empty() && std::string(TrimAscii(as_token)) != "no") {
    f.Add(kAuto, "Auto-Submitted: " + auto_submitted);
  }
  if (mail.return_path_empty) {
    f.Add(kAuto, "Return-Path: <>");
  }
  std::string local = AsciiLower(LocalPart(mail.from_address));
  if (local == "mailer-daemon" || local == "postmaster" || local == "bounce" ||
      local == "bounces") {
    f.Add(kBounce, "From " + LocalPart(mail.from_address));
  } else if (local == "noreply" || local == "no-reply" || local == "no_reply" ||
             local == "donotreply" || local == "do-not-reply") {
    f.Add(kAuto, "From " + LocalPart(mail.from_address));
  } else if (local == "listserv") {
    f.Add(kList, "From " + LocalPart(mail.from_address));
  }
  std::string precedence = AsciiLower(Header(m, "Precedence"));
  if (precedence == "bulk" || precedence == "list" || precedence == "junk") {
    f.Add(kList, "Precedence: " + precedence);
  } else if (precedence == "auto_reply") {
    f.Add(kAuto, "Precedence: " + precedence);
  }
  for (const char* h : {"List-Id", "List-Unsubscribe", "List-Post"}) {
    if (g_mime_object_get_header(AsObject(m), h) != nullptr) {
      f.Add(kList, h);
    }
  }
  std::string autoreply = Header(m, "X-Autoreply");
  if (g_mime_object_get_header(AsObject(m), "X-Autoreply") != nullptr &&
      AsciiLower(autoreply) != "no") {
    f.Add(kAuto, "X-Autoreply: " + autoreply);
  }
  if (g_mime_object_get_header(AsObject(m), "X-Autorespond") != nullptr) {
    f.Add(kAuto, "X-Autorespond");
  }
  std::string suppress = Header(m, "X-Auto-Response-Suppress");
  std::string suppress_l = AsciiLower(suppress);
  if (HasToken(suppress_l, "oof") || HasToken(suppress_l, "autoreply") ||
      HasToken(suppress_l, "all")) {
    f.Add(kAuto, "X-Auto-Response-Suppress: " + suppress);
  }
  if (g_mime_object_get_header(AsObject(m), "X-Cron-Env") != nullptr) {
    f.Add(kAuto, "X-Cron-Env");
  }
  if (facts.content_type == "multipart/report") {
    std::string reason = "multipart/report";
    if (!facts.report_type.empty()) {
      reason += "; report-type=" + facts.report_type;
    }
    f.Add(facts.report_type == "delivery-status" ? kBounce : kAuto, reason);
  }
  struct SubjectRule {
    const char* needle;  // lower case
    const char* label;
    Kind kind;
  };
  static const SubjectRule kSubjects[] = {
      {"automatische antwort", "Automatische Antwort", kAuto},
      {"abwesenheitsnotiz", "Abwesenheitsnotiz", kAuto},
      {"out of office", "Out of Office", kAuto},
      {"autoreply", "Autoreply", kAuto},
      {"auto-reply", "Auto-Reply", kAuto},
      // A subject alone makes no bounce (a bounce makes no ticket): "Hausnummer unzustellbar"
      // may be a citizen's report. Bounces are told by their form (a delivery-status report) or
      // their sender (MAILER-DAEMON); a subject like these only withholds the acknowledgement.
      {"undelivered mail", "Undelivered Mail", kAuto},
      {"mail delivery failed", "Mail delivery failed", kAuto},
      {"delivery status notification", "Delivery Status Notification", kAuto},
      {"unzustellbar", "Unzustellbar", kAuto},
  };
  std::string subject = AsciiLower(mail.subject);
  for (const auto& r : kSubjects) {
    if (subject.find(r.needle) != std::string::npos) {
      f.Add(r.kind, std::string("Subject: ") + r.label);
    }
  }
  return f;
}

}  // namespace

void EnsureGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

GMimeParserOptions* NewParserOptions() {
  GMimeParserOptions* o = g_mime_parser_options_new();
  g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
  static const char* kFallback[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(o, kFallback);
  return o;
}

GPtr<GMimeMessage> ParseHeaderBlock(std::string_view headers) {
  EnsureGMime();
  std::string block(headers);
  block.append("\r\n\r\n");  // a header block without its blank line is not a message to GMime
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(block.data(), block.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GMimeParserOptions* options = NewParserOptions();
  GPtr<GMimeMessage> m(g_mime_parser_construct_message(parser.get(), options));
  g_mime_parser_options_free(options);
  return m;
}

HeaderFacts ReadHeaders(GMimeMessage* m, Mail* mail) {
  HeaderFacts facts;
  mail->message_id = FixDecodedText(Str(g_mime_message_get_message_id(m)));
  AppendIds(Header(m, "In-Reply-To"), &mail->in_reply_to_and_references);
  AppendIds(Header(m, "References"), &mail->in_reply_to_and_references);
  mail->subject = std::string(TrimAscii(FixDecodedText(Str(g_mime_message_get_subject(m)))));
  if (InternetAddressMailbox* from = FirstMailbox(g_mime_message_get_from(m))) {
    mail->from_address = FixDecodedText(Str(internet_address_mailbox_get_addr(from)));
    mail->from_name =
        FixDecodedText(Str(internet_address_get_name(reinterpret_cast<InternetAddress*>(from))));
  }
  // One address, or none: a list is no usable Reply-To (the From is answered instead).
  std::vector<std::string> reply_to;
  AppendMailboxes(g_mime_message_get_reply_to(m), &reply_to);
  if (reply_to.size() == 1)
    mail->reply_to = FixDecodedText(reply_to.front());
  if (g_mime_object_get_header(AsObject(m), "Return-Path") != nullptr) {
    std::string rp = Header(m, "Return-Path");
    rp.erase(std::remove_if(rp.begin(), rp.end(),
                            [](char c) { return c == '<' || c == '>' || c == ' ' || c == '\t'; }),
             rp.end());
    mail->return_path = FixDecodedText(rp);
    mail->return_path_empty = rp.empty();
  }
  if (GDateTime* date = g_mime_message_get_date(m)) {
    mail->date = TakeStr(g_date_time_format(date, "%Y-%m-%dT%H:%M:%S%:z"));
  }
  AppendMailboxes(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO), &facts.recipients);
  AppendMailboxes(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_CC), &facts.recipients);
  for (const char* h : {"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"}) {
    std::string v = Header(m, h);
    if (v.empty()) {
      continue;
    }
    if (InternetAddressList* list = internet_address_list_parse(nullptr, v.c_str())) {
      AppendMailboxes(list, &facts.recipients);
      g_object_unref(list);
    }
  }
  GMimeObject* top = g_mime_message_get_mime_part(m);
  facts.content_type = MimeType(top);
  if (top != nullptr) {
    facts.report_type =
        AsciiLower(Str(g_mime_object_get_content_type_parameter(top, "report-type")));
  }
  facts.hash_input = Header(m, "Date") + "\n" + Header(m, "From") + "\n" + Header(m, "Subject");
  return facts;
}

void Finish(GMimeMessage* m, const HeaderFacts& facts, std::string_view body, Mail* mail) {
  std::string stripped = StripHistoryAndSignature(body);
  mail->text = mail->subject;
  if (!mail->text.empty() && !stripped.empty()) {
    mail->text += "\n\n";
  }
  mail->text += stripped;
  // A Message-ID has no length limit, a database key has one (a long id was refused by the
  // index on every try, and the mail retried for ever): a long one by its digest.
  mail->dedupe_key = mail->message_id.empty()
                         ? "sha256:" + Sha256Hex(facts.hash_input + "\n" + std::string(body))
                     : mail->message_id.size() > kMaxKeyBytes
                         ? "sha256:" + Sha256Hex("Message-ID: " + mail->message_id)
                         : mail->message_id;
  mail->references_reference = ReferenceInSubject(mail->subject);
  for (size_t i = 0; i < facts.recipients.size() && mail->references_reference.empty(); ++i) {
    mail->references_reference = ReferenceInAddress(facts.recipients[i]);
  }
  RobotFinding robot = FindRobot(m, facts, *mail);
  mail->robot = (robot.kinds & kBounce) != 0 ? Robot::kBounce
                : (robot.kinds & kAuto) != 0 ? Robot::kAutoReply
                : (robot.kinds & kList) != 0 ? Robot::kList
                                             : Robot::kNone;
  mail->robot_reasons = std::move(robot.reasons);
}

}  // namespace internal

using namespace internal;

namespace {

struct ParseWarnings {
  bool truncated = false;
  bool nesting_overflow = false;
};

void OnParserWarning(gint64 /*offset*/, GMimeParserWarning code, const gchar* /*item*/,
                     gpointer user_data) {
  auto* w = static_cast<ParseWarnings*>(user_data);
  if (code == GMIME_WARN_TRUNCATED_MESSAGE) {
    w->truncated = true;
  } else if (code == GMIME_CRIT_NESTING_OVERFLOW) {
    w->nesting_overflow = true;
  }
}

bool IsMultipart(GMimeObject* o) { return IsA(o, g_mime_multipart_get_type()); }
bool IsMessagePart(GMimeObject* o) { return IsA(o, g_mime_message_part_get_type()); }
bool IsLeaf(GMimeObject* o) { return IsA(o, g_mime_part_get_type()); }

GMimeMultipart* AsMultipart(GMimeObject* o) { return reinterpret_cast<GMimeMultipart*>(o); }
GMimePart* AsPart(GMimeObject* o) { return reinterpret_cast<GMimePart*>(o); }

// The mime part of the message inside a message/rfc822 part, or nullptr.
GMimeObject* InnerPart(GMimeObject* o) {
  GMimeMessage* inner = g_mime_message_part_get_message(reinterpret_cast<GMimeMessagePart*>(o));
  return inner == nullptr ? nullptr : g_mime_message_get_mime_part(inner);
}

std::vector<GMimeObject*> Children(GMimeObject* o) {
  std::vector<GMimeObject*> out;
  if (IsMultipart(o)) {
    int n = g_mime_multipart_get_count(AsMultipart(o));
    for (int i = 0; i < n; ++i) {
      out.push_back(g_mime_multipart_get_part(AsMultipart(o), i));
    }
  } else if (IsMessagePart(o)) {
    if (GMimeObject* inner = InnerPart(o)) {
      out.push_back(inner);
    }
  }
  return out;
}

// The deepest nesting level below `root` (depth 0), without recursion.
int MaxDepth(GMimeObject* root) {
  int deepest = 0;
  std::vector<std::pair<GMimeObject*, int>> stack = {{root, 0}};
  while (!stack.empty()) {
    auto [obj, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    for (GMimeObject* child : Children(obj)) {
      stack.emplace_back(child, depth + 1);
    }
  }
  return deepest;
}

bool IsAttachmentDisposition(GMimeObject* o) {
  GMimeContentDisposition* d = g_mime_object_get_content_disposition(o);
  return d != nullptr && g_mime_content_disposition_is_attachment(d) != 0;
}

// A text/plain or text/html leaf meant to be read, not a file.
bool IsBodyText(GMimeObject* o, bool html) {
  if (!IsLeaf(o) || IsAttachmentDisposition(o) || g_mime_part_get_filename(AsPart(o)) != nullptr) {
    return false;
  }
  std::string type = internal::MimeType(o);
  return type == "text/plain" || (html && type == "text/html");
}

// The leaf that carries the report text (depth already checked, so the recursion is bounded).
// Records the multipart/alternative whose other versions are not attachments, and the plain
// text leaves that follow the body in a multipart/mixed (`more`): Apple Mail sends a mail
// written around a photo as text, photo, text — the rest of the words after the photo.
GMimeObject* ChooseBody(GMimeObject* o, std::vector<GMimeObject*>* alternatives,
                        std::vector<GMimeObject*>* more) {
  if (IsLeaf(o)) {
    return IsBodyText(o, true) ? o : nullptr;
  }
  if (!IsMultipart(o)) {
    return nullptr;  // a forwarded message/rfc822 is not the sender's own text
  }
  std::vector<GMimeObject*> children = Children(o);
  std::string type = internal::MimeType(o);
  if (type == "multipart/alternative") {
    for (GMimeObject* c : children) {
      if (IsBodyText(c, false)) {
        alternatives->push_back(o);
        return c;
      }
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      if (GMimeObject* body = ChooseBody(*it, alternatives, more)) {
        alternatives->push_back(o);
        return body;
      }
    }
    return nullptr;
  }
  if (type == "multipart/related" || type == "multipart/signed") {
    return children.empty() ? nullptr : ChooseBody(children.front(), alternatives, more);
  }
  if (type == "multipart/encrypted") {
    return nullptr;
  }
  GMimeObject* body = nullptr;
  for (GMimeObject* c : children) {
    if (body == nullptr)
      body = ChooseBody(c, alternatives, more);
    else if (IsBodyText(c, false))
      more->push_back(c);
  }
  return body;
}

std::string PartBytes(GMimeObject* o) {
  GMimeDataWrapper* content = g_mime_part_get_content(AsPart(o));
  if (content == nullptr) {
    return "";
  }
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, mem.get());
  GByteArray* bytes =
      g_mime_stream_mem_get_byte_array(reinterpret_cast<GMimeStreamMem*>(mem.get()));
  return bytes == nullptr ? std::string()
                          : std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

std::string BodyText(GMimeObject* body) {
  if (body == nullptr) {
    return "";
  }
  std::string charset = Str(g_mime_object_get_content_type_parameter(body, "charset"));
  std::string text = ToUtf8(PartBytes(body), charset);
  if (internal::MimeType(body) == "text/html") {
    return HtmlToText(text);
  }
  std::string format = AsciiLower(Str(g_mime_object_get_content_type_parameter(body, "format")));
  if (format == "flowed") {
    std::string delsp = AsciiLower(Str(g_mime_object_get_content_type_parameter(body, "delsp")));
    text = Unflow(text, delsp == "yes");
  }
  return text;
}

Attachment MakeAttachment(GMimeObject* o) {
  Attachment a;
  a.filename = SanitizeFilename(FixDecodedText(Str(g_mime_part_get_filename(AsPart(o)))));
  a.declared_type = internal::MimeType(o);
  a.content_id = Str(g_mime_object_get_content_id(o));
  std::string disposition = AsciiLower(Str(g_mime_object_get_disposition(o)));
  a.inline_part = disposition == "inline" || (disposition.empty() && !a.content_id.empty());
  a.bytes = PartBytes(o);
  return a;
}

// Every leaf but the body and its alternative versions, in document order.
// Every leaf but the body's, in the mail's order: the first Limits::max_attachments decoded,
// the rest only counted in `not_kept`.
std::vector<Attachment> CollectAttachments(GMimeObject* root, GMimeObject* body,
                                           const std::vector<GMimeObject*>& alternatives,
                                           const std::vector<GMimeObject*>& more,
                                           const Limits& limits, int* not_kept) {
  std::vector<Attachment> out;
  std::vector<std::pair<GMimeObject*, bool>> stack = {{root, false}};
  while (!stack.empty()) {
    auto [obj, in_alternative] = stack.back();
    stack.pop_back();
    if (IsLeaf(obj)) {
      if (obj == body || (in_alternative && IsBodyText(obj, true)) ||
          std::find(more.begin(), more.end(), obj) != more.end()) {
        continue;
      }
      if (static_cast<int>(out.size()) >= limits.max_attachments) {
        ++*not_kept;
        continue;
      }
      out.push_back(MakeAttachment(obj));
      continue;
    }
    bool alt = in_alternative ||
               std::find(alternatives.begin(), alternatives.end(), obj) != alternatives.end();
    std::vector<GMimeObject*> children = Children(obj);
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      stack.emplace_back(*it, alt);
    }
  }
  return out;
}

// The original Message-ID inside a delivery status notification.
std::string BouncedMessageId(GMimeObject* report) {
  for (GMimeObject* c : Children(report)) {
    if (IsMessagePart(c)) {
      GMimeMessage* inner = g_mime_message_part_get_message(reinterpret_cast<GMimeMessagePart*>(c));
      if (inner != nullptr && g_mime_message_get_message_id(inner) != nullptr) {
        return Str(g_mime_message_get_message_id(inner));
      }
    }
    std::string type = internal::MimeType(c);
    if (IsLeaf(c) && (type == "text/rfc822-headers" || type == "message/rfc822-headers" ||
                      type == "message/global-headers")) {
      GPtr<GMimeMessage> headers = ParseHeaderBlock(PartBytes(c));
      if (headers != nullptr && g_mime_message_get_message_id(headers.get()) != nullptr) {
        return Str(g_mime_message_get_message_id(headers.get()));
      }
    }
  }
  return "";
}

Error TooDeep(const Limits& limits) {
  return MakeError(errors::kMailTooDeep, "The mail nests MIME parts deeper than " +
                                             std::to_string(limits.max_depth) + " levels.");
}

}  // namespace

Result<Mail> ParseMail(std::string_view raw, const Limits& limits) {
  if (static_cast<int64_t>(raw.size()) > limits.max_bytes) {
    return MakeError(errors::kMailTooLarge,
                     "The mail is larger than " + std::to_string(limits.max_bytes) + " bytes.",
                     std::to_string(raw.size()) + " bytes");
  }
  EnsureGMime();
  ParseWarnings warnings;
  GMimeParserOptions* options = NewParserOptions();
  g_mime_parser_options_set_warning_callback(options, OnParserWarning, &warnings);
  // GMime copies nothing here: the stream reads `raw` in place, and raw outlives the parse.
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options));
  g_mime_parser_options_free(options);
  if (message == nullptr ||
      g_mime_header_list_get_count(g_mime_object_get_header_list(AsObject(message.get()))) == 0) {
    return MakeError(errors::kMailInvalid,
                     "This is not an e-mail message (no header block found).");
  }
  GMimeObject* root = g_mime_message_get_mime_part(message.get());
  // GMime stops at 1024 levels itself (and says so); that is beyond any max_depth.
  if (warnings.nesting_overflow || (root != nullptr && MaxDepth(root) > limits.max_depth)) {
    return TooDeep(limits);
  }
  if (warnings.truncated) {
    return MakeError(errors::kMailInvalid,
                     "The mail is truncated: a multipart part lacks its closing boundary.");
  }
  std::vector<GMimeObject*> alternatives, more;
  GMimeObject* body = root == nullptr ? nullptr : ChooseBody(root, &alternatives, &more);
  Mail mail;
  if (root != nullptr) {
    mail.attachments =
        CollectAttachments(root, body, alternatives, more, limits, &mail.attachments_not_kept);
  }
  HeaderFacts facts = ReadHeaders(message.get(), &mail);
  std::string text = BodyText(body);
  for (GMimeObject* part : more) {
    std::string rest = BodyText(part);
    if (!TrimAscii(rest).empty())
      text += (TrimAscii(text).empty() ? "" : "\n\n") + rest;
  }
  Finish(message.get(), facts, text, &mail);
  if (facts.content_type == "multipart/report" && facts.report_type == "delivery-status") {
    mail.bounced_message_id = BouncedMessageId(root);
  }
  return mail;
}

bool VerifyMailgun(std::string_view signing_key, std::string_view timestamp, std::string_view token,
                   std::string_view signature, int64_t now_unix, int64_t max_age_s) {
  if (signing_key.empty() || timestamp.empty() || timestamp.size() > 15) {
    return false;
  }
  int64_t ts = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9') {
      return false;
    }
    ts = ts * 10 + (c - '0');
  }
  int64_t age = now_unix - ts;
  if (age > max_age_s || age < -max_age_s) {
    return false;
  }
  std::string expected = HmacSha256Hex(signing_key, std::string(timestamp) + std::string(token));
  return ConstantTimeEquals(expected, AsciiLower(TrimAscii(signature)));
}

namespace {

struct Stripping {
  int removed = 0;
};

// Each leaf part that is not the text of the mail loses its content; a header says what was
// there. Attached messages lose theirs whole.
void StripPart(GMimeObject* /*parent*/, GMimeObject* part, gpointer data) {
  auto* st = static_cast<Stripping*>(data);
  if (IsA(part, GMIME_TYPE_MESSAGE_PART)) {
    auto* mp = reinterpret_cast<GMimeMessagePart*>(part);
    GPtr<GMimeMessage> empty(g_mime_message_new(TRUE));
    g_mime_message_part_set_message(mp, empty.get());
    g_mime_object_set_header(part, "X-Meldestelle-Removed", "attached message", nullptr);
    ++st->removed;
    return;
  }
  if (!IsA(part, GMIME_TYPE_PART))
    return;
  auto* leaf = reinterpret_cast<GMimePart*>(part);
  std::string type = MimeType(part);
  bool text =
      (type == "text/plain" || type == "text/html") && g_mime_part_is_attachment(leaf) == FALSE;
  if (text)
    return;
  // The decoded size, for the note.
  int64_t size = 0;
  if (GMimeDataWrapper* content = g_mime_part_get_content(leaf)) {
    GPtr<GMimeStream> sink(g_mime_stream_null_new());
    size = g_mime_data_wrapper_write_to_stream(content, sink.get());
  }
  GPtr<GMimeStream> nothing(g_mime_stream_mem_new());
  GPtr<GMimeDataWrapper> empty(
      g_mime_data_wrapper_new_with_stream(nothing.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(leaf, empty.get());
  std::string note = std::to_string(size < 0 ? 0 : size) + " bytes";
  g_mime_object_set_header(part, "X-Meldestelle-Removed", note.c_str(), nullptr);
  ++st->removed;
}

}  // namespace

namespace {

// A robot finding that a web form's own sending makes: its noreply@ address, its
// "Auto-Submitted: auto-generated", its empty Return-Path. Anything else (list headers, an
// out-of-office's marks, "auto-replied") is a robot's, whoever relays it.
bool MadeByTheForm(const std::string& reason) {
  const std::string r = AsciiLower(reason);
  if (r == "return-path: <>" || r.starts_with("auto-submitted: auto-generated"))
    return true;
  for (const char* local : {"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply"}) {
    if (r == std::string("from ") + local)
      return true;
  }
  return false;
}

}  // namespace

bool IsFormSender(const std::vector<std::string>& form_senders, std::string_view own,
                  std::string_view address) {
  return AsciiEqualIgnoringCase(address, own) ||
         std::any_of(form_senders.begin(), form_senders.end(),
                     [&](const std::string& s) { return AsciiEqualIgnoringCase(address, s); });
}

bool TakeFormRelay(const std::vector<std::string>& form_senders, std::string_view own, Mail* mail) {
  const bool ours = AsciiEqualIgnoringCase(mail->from_address, own);
  auto listed = [&](std::string_view address) { return IsFormSender(form_senders, own, address); };
  if (mail->robot == Robot::kBounce || !IsRecipientAddress(mail->reply_to) ||
      !listed(mail->from_address) || listed(mail->reply_to))
    return false;
  if (mail->robot != Robot::kNone) {
    // Our own address relays only what nothing marks as a robot's (our own mails carry
    // Auto-Submitted: one coming back through a group must not be answered).
    if (ours || !std::all_of(mail->robot_reasons.begin(), mail->robot_reasons.end(), MadeByTheForm))
      return false;
  }
  mail->relayed_by = mail->from_address;
  mail->robot = Robot::kNone;
  mail->robot_reasons.clear();
  mail->return_path_empty = false;
  return true;
}

std::string WithoutAttachments(std::string_view raw) {
  EnsureGMime();
  GMimeParserOptions* options = NewParserOptions();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options));
  g_mime_parser_options_free(options);
  // Not a message: only what looks like its header block is kept (up to the first blank line).
  auto headers_only = [&] {
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string_view::npos)
      end = raw.find("\n\n");
    return std::string(raw.substr(0, std::min<size_t>(end, 64 * 1024)));
  };
  if (message == nullptr)
    return headers_only();
  Stripping st;
  g_mime_message_foreach(message.get(), StripPart, &st);
  if (st.removed == 0)
    return std::string(raw);
  char* text = g_mime_object_to_string(AsObject(message.get()), nullptr);
  if (text == nullptr)
    return headers_only();
  std::string out(text);
  g_free(text);
  return out;
}

}  // namespace meldestelle::email
