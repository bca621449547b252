#include "core/amqp.hpp"

#include <amqp_tcp_socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/errors.hpp"

namespace meldestelle {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Returns false on a malformed escape.
bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string BytesToString(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace

Result<AmqpUrl> ParseAmqpUrl(std::string_view url) {
  AmqpUrl u;
  constexpr std::string_view kScheme = "amqp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return MakeError(errors::kConfigInvalid, "AMQP URL must start with amqp://");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    bool ok = PercentDecode(cred.substr(0, colon), &u.user);
    if (colon == std::string_view::npos) {
      u.password.clear();
    } else {
      ok = PercentDecode(cred.substr(colon + 1), &u.password) && ok;
    }
    if (!ok)
      return MakeError(errors::kConfigInvalid, "AMQP URL has a malformed %-escape");
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string port(rest.substr(colon + 1));
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p <= 0 || p > 65535) {
      return MakeError(errors::kConfigInvalid, "AMQP URL has an invalid port");
    }
    u.port = static_cast<int>(p);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty())
    u.host = std::string(rest);
  if (!path.empty() && !PercentDecode(path, &u.vhost)) {
    return MakeError(errors::kConfigInvalid, "AMQP URL has a malformed %-escape");
  }
  return u;
}

std::string DescribeRpcReply(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
        return "connection closed by broker: " + std::to_string(m->reply_code) + " " +
               BytesToString(m->reply_text);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
        return "channel closed by broker: " + std::to_string(m->reply_code) + " " +
               BytesToString(m->reply_text);
      }
      return "broker error";
  }
  return "unknown RPC reply";
}

Result<AmqpConnection> AmqpConnection::Open(const AmqpUrl& url, int heartbeat_seconds,
                                            std::chrono::milliseconds timeout) {
  amqp_connection_state_t conn = amqp_new_connection();
  AmqpConnection c(conn);
  c.broken_ = true;  // until login succeeded
  c.node_ = url.host + ":" + std::to_string(url.port);
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) {
    return MakeError(errors::kBrokerUnavailable, "cannot create socket");
  }
  struct timeval tv;
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    return MakeError(errors::kBrokerUnavailable, "cannot connect to the broker",
                     url.host + ":" + std::to_string(url.port) + ": " + amqp_error_string2(rc));
  }
  // TCP keepalive notices a broker that vanished without closing the connection, also on
  // connections that run without AMQP heartbeats.
  int fd = amqp_get_sockfd(conn);
  int on = 1;
  int idle = 20;
  int interval = 5;
  int count = 3;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  amqp_set_handshake_timeout(conn, &tv);
  amqp_set_rpc_timeout(conn, &tv);
  amqp_rpc_reply_t login =
      amqp_login(conn, url.vhost.c_str(), 0, 131072, heartbeat_seconds, AMQP_SASL_METHOD_PLAIN,
                 url.user.c_str(), url.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    return MakeError(errors::kBrokerUnavailable, "broker login failed", DescribeRpcReply(login));
  }
  amqp_channel_open(conn, kChannel);
  amqp_rpc_reply_t open = amqp_get_rpc_reply(conn);
  if (open.reply_type != AMQP_RESPONSE_NORMAL) {
    return MakeError(errors::kBrokerUnavailable, "cannot open channel", DescribeRpcReply(open));
  }
  c.broken_ = false;
  return c;
}

AmqpConnection::AmqpConnection(AmqpConnection&& other) noexcept
    : conn_(other.conn_), broken_(other.broken_), node_(std::move(other.node_)) {
  other.conn_ = nullptr;
}

AmqpConnection& AmqpConnection::operator=(AmqpConnection&& other) noexcept {
  if (this != &other) {
    this->~AmqpConnection();
    conn_ = other.conn_;
    broken_ = other.broken_;
    node_ = std::move(other.node_);
    other.conn_ = nullptr;
  }
  return *this;
}

AmqpConnection::~AmqpConnection() {
  if (conn_ == nullptr)
    return;
  if (!broken_) {
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn_);
  conn_ = nullptr;
}

Status AmqpConnection::CheckRpc(std::string_view what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    return Ok{};
  }
  broken_ = true;
  return MakeError(errors::kBrokerError, std::string(what) + " failed", DescribeRpcReply(r));
}

amqp_table_entry_t StringEntry(const char* key, const char* value) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = amqp_cstring_bytes(value);
  return e;
}

amqp_table_entry_t IntEntry(const char* key, int64_t value) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = value;
  return e;
}

std::vector<std::string> BrokerUrls(const Config::Amqp& cfg) {
  return cfg.urls.empty() ? std::vector<std::string>{cfg.url} : cfg.urls;
}

Result<AmqpConnection> OpenAnyNode(const std::vector<std::string>& urls, int heartbeat_seconds,
                                   std::chrono::milliseconds timeout, size_t* cursor) {
  if (urls.empty())
    return MakeError(errors::kConfigInvalid, "no broker URL configured");
  size_t start = cursor != nullptr ? *cursor % urls.size() : 0;
  std::string reasons;
  for (size_t k = 0; k < urls.size(); ++k) {
    const size_t i = (start + k) % urls.size();
    auto url = ParseAmqpUrl(urls[i]);
    if (!url)
      return url.error();
    auto conn = AmqpConnection::Open(*url, heartbeat_seconds, timeout);
    if (conn) {
      if (cursor != nullptr)
        *cursor = i;
      return conn;
    }
    if (urls.size() == 1)
      return conn.error();
    reasons += (reasons.empty() ? "" : "; ") + conn.error().message +
               (conn.error().detail.empty() ? "" : " (" + conn.error().detail + ")");
  }
  return MakeError(errors::kBrokerUnavailable,
                   "no broker node answers (" + std::to_string(urls.size()) + " tried)", reasons);
}

Result<AmqpConnection> ConnectToBroker(const Config& config, size_t* cursor) {
  auto conn = OpenAnyNode(BrokerUrls(config.amqp), 0, std::chrono::seconds(5), cursor);
  if (!conn)
    return conn.error();
  if (auto st = DeclareTopology(*conn, config.amqp); !st)
    return st.error();
  return conn;
}

Status DeclareTopology(AmqpConnection& conn, const Config::Amqp& cfg) {
  amqp_connection_state_t c = conn.get();
  constexpr amqp_channel_t ch = AmqpConnection::kChannel;
  amqp_exchange_declare(c, ch, amqp_cstring_bytes(cfg.exchange.c_str()),
                        amqp_cstring_bytes("direct"), 0, /*durable=*/1, 0, 0, amqp_empty_table);
  if (auto st = conn.CheckRpc("exchange.declare " + cfg.exchange); !st)
    return st;

  amqp_table_entry_t dl_entries[] = {StringEntry("x-queue-type", "quorum")};
  amqp_table_t dl_args{1, dl_entries};
  amqp_queue_declare(c, ch, amqp_cstring_bytes(cfg.dead_letter_queue.c_str()), 0, 1, 0, 0, dl_args);
  if (auto st = conn.CheckRpc("queue.declare " + cfg.dead_letter_queue); !st)
    return st;

  amqp_table_entry_t q_entries[] = {
      StringEntry("x-queue-type", "quorum"),
      IntEntry("x-delivery-limit", kBrokerDeliveryLimit),
      StringEntry("x-dead-letter-exchange", ""),
      StringEntry("x-dead-letter-routing-key", cfg.dead_letter_queue.c_str()),
  };
  amqp_table_t q_args{4, q_entries};
  amqp_queue_declare(c, ch, amqp_cstring_bytes(cfg.queue.c_str()), 0, 1, 0, 0, q_args);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
      static_cast<amqp_channel_close_t*>(r.reply.decoded)->reply_code == AMQP_PRECONDITION_FAILED) {
    // The queue exists with other arguments (declared by an older version): use it as it is
    // rather than stop the whole pipeline. The broker closed the channel; open it again.
    amqp_channel_close_ok_t close_ok{};
    amqp_send_method(c, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    amqp_channel_open(c, ch);
    if (auto st = conn.CheckRpc("channel.open"); !st)
      return st;
    amqp_queue_declare(c, ch, amqp_cstring_bytes(cfg.queue.c_str()), /*passive=*/1, 0, 0, 0,
                       amqp_empty_table);
    if (auto st = conn.CheckRpc("queue.declare (passive) " + cfg.queue); !st)
      return st;
  } else if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    conn.MarkBroken();
    return MakeError(errors::kBrokerError, "queue.declare " + cfg.queue + " failed",
                     DescribeRpcReply(r));
  }
  amqp_queue_bind(c, ch, amqp_cstring_bytes(cfg.queue.c_str()),
                  amqp_cstring_bytes(cfg.exchange.c_str()),
                  amqp_cstring_bytes(std::string(kReportRoutingKey).c_str()), amqp_empty_table);
  return conn.CheckRpc("queue.bind");
}

struct OwnedProperties::Held {
  Held() {
    init_amqp_pool(&pool, 4096);
    std::memset(&props, 0, sizeof props);
  }
  ~Held() { empty_amqp_pool(&pool); }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  amqp_pool_t pool;
  amqp_basic_properties_t props;
};

OwnedProperties::OwnedProperties() : held_(std::make_shared<const Held>()) {}

OwnedProperties::OwnedProperties(const amqp_basic_properties_t& in) {
  auto held = std::make_shared<Held>();
  amqp_basic_properties_t& p = held->props;
  p = in;
  // The byte fields and the headers point into `in`'s pool: copied into ours.
  auto copy = [&](amqp_flags_t flag, amqp_bytes_t* field) {
    if ((p._flags & flag) == 0 || field->len == 0) {
      *field = amqp_empty_bytes;
      return;
    }
    amqp_bytes_t to;
    amqp_pool_alloc_bytes(&held->pool, field->len, &to);
    if (to.bytes == nullptr) {
      p._flags &= ~flag;  // out of memory: the field is left out, never pointed at freed memory
      *field = amqp_empty_bytes;
      return;
    }
    std::memcpy(to.bytes, field->bytes, field->len);
    *field = to;
  };
  copy(AMQP_BASIC_CONTENT_TYPE_FLAG, &p.content_type);
  copy(AMQP_BASIC_CONTENT_ENCODING_FLAG, &p.content_encoding);
  copy(AMQP_BASIC_CORRELATION_ID_FLAG, &p.correlation_id);
  copy(AMQP_BASIC_REPLY_TO_FLAG, &p.reply_to);
  copy(AMQP_BASIC_EXPIRATION_FLAG, &p.expiration);
  copy(AMQP_BASIC_MESSAGE_ID_FLAG, &p.message_id);
  copy(AMQP_BASIC_TYPE_FLAG, &p.type);
  copy(AMQP_BASIC_USER_ID_FLAG, &p.user_id);
  copy(AMQP_BASIC_APP_ID_FLAG, &p.app_id);
  copy(AMQP_BASIC_CLUSTER_ID_FLAG, &p.cluster_id);
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    amqp_table_t cloned;
    if (amqp_table_clone(&in.headers, &cloned, &held->pool) == AMQP_STATUS_OK) {
      p.headers = cloned;
    } else {
      p._flags &= ~AMQP_BASIC_HEADERS_FLAG;
      p.headers = amqp_empty_table;
    }
  }
  held_ = std::move(held);
}

const amqp_basic_properties_t& OwnedProperties::get() const { return held_->props; }

bool IsPerTripHeader(std::string_view key) {
  return key == "x-delivery-count" || key == "x-death" || key.rfind("x-first-death-", 0) == 0 ||
         key.rfind("x-last-death-", 0) == 0 || key.rfind("x-meldestelle-", 0) == 0;
}

void RepublishProperties(const amqp_basic_properties_t& in,
                         const std::vector<amqp_table_entry_t>& extra,
                         std::vector<amqp_table_entry_t>* headers, amqp_basic_properties_t* out) {
  std::memset(out, 0, sizeof *out);
  constexpr amqp_flags_t kCarried =
      AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_PRIORITY_FLAG |
      AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
      AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_APP_ID_FLAG;
  out->_flags = (in._flags & kCarried) | AMQP_BASIC_DELIVERY_MODE_FLAG;
  out->content_type = in.content_type;
  out->content_encoding = in.content_encoding;
  out->priority = in.priority;
  out->correlation_id = in.correlation_id;
  out->reply_to = in.reply_to;
  out->message_id = in.message_id;
  out->timestamp = in.timestamp;
  out->type = in.type;
  out->app_id = in.app_id;
  out->delivery_mode = 2;
  if ((out->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) == 0) {
    out->_flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    out->content_type = amqp_cstring_bytes("application/json");
  }
  headers->clear();
  if ((in._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    for (int i = 0; i < in.headers.num_entries; ++i) {
      const amqp_table_entry_t& e = in.headers.entries[i];
      if (!IsPerTripHeader(std::string_view(static_cast<const char*>(e.key.bytes), e.key.len)))
        headers->push_back(e);
    }
  }
  headers->insert(headers->end(), extra.begin(), extra.end());
  if (!headers->empty()) {
    out->_flags |= AMQP_BASIC_HEADERS_FLAG;
    out->headers = amqp_table_t{static_cast<int>(headers->size()), headers->data()};
  }
}

std::string HeaderValue(const amqp_basic_properties_t& props, std::string_view name) {
  if ((props._flags & AMQP_BASIC_HEADERS_FLAG) == 0)
    return "";
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (std::string_view(static_cast<const char*>(e.key.bytes), e.key.len) != name)
      continue;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES:
        return BytesToString(e.value.value.bytes);
      case AMQP_FIELD_KIND_I8:
        return std::to_string(e.value.value.i8);
      case AMQP_FIELD_KIND_U8:
        return std::to_string(e.value.value.u8);
      case AMQP_FIELD_KIND_I16:
        return std::to_string(e.value.value.i16);
      case AMQP_FIELD_KIND_U16:
        return std::to_string(e.value.value.u16);
      case AMQP_FIELD_KIND_I32:
        return std::to_string(e.value.value.i32);
      case AMQP_FIELD_KIND_U32:
        return std::to_string(e.value.value.u32);
      case AMQP_FIELD_KIND_I64:
        return std::to_string(e.value.value.i64);
      case AMQP_FIELD_KIND_U64:
        return std::to_string(e.value.value.u64);
      default:
        return "";
    }
  }
  return "";
}

namespace {

// AMQP 0-9-1 frame: type, channel, payload size, payload, frame-end octet (spec §4.2.3).
constexpr size_t kFrameHeader = 7;
constexpr unsigned char kFrameEnd = 0xCE;

void PutBig(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Starts a frame whose payload size is filled in by EndFrame.
size_t BeginFrame(std::string& out, uint8_t type, amqp_channel_t channel) {
  out.push_back(static_cast<char>(type));
  PutBig(out, channel, 2);
  size_t at = out.size();
  PutBig(out, 0, 4);
  return at;
}

void EndFrame(std::string& out, size_t size_at) {
  uint64_t size = out.size() - size_at - 4;
  for (int i = 0; i < 4; ++i) {
    out[size_at + i] = static_cast<char>((size >> (8 * (3 - i))) & 0xFF);
  }
  out.push_back(static_cast<char>(kFrameEnd));
}

amqp_bytes_t Bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

// Encodes into the free space after out's end with `encode(bytes) -> length or error`.
template <typename Encode>
Status AppendEncoded(std::string& out, size_t room, const char* what, Encode encode) {
  size_t at = out.size();
  out.resize(at + room);
  int n = encode(amqp_bytes_t{room, out.data() + at});
  if (n < 0) {
    out.resize(at);
    return MakeError(errors::kAmqpEncode, "cannot encode " + std::string(what),
                     amqp_error_string2(n));
  }
  out.resize(at + static_cast<size_t>(n));
  return Ok{};
}

}  // namespace

Status AppendPublishFrames(std::string& out, amqp_channel_t channel, std::string_view exchange,
                           std::string_view routing_key, bool mandatory,
                           const amqp_basic_properties_t& props, std::string_view body,
                           size_t frame_max) {
  if (frame_max <= kFrameHeader + 1) {
    return MakeError(errors::kAmqpEncode, "frame_max too small: " + std::to_string(frame_max));
  }
  size_t payload_max = frame_max - kFrameHeader - 1;
  size_t start = out.size();
  auto fail = [&](Status st) {
    out.resize(start);
    return st;
  };

  size_t at = BeginFrame(out, AMQP_FRAME_METHOD, channel);
  PutBig(out, AMQP_BASIC_PUBLISH_METHOD, 4);
  amqp_basic_publish_t method{};
  method.exchange = Bytes(exchange);
  method.routing_key = Bytes(routing_key);
  method.mandatory = mandatory ? 1 : 0;
  // Two short strings (<= 255 bytes each) and a few octets.
  if (auto st = AppendEncoded(out, 2 + 2 * 256 + 1, "basic.publish",
                              [&](amqp_bytes_t b) {
                                return amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &method, b);
                              });
      !st) {
    return fail(st);
  }
  EndFrame(out, at);

  at = BeginFrame(out, AMQP_FRAME_HEADER, channel);
  PutBig(out, AMQP_BASIC_CLASS, 2);
  PutBig(out, 0, 2);  // weight
  PutBig(out, body.size(), 8);
  amqp_basic_properties_t copy = props;
  auto encode_properties = [&](amqp_bytes_t b) {
    return amqp_encode_properties(AMQP_BASIC_CLASS, &copy, b);
  };
  // A message's properties (a few ids, a type, small headers) take a few hundred bytes; the
  // whole frame's room (128 KiB) is only tried when they do not fit: std::string::resize zeroes
  // what it adds, and 128 KiB per message was 2 % of the gateway's CPU (docs/benchmarks.md).
  size_t properties_at = out.size();
  if (auto small = AppendEncoded(out, std::min<size_t>(4096, payload_max - 12),
                                 "message properties", encode_properties);
      !small) {
    out.resize(properties_at);
    if (auto st = AppendEncoded(out, payload_max - 12, "message properties", encode_properties);
        !st) {
      return fail(st);
    }
  }
  EndFrame(out, at);

  for (size_t off = 0; off < body.size(); off += payload_max) {
    at = BeginFrame(out, AMQP_FRAME_BODY, channel);
    out.append(body.substr(off, payload_max));
    EndFrame(out, at);
  }
  return Ok{};
}

Status SendRaw(amqp_connection_state_t conn, std::string_view data,
               std::chrono::milliseconds timeout) {
  int fd = amqp_get_sockfd(conn);
  if (fd < 0)
    return MakeError(errors::kBrokerUnavailable, "not connected");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return MakeError(errors::kBrokerUnavailable, "sending to the broker timed out");
      }
      pollfd pfd{fd, POLLOUT, 0};
      poll(&pfd, 1, static_cast<int>(left.count()));
      continue;
    }
    return MakeError(errors::kBrokerUnavailable, "sending to the broker failed",
                     n < 0 ? std::strerror(errno) : "connection closed");
  }
  return Ok{};
}

}  // namespace meldestelle
