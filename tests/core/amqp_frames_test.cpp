#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "core/amqp.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace amqp_frames_test {

using namespace meldestelle;

namespace {

constexpr int kFrameMax = 65536;  // librabbitmq 0.11's frame size before the handshake

// What librabbitmq's own amqp_basic_publish() writes for the same message, read from the other
// end of a socket pair. The pair's buffer must hold the whole message.
std::string LibraryBytes(std::string_view exchange, std::string_view routing_key, bool mandatory,
                         const amqp_basic_properties_t& props, std::string_view body) {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  int room = 1 << 20;
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
  setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  REQUIRE(socket != nullptr);
  amqp_tcp_socket_set_sockfd(socket, fds[0]);
  // A new connection frames with kFrameMax bytes (it cannot be tuned before the handshake).
  REQUIRE(amqp_get_frame_max(conn) == kFrameMax);
  amqp_basic_properties_t copy = props;
  int rc = amqp_basic_publish(
      conn, 1, amqp_bytes_t{exchange.size(), const_cast<char*>(exchange.data())},
      amqp_bytes_t{routing_key.size(), const_cast<char*>(routing_key.data())}, mandatory ? 1 : 0, 0,
      &copy, amqp_bytes_t{body.size(), const_cast<char*>(body.data())});
  REQUIRE(rc == AMQP_STATUS_OK);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[1], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  amqp_destroy_connection(conn);  // closes fds[0]
  close(fds[1]);
  return out;
}

amqp_basic_properties_t ReportProperties(const char* message_id, amqp_table_entry_t* header) {
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                 AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
  props.delivery_mode = 2;
  props.content_type = amqp_cstring_bytes("application/json");
  props.message_id = amqp_cstring_bytes(message_id);
  header->key = amqp_cstring_bytes("x-received-ms");
  header->value.kind = AMQP_FIELD_KIND_UTF8;
  header->value.value.bytes = amqp_cstring_bytes("1795000000123");
  props.headers = amqp_table_t{1, header};
  return props;
}

}  // namespace

TEST_CASE("Publish frames are byte for byte what amqp_basic_publish sends") {
  amqp_table_entry_t header;
  auto props = ReportProperties("0b9c3e1a-4f2d-4c1e-9a7b-3c5d7e9f1a2b", &header);
  std::string body(1024, 'x');
  body[0] = '{';
  std::string ours = "prefix";  // appends, keeps what was there
  REQUIRE(
      AppendPublishFrames(ours, 1, "meldestelle.reports", "report", true, props, body, kFrameMax)
          .ok());
  std::string theirs = LibraryBytes("meldestelle.reports", "report", true, props, body);
  CHECK(ours == "prefix" + theirs);
  // method frame, content header, one body frame; each ends in 0xCE
  CHECK(theirs.size() > body.size() + 3 * 8);
  CHECK(static_cast<unsigned char>(ours.back()) == 0xCE);
}

TEST_CASE("A body longer than a frame is split like the library splits it") {
  amqp_table_entry_t header;
  auto props = ReportProperties("id-2", &header);
  std::string body;
  for (int i = 0; i < 150000; ++i)
    body.push_back(static_cast<char>('a' + i % 26));
  std::string ours;
  REQUIRE(AppendPublishFrames(ours, 1, "", "queue", false, props, body, kFrameMax).ok());
  std::string theirs = LibraryBytes("", "queue", false, props, body);
  CHECK(ours == theirs);
  // 150000 bytes in frames of at most 65528 payload bytes: three body frames
  size_t body_frames = 0;
  for (size_t at = 0; at + 7 <= ours.size();) {
    auto u = [&](size_t i) { return static_cast<unsigned char>(ours[i]); };
    size_t size = (u(at + 3) << 24) | (u(at + 4) << 16) | (u(at + 5) << 8) | u(at + 6);
    if (u(at) == AMQP_FRAME_BODY)
      ++body_frames;
    at += 7 + size + 1;
  }
  CHECK(body_frames == 3);
}

TEST_CASE("A message that cannot be framed is an error and appends nothing") {
  amqp_table_entry_t header;
  auto props = ReportProperties("id-3", &header);
  std::string out = "kept";
  std::string long_exchange(300, 'e');  // a short string holds at most 255 bytes
  auto st = AppendPublishFrames(out, 1, long_exchange, "report", true, props, "{}", 131072);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code.name() == "amqp_encode");
  CHECK(out == "kept");
  auto tiny = AppendPublishFrames(out, 1, "x", "report", true, props, "{}", 8);
  REQUIRE_FALSE(tiny.ok());
  CHECK(out == "kept");
}

}  // namespace amqp_frames_test
