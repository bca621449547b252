#include "core/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/errors.hpp"

extern char** environ;

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

Error Failed(const std::string& what, const std::string& program) {
  return MakeError(errors::kIoError, what, program);
}

}  // namespace

std::string OwnExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

Result<std::string> RunFilter(const std::vector<std::string>& argv, std::string_view input,
                              const FilterLimits& limits) {
  if (argv.empty() || argv[0].empty())
    return Failed("no program to run", "");
  const std::string& program = argv[0];
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0)
    return Failed(std::string("pipe: ") + std::strerror(errno), program);
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return Failed(std::string("pipe: ") + std::strerror(errno), program);
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The program starts with no signal blocked and SIGPIPE at its default (ours are set for a
  // server: app/command.cpp).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return Failed("cannot start " + program + ": " + std::strerror(rc), program);
  in_read.Close();
  out_write.Close();
  ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);

  // A program that stops reading early makes our write fail with EPIPE, and raise SIGPIPE in
  // this thread: blocked while we write, taken (if raised) before it is unblocked.
  sigset_t pipe_signal, before;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &before);
  std::string output;
  std::string failure;
  size_t written = 0;
  if (input.empty())
    in_write.Close();
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  while (out_read.fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure = program + " took longer than " + std::to_string(limits.timeout.count()) + " ms";
      break;
    }
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {in_write.fd, POLLOUT, 0}};
    int n = ::poll(fds, in_write.fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      failure = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (in_write.fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = ::write(in_write.fd, input.data() + written, input.size() - written);
      if (w > 0)
        written += static_cast<size_t>(w);
      if (written == input.size() || (w < 0 && errno != EAGAIN && errno != EINTR))
        in_write.Close();  // all written, or the program stopped reading
    }
    if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      char buf[65536];
      ssize_t r = ::read(out_read.fd, buf, sizeof buf);
      if (r > 0) {
        if (output.size() + static_cast<size_t>(r) > limits.max_output) {
          failure = program + " wrote more than " + std::to_string(limits.max_output) + " bytes";
          break;
        }
        output.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_read.Close();
      }
    }
  }
  in_write.Close();
  out_read.Close();
  const timespec now{0, 0};
  while (sigtimedwait(&pipe_signal, nullptr, &now) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (!failure.empty())
    ::kill(pid, SIGKILL);  // the process we started, by its PID
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failure.empty())
    return Failed(failure, program);
  if (WIFSIGNALED(status))
    return Failed(program + " ended by signal " + std::to_string(WTERMSIG(status)), program);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Failed(program + " ended with status " + std::to_string(WEXITSTATUS(status)), program);
  return output;
}

}  // namespace meldestelle
