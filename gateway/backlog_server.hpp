#pragma once

// cpp-httplib's server with a wider listen backlog; for .cpp files (it brings cpp-httplib).
#include <httplib.h>
#include <sys/socket.h>

namespace meldestelle::gateway {

// cpp-httplib's listen backlog is compiled in as 5; widen it on the bound socket (platform.md).
class BacklogServer : public httplib::Server {
 public:
  bool WidenBacklog(int n) { return ::listen(svr_sock_, n) == 0; }
};

}  // namespace meldestelle::gateway
