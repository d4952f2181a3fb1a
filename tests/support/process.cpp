#include "tests/support/process.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace stormgate::test {

std::string stormgate_bin() { return STORMGATE_BIN; }
std::string source_dir() { return STORMGATE_SOURCE_DIR; }

temp_dir::temp_dir() {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    auto p = std::filesystem::temp_directory_path() / ("stormgate-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

temp_dir::~temp_dir() {
  std::error_code ec;
  if (!std::getenv("STORMGATE_KEEP_TEST_DIRS")) std::filesystem::remove_all(path, ec);
}

process::process(std::vector<std::string> args, std::map<std::string, std::string> env, std::string program) {
  if (program.empty()) program = stormgate_bin();
  char tmpl[] = "/tmp/stormgate-stderr-XXXXXX";
  int err_fd = mkstemp(tmpl);
  if (err_fd < 0) throw std::runtime_error("mkstemp failed");
  err_path_ = tmpl;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv_s;
  argv_s.push_back(program);
  for (auto& a : args) argv_s.push_back(a);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], 1);
    dup2(err_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    setpgid(0, 0);  // its own process group, so stop() reaches its children too
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
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

process::~process() {
  if (!exit_code_) stop(std::chrono::seconds(5));
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  if (!std::getenv("STORMGATE_KEEP_TEST_DIRS")) unlink(err_path_.c_str());
}

std::optional<std::string> process::wait_line(std::string const& needle, std::chrono::milliseconds timeout) {
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

std::string process::wait_listening(std::string const& name, std::chrono::milliseconds timeout) {
  auto line = wait_line("listening " + name + " ", timeout);
  if (!line)
    throw std::runtime_error("'" + name + "' did not start listening; stderr:\n" + stderr_text());
  return line->substr(line->rfind(' ') + 1);
}

bool process::reap(bool block, std::chrono::milliseconds timeout) {
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
    if (!block || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
  if (reap(true, timeout)) return exit_code_;
  return std::nullopt;
}

void process::signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

int process::stop(std::chrono::milliseconds grace) {
  if (exit_code_) return *exit_code_;
  kill(pid_, SIGTERM);
  if (!reap(true, grace)) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    reap(true, std::chrono::seconds(5));
  }
  kill(-pid_, SIGKILL);  // anything it left behind in its group
  return exit_code_.value_or(-1);
}

std::string process::stdout_text() {
  std::lock_guard lk(mu_);
  std::string out;
  for (auto& l : lines_) out += l + "\n";
  return out;
}

std::string process::stderr_text() const {
  std::ifstream in(err_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace stormgate::test
