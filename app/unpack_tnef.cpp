// `meldestelle unpack-tnef`: the files inside one Outlook winmail.dat, for the worker, which runs
// it in a process of its own (channels/email/tnef.hpp).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "app/command.hpp"
#include "channels/email/tnef.hpp"

namespace meldestelle::app {

namespace {

const char* kUnpackTnefHelp =
    R"(Usage: meldestelle unpack-tnef < winmail.dat > files

Reads one TNEF stream (application/ms-tnef, Outlook's winmail.dat) from stdin and writes the
files inside it to stdout, each as its name and its bytes after their lengths (4 bytes,
little-endian). The worker runs it for every such attachment of an e-mail, in a process of its
own limited to 1 GiB of memory and 10 s of CPU (docs/channels/email.md, "Outlook's
winmail.dat"). Reads no configuration.
Exit codes: 0 the files were written; 1 the input is no TNEF stream or a broken one (nothing
written); 2 a usage error.
)";

constexpr size_t kMaxInput = size_t{1} << 31;

}  // namespace

int RunUnpackTnef(const Args& args) {
  if (args.help) {
    std::cout << kUnpackTnefHelp;
    return kExitOk;
  }
  if (!TakesOptions(args, kUnpackTnefHelp, "unpack-tnef"))
    return kExitUsage;
  // A library that trusts its input: what it may take is bounded here, not in the worker.
  const rlimit cpu{10, 10};
  setrlimit(RLIMIT_CPU, &cpu);
#if !defined(__SANITIZE_ADDRESS__)  // AddressSanitizer maps terabytes of shadow memory
  const rlimit memory{size_t{1} << 30, size_t{1} << 30};
  setrlimit(RLIMIT_AS, &memory);
#endif
  std::string in;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) {
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxInput) {
      std::cerr << "meldestelle unpack-tnef: input larger than " << kMaxInput << " bytes\n";
      return kExitFailure;
    }
  }
  // The library prints its complaints to stdout, where our answer goes: its stdout is
  // /dev/null, ours a copy of the descriptor.
  const int answer = ::dup(STDOUT_FILENO);
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (answer < 0 || null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
    std::cerr << "meldestelle unpack-tnef: cannot set up stdout\n";
    return kExitFailure;
  }
  auto files = email::UnpackTnef(in);
  std::fflush(stdout);
  if (!files) {
    std::cerr << "meldestelle unpack-tnef: no readable TNEF stream (" << in.size() << " bytes)\n";
    return kExitFailure;
  }
  const std::string out = email::EncodeFiles(*files);
  size_t written = 0;
  while (written < out.size()) {
    ssize_t w = ::write(answer, out.data() + written, out.size() - written);
    if (w <= 0)
      return kExitFailure;
    written += static_cast<size_t>(w);
  }
  return kExitOk;
}

}  // namespace meldestelle::app
