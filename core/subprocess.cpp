#include "core/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace meldestelle {

namespace {

// Closes a descriptor once.
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

// The process we started: killed (by its PID) and reaped, whatever way we leave.
struct Child {
  pid_t pid = -1;
  bool reaped = false;
  int status = 0;
  ~Child() {
    if (pid > 0 && !reaped) {
      ::kill(pid, SIGKILL);
      Reap();
    }
  }
  bool Reap() {
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR)
        return false;
    }
    reaped = true;
    return true;
  }
};

// SIGPIPE blocked in this thread while we write to the program (a program that stops reading
// makes our write fail with EPIPE and raise it), taken if raised, then unblocked.
struct PipeSignalBlocked {
  sigset_t pipe, before;
  PipeSignalBlocked() {
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &before);
  }
  ~PipeSignalBlocked() {
    const timespec now{0, 0};
    while (sigtimedwait(&pipe, nullptr, &now) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }
};

bool IsCrash(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGFPE || sig == SIGILL ||
         sig == SIGSYS || sig == SIGXCPU;
}

FilterResult Failed(FilterFailure kind, std::string reason) {
  return {kind, "", std::move(reason), -1, false};
}

// A failure after the program was started.
FilterResult Started(FilterFailure kind, std::string reason) {
  FilterResult r = Failed(kind, std::move(reason));
  r.started = true;
  return r;
}

std::chrono::milliseconds Left(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
}

}  // namespace

std::string OwnExecutable() {
  std::error_code ec;
  std::string path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec)
    return "";
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted))
    path.resize(path.size() - kDeleted.size());
  return path;
}

FilterResult RunFilter(const std::vector<std::string>& argv, std::string_view input,
                       const FilterLimits& limits, const std::vector<std::string>& pass_env) {
  if (argv.empty() || argv[0].empty())
    return Failed(FilterFailure::kEnvironment, "no program to run");
  const std::string& program = argv[0];
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0)
    return Failed(FilterFailure::kEnvironment, std::string("pipe: ") + std::strerror(errno));
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return Failed(FilterFailure::kEnvironment, std::string("pipe: ") + std::strerror(errno));
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};

  std::vector<std::string> env_strings;
  for (const auto& name : pass_env) {
    if (const char* v = std::getenv(name.c_str()))
      env_strings.push_back(name + "=" + v);
  }
  std::vector<char*> env;
  for (auto& e : env_strings)
    env.push_back(e.data());
  env.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0)
    return Failed(FilterFailure::kEnvironment, "posix_spawn_file_actions_init failed");
  // Descriptors of ours without CLOEXEC are closed in it; its stdin and stdout are the pipes.
  if (posix_spawn_file_actions_adddup2(&actions, in_read.fd, STDIN_FILENO) != 0 ||
      posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO) != 0 ||
      posix_spawn_file_actions_addclosefrom_np(&actions, 3) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return Failed(FilterFailure::kEnvironment, "posix_spawn_file_actions failed");
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t stop_signals, pipe_signal;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &stop_signals);
  posix_spawnattr_setsigdefault(&attr, &pipe_signal);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  Child child;
  const int rc =
      ::posix_spawn(&child.pid, program.c_str(), &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    child.pid = -1;
    return Failed(FilterFailure::kEnvironment,
                  "cannot start " + program + ": " + std::strerror(rc));
  }
  in_read.Close();
  out_write.Close();
  ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);

  PipeSignalBlocked pipe_blocked;
  std::string output;
  size_t written = 0;
  if (input.empty())
    in_write.Close();
  while (out_read.fd >= 0) {
    const auto left = Left(deadline);
    if (left.count() <= 0)
      return Started(
          FilterFailure::kEnvironment,
          program + " took longer than " + std::to_string(limits.timeout.count()) + " ms");
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {in_write.fd, POLLOUT, 0}};
    if (::poll(fds, in_write.fd >= 0 ? 2 : 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
      return Started(FilterFailure::kEnvironment, std::string("poll: ") + std::strerror(errno));
    if (in_write.fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t w = ::write(in_write.fd, input.data() + written, input.size() - written);
      if (w > 0)
        written += static_cast<size_t>(w);
      if (written == input.size() || (w < 0 && errno != EAGAIN && errno != EINTR))
        in_write.Close();  // all written, or the program stopped reading
    }
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      char buf[65536];
      const ssize_t r = ::read(out_read.fd, buf, sizeof buf);
      if (r > 0) {
        if (output.size() + static_cast<size_t>(r) > limits.max_output)
          return Started(FilterFailure::kProgram, program + " wrote more than " +
                                                      std::to_string(limits.max_output) + " bytes");
        output.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_read.Close();
      }
    }
  }
  in_write.Close();
  // Its output is closed; its end, within what is left of the time: a pidfd becomes readable
  // when it ends (without one, looked at every 10 ms).
  const std::string too_long =
      program + " took longer than " + std::to_string(limits.timeout.count()) + " ms";
  Fd ended{static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0))};
  if (ended.fd >= 0) {
    pollfd fd{ended.fd, POLLIN, 0};
    int n;
    do {
      const auto left = Left(deadline);
      n = left.count() > 0 ? ::poll(&fd, 1, static_cast<int>(left.count())) : 0;
    } while (n < 0 && errno == EINTR);
    if (n == 0)
      return Started(FilterFailure::kEnvironment, too_long);
  } else {
    while (true) {
      const pid_t r = ::waitpid(child.pid, &child.status, WNOHANG);
      if (r == child.pid) {
        child.reaped = true;
        break;
      }
      if (r < 0 && errno != EINTR)
        return Started(FilterFailure::kEnvironment,
                       std::string("waitpid: ") + std::strerror(errno));
      if (Left(deadline).count() <= 0)
        return Started(FilterFailure::kEnvironment, too_long);
      ::poll(nullptr, 0, 10);
    }
  }
  if (!child.reaped && !child.Reap())
    return Started(FilterFailure::kEnvironment, std::string("waitpid: ") + std::strerror(errno));
  if (WIFSIGNALED(child.status)) {
    const int sig = WTERMSIG(child.status);
    return Started(IsCrash(sig) ? FilterFailure::kProgram : FilterFailure::kEnvironment,
                   program + " ended by signal " + std::to_string(sig));
  }
  if (WEXITSTATUS(child.status) != 0) {
    FilterResult r =
        Started(FilterFailure::kProgram,
                program + " ended with status " + std::to_string(WEXITSTATUS(child.status)));
    r.exit_status = WEXITSTATUS(child.status);
    return r;
  }
  return {FilterFailure::kNone, std::move(output), "", -1, true};
}

}  // namespace meldestelle
