// meldestelle-tnef: the files inside one Outlook winmail.dat, for the worker, which runs it per
// stream in a process of its own (channels/email/tnef.hpp, tnef_reader.hpp).
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "channels/email/tnef.hpp"
#include "channels/email/tnef_reader.hpp"

namespace {

const char* kHelp =
    R"(Usage: meldestelle-tnef < winmail.dat > files

Reads one TNEF stream (application/ms-tnef, Outlook's winmail.dat) from stdin and writes the
files inside it to stdout, each as its name and its bytes after their lengths (4 bytes,
little-endian). The Meldestelle worker runs it for every such attachment of an e-mail, in a
process of its own (docs/channels/email.md, "Outlook's winmail.dat"); it reads no
configuration. Limits: 256 MiB of input, 1 GiB of memory, 5 s of CPU; no core dump.
Exit codes: 0 the files were written; 3 the input is no TNEF stream or a broken one (nothing
written); 1 it could not read or write (tried again by the worker); 2 a usage error.
)";

constexpr size_t kMaxInput = size_t{256} << 20;
constexpr int kNoStream = 3;  // the stream's fault: the worker takes it as unreadable

bool WriteAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    written += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << kHelp;
    return 0;
  }
  if (argc != 1) {
    std::cerr << "meldestelle-tnef: takes no arguments (--help)\n";
    return 2;
  }
  // A library that trusts its input: what it may take is bounded here. A crash writes no core
  // file (it would hold the citizen's mail, outside any retention).
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Soft below hard: SIGXCPU at the soft limit (a crash to the worker: the stream's doing);
  // at equal limits Linux sends SIGKILL, which the worker takes for the machine's.
  const rlimit cpu{5, 6};
  setrlimit(RLIMIT_CPU, &cpu);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer maps terabytes of shadow memory
  const rlimit memory{size_t{1} << 30, size_t{1} << 30};
  setrlimit(RLIMIT_AS, &memory);
#endif
  std::string in;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      std::cerr << "meldestelle-tnef: reading stdin: " << std::strerror(errno) << "\n";
      return 1;
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxInput) {
      std::cerr << "meldestelle-tnef: input larger than " << kMaxInput << " bytes\n";
      return kNoStream;
    }
  }
  // The library prints its complaints to stdout, where the answer goes: its stdout is
  // /dev/null, the answer goes to a copy of the descriptor.
  const int answer = ::dup(STDOUT_FILENO);
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (answer < 0 || null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
    std::cerr << "meldestelle-tnef: cannot set up stdout\n";
    return 1;
  }
  auto files = meldestelle::email::UnpackTnef(in);
  std::fflush(stdout);
  if (!files) {
    std::cerr << "meldestelle-tnef: no readable TNEF stream (" << in.size() << " bytes)\n";
    return kNoStream;
  }
  return WriteAll(answer, meldestelle::email::EncodeFiles(*files)) ? 0 : 1;
}
