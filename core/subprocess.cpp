#include "core/subprocess.hpp"

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <pthread.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace stormgate::core {

std::string self_exe() {
  char buf[PATH_MAX];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "stormgate";
  return std::string(buf, static_cast<std::size_t>(n));
}

child_process::child_process(std::string program, std::vector<std::string> args, spawn_options opts)
    : own_group_(opts.own_process_group), echo_(opts.echo_stdout) {
  int err_fd;
  if (opts.inherit_stderr) {
    remove_err_ = false;
    err_fd = dup(2);
  } else if (opts.stderr_path.empty()) {
    char tmpl[] = "/tmp/stormgate-stderr-XXXXXX";
    err_fd = mkstemp(tmpl);
    err_path_ = tmpl;
  } else {
    err_path_ = opts.stderr_path;
    remove_err_ = false;
    err_fd = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  if (err_fd < 0) throw std::runtime_error("cannot open " + err_path_ + " for a child's stderr");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv_s{program};
  for (auto& a : args) argv_s.push_back(a);
  // Signals are blocked across fork, so a signal meant for the child can never run one of the
  // parent's handlers in the child before exec; the child restores defaults, then unblocks.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pid_ = fork();
  if (pid_ != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    dup2(fds[1], 1);
    if (err_fd != 2) dup2(err_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (own_group_) setpgid(0, 0);
    for (auto& [k, v] : opts.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot execute %s\n", argv[0]);
    _exit(127);
  }
  close(fds[1]);
  close(err_fd);
  out_fd_ = fds[0];
  reader_ = std::thread([this] {
    std::string partial;
    char buf[4096];
    while (true) {
      auto n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      if (echo_) {
        std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
        std::fflush(stdout);
      }
      partial.append(buf, static_cast<std::size_t>(n));
      std::size_t pos;
      std::lock_guard lk(mu_);
      while ((pos = partial.find('\n')) != std::string::npos) {
        lines_.push_back(partial.substr(0, pos));
        partial.erase(0, pos + 1);
      }
      cv_.notify_all();
    }
    std::lock_guard lk(mu_);
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    cv_.notify_all();
  });
}

child_process::~child_process() {
  if (!exit_code_) stop(std::chrono::seconds(5));
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  if (remove_err_ && !std::getenv("STORMGATE_KEEP_TEST_DIRS")) unlink(err_path_.c_str());
}

std::optional<std::string> child_process::wait_line(std::string const& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  std::size_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (; seen < lines_.size(); ++seen)
      if (lines_[seen].find(needle) != std::string::npos) return lines_[seen];
    if (eof_) return std::nullopt;
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      for (; seen < lines_.size(); ++seen)
        if (lines_[seen].find(needle) != std::string::npos) return lines_[seen];
      return std::nullopt;
    }
  }
}

std::optional<std::string> child_process::listening(std::string const& name, std::chrono::milliseconds timeout) {
  auto line = wait_line("listening " + name + " ", timeout);
  if (!line) return std::nullopt;
  return line->substr(line->rfind(' ') + 1);
}

bool child_process::reap(std::chrono::milliseconds timeout) {
  if (exit_code_) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    auto r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    if (r < 0) {
      exit_code_ = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (reap(timeout)) return exit_code_;
  return std::nullopt;
}

bool child_process::running() { return !reap(std::chrono::milliseconds(0)); }

void child_process::signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (!exit_code_) {
    kill(pid_, SIGTERM);
    if (!reap(grace)) {
      if (own_group_) kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      reap(std::chrono::seconds(5));
    }
  }
  if (own_group_) kill(-pid_, SIGKILL);  // anything it left behind in its group
  return exit_code_.value_or(-1);
}

std::string child_process::stdout_text() {
  std::unique_lock lk(mu_);
  // Once the child has exited, all it wrote is in the pipe: the reader is given a bounded time to
  // read it to the end (a grandchild may hold the pipe open), so that nothing written is missing.
  if (exit_code_) cv_.wait_for(lk, std::chrono::seconds(5), [&] { return eof_; });
  std::string out;
  for (auto& l : lines_) out += l + "\n";
  return out;
}

std::string child_process::stderr_text() const {
  std::ifstream in(err_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace stormgate::core
