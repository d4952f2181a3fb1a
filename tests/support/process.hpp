// Integration-test support: start the real `stormgate` binary on loopback, learn its ports
// from the "listening NAME URL" lines, and stop it (SIGTERM, then SIGKILL) within bounded time.
#pragma once
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stormgate::test {

std::string stormgate_bin();   // the binary under test
std::string source_dir();      // the project's top folder

// A fresh directory under the system temp dir, removed on destruction.
struct temp_dir {
  std::filesystem::path path;
  temp_dir();
  ~temp_dir();
  temp_dir(temp_dir const&) = delete;
  std::string file(std::string const& name) const { return (path / name).string(); }
};

class process {
 public:
  // Starts `stormgate args...` (or `program` when given); stdout is read line by line in the background,
  // stderr goes to a file kept for diagnostics.
  explicit process(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                   std::string program = {});
  ~process();
  process(process const&) = delete;
  process& operator=(process const&) = delete;

  // Waits for "listening NAME URL" and returns the URL ("http://127.0.0.1:PORT"); throws on timeout or exit.
  std::string wait_listening(std::string const& name, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for a stdout line containing `needle`; returns it.
  std::optional<std::string> wait_line(std::string const& needle, std::chrono::milliseconds timeout);
  // Waits for the process to exit; returns its exit code (128+signal when killed) or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  int pid() const { return pid_; }
  std::string stdout_text();
  std::string stderr_text() const;

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string err_path_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> exit_code_;
  bool reap(bool block, std::chrono::milliseconds timeout);
};

}  // namespace stormgate::test
