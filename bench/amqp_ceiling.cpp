// amqp_ceiling: the broker's raw publish ceiling, the upper bound for the gateway's accept rate.
//
// One connection, one channel, publisher confirms with a window of N unconfirmed messages,
// persistent 1 KiB JSON bodies into a durable quorum queue (what the gateway does per report).
// Prints "ceiling_msgs_per_sec: N" (confirmed messages / seconds until the last confirm).
//
// rabbitmq-c 0.11 has no amqp_publisher_confirm_wait(), so basic.ack/nack frames are read by hand;
// an ack with multiple=1 confirms every tag up to and including its delivery tag.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr amqp_channel_t kChannel = 1;

struct Options {
  std::string url = "amqp://guest:guest@127.0.0.1:5672/%2f";
  std::string queue = "bench.ceiling";
  std::uint64_t window = 1000;
  double seconds = 8.0;
  std::size_t body_bytes = 1024;
  bool keep_queue = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "amqp_ceiling: %s\n", what.c_str());
  std::exit(1);
}

void Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: amqp_ceiling [--url URL] [--window N] [--seconds D] [--queue NAME]\n"
               "                    [--bytes N] [--keep-queue]\n"
               "  --url      AMQP URL [$MELDESTELLE_AMQP_URL or amqp://guest:guest@127.0.0.1:5672/%%2f]\n"
               "  --window   unconfirmed messages in flight [1000]\n"
               "  --seconds  publishing time [8]\n"
               "  --queue    durable quorum queue, purged before and deleted after [bench.ceiling]\n"
               "  --bytes    message body size [1024]\n");
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  if (const char* env = std::getenv("MELDESTELLE_AMQP_URL"); env != nullptr && *env != '\0') {
    opt.url = env;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        Usage(stderr);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--url") {
      opt.url = value();
    } else if (arg == "--window") {
      opt.window = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--seconds") {
      opt.seconds = std::strtod(value().c_str(), nullptr);
    } else if (arg == "--queue") {
      opt.queue = value();
    } else if (arg == "--bytes") {
      opt.body_bytes = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--keep-queue") {
      opt.keep_queue = true;
    } else if (arg == "-h" || arg == "--help") {
      Usage(stdout);
      std::exit(0);
    } else {
      Usage(stderr);
      std::exit(2);
    }
  }
  if (opt.window == 0 || opt.seconds <= 0 || opt.body_bytes < 64) {
    Die("--window must be >= 1, --seconds > 0, --bytes >= 64");
  }
  return opt;
}

// A report-like JSON document padded to exactly `size` bytes.
std::string MakeBody(std::size_t size) {
  const std::string head = R"({"description": ")";
  const std::string tail = R"(", "lat": 50.94, "lon": 6.96, "category": "STR-01"})";
  const std::string text =
      "Tiefes Schlagloch auf der Fahrbahn vor Hausnummer 12, Radfahrer muessen ausweichen. ";
  std::string desc;
  while (head.size() + desc.size() + tail.size() < size) {
    desc += text;
  }
  desc.resize(size - head.size() - tail.size());
  return head + desc + tail;
}

void CheckReply(amqp_connection_state_t conn, const char* what) {
  const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn);
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      Die(std::string(what) + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        Die(std::string(what) + ": channel closed: " +
            std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
      }
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        Die(std::string(what) + ": connection closed: " +
            std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
      }
      Die(std::string(what) + ": server exception");
    default:
      Die(std::string(what) + ": no reply");
  }
}

struct Confirms {
  std::set<std::uint64_t> pending;  // published, not yet acked or nacked
  std::uint64_t acked = 0;
  std::uint64_t nacked = 0;

  void Settle(std::uint64_t tag, bool multiple, bool ack) {
    auto first = pending.begin();
    auto last = multiple ? pending.upper_bound(tag) : pending.find(tag);
    if (!multiple) {
      if (last == pending.end()) {
        return;
      }
      first = last++;
    }
    for (auto it = first; it != last; ++it) {
      (ack ? acked : nacked) += 1;
    }
    pending.erase(first, last);
  }
};

// Handles one incoming frame; returns false on timeout. `block` waits up to 5 s.
bool ReadFrame(amqp_connection_state_t conn, Confirms& confirms, bool block) {
  amqp_frame_t frame;
  timeval tv{block ? 5 : 0, 0};
  const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
  if (rc == AMQP_STATUS_TIMEOUT) {
    if (block) {
      Die("no confirm from the broker within 5 s");
    }
    return false;
  }
  if (rc != AMQP_STATUS_OK) {
    Die(std::string("reading frame: ") + amqp_error_string2(rc));
  }
  if (frame.frame_type != AMQP_FRAME_METHOD) {
    return true;  // heartbeat or content of a basic.return (not used: mandatory=0)
  }
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
      confirms.Settle(ack->delivery_tag, ack->multiple != 0, true);
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
      confirms.Settle(nack->delivery_tag, nack->multiple != 0, false);
      break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
      Die("channel closed by broker: " +
          std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
      Die("connection closed by broker: " +
          std::string(static_cast<const char*>(m->reply_text.bytes), m->reply_text.len));
    }
    default:
      break;
  }
  return true;
}

amqp_connection_state_t Connect(const Options& opt) {
  std::vector<char> url(opt.url.begin(), opt.url.end());
  url.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK) {
    Die("bad AMQP URL: " + opt.url);
  }
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket == nullptr) {
    Die("cannot create socket");
  }
  if (const int rc = amqp_socket_open(socket, info.host, info.port); rc != AMQP_STATUS_OK) {
    Die(std::string("cannot connect to ") + info.host + ":" + std::to_string(info.port) + ": " +
        amqp_error_string2(rc));
  }
  const amqp_rpc_reply_t login = amqp_login(conn, info.vhost, 0, 131072, 0,
                                            AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    // A URL ending in "/" names the empty vhost; the default vhost is "/%2f" (or no path).
    Die(std::string("login as '") + info.user + "' to vhost '" + info.vhost + "' failed");
  }
  amqp_channel_open(conn, kChannel);
  CheckReply(conn, "channel.open");
  return conn;
}

void DeclareAndPurge(amqp_connection_state_t conn, const Options& opt) {
  amqp_table_entry_t entry;
  entry.key = amqp_cstring_bytes("x-queue-type");
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = amqp_cstring_bytes("quorum");
  amqp_table_t args{1, &entry};
  amqp_queue_declare(conn, kChannel, amqp_cstring_bytes(opt.queue.c_str()), /*passive=*/0,
                     /*durable=*/1, /*exclusive=*/0, /*auto_delete=*/0, args);
  CheckReply(conn, "queue.declare");
  amqp_queue_purge(conn, kChannel, amqp_cstring_bytes(opt.queue.c_str()));
  CheckReply(conn, "queue.purge");
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  const std::string body = MakeBody(opt.body_bytes);
  amqp_connection_state_t conn = Connect(opt);
  DeclareAndPurge(conn, opt);
  amqp_confirm_select(conn, kChannel);
  CheckReply(conn, "confirm.select");

  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;  // persistent
  const amqp_bytes_t queue = amqp_cstring_bytes(opt.queue.c_str());
  const amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};

  using Clock = std::chrono::steady_clock;
  Confirms confirms;
  std::uint64_t next_tag = 1;
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  while (Clock::now() < deadline) {
    if (confirms.pending.size() < opt.window) {
      const int rc = amqp_basic_publish(conn, kChannel, amqp_empty_bytes, queue, /*mandatory=*/0,
                                        /*immediate=*/0, &props, payload);
      if (rc != AMQP_STATUS_OK) {
        Die(std::string("basic.publish: ") + amqp_error_string2(rc));
      }
      confirms.pending.insert(next_tag++);
      // Take the confirms that are already there without blocking: those the library has
      // buffered always, the socket only every 32 messages (one poll() per message costs).
      const bool poll_socket = next_tag % 32 == 0;
      while ((poll_socket || amqp_frames_enqueued(conn) != 0 || amqp_data_in_buffer(conn) != 0) &&
             ReadFrame(conn, confirms, false)) {
      }
    } else {
      ReadFrame(conn, confirms, true);
    }
    amqp_maybe_release_buffers(conn);
  }
  while (!confirms.pending.empty()) {
    ReadFrame(conn, confirms, true);
    amqp_maybe_release_buffers(conn);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  if (!opt.keep_queue) {
    amqp_queue_delete(conn, kChannel, queue, 0, 0);
    CheckReply(conn, "queue.delete");
  }
  amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);

  std::printf("published: %llu\nacked: %llu\nnacked: %llu\nseconds: %.2f\nwindow: %llu\n",
              static_cast<unsigned long long>(next_tag - 1),
              static_cast<unsigned long long>(confirms.acked),
              static_cast<unsigned long long>(confirms.nacked), elapsed,
              static_cast<unsigned long long>(opt.window));
  std::printf("ceiling_msgs_per_sec: %.0f\n", static_cast<double>(confirms.acked) / elapsed);
  return confirms.nacked == 0 ? 0 : 1;
}
