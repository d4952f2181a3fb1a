// A child process with its stdout read line by line in the background: used by `stormgate run`
// to start the backend, KARMA stub and proxy, and by the integration tests.
#pragma once
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stormgate::core {

struct spawn_options {
  std::map<std::string, std::string> env;  // added to the parent's environment
  std::string stderr_path;                 // "" = a temp file, removed on destruction
  bool own_process_group = true;           // false: stays in the parent's group (Ctrl-C reaches it)
  bool echo_stdout = false;                // also copy the child's stdout lines to our stdout
  bool inherit_stderr = false;             // the child writes to our stderr (progress lines)
};

class child_process {
 public:
  // Starts `program args...`; throws std::runtime_error when it cannot be started.
  child_process(std::string program, std::vector<std::string> args, spawn_options opts = {});
  ~child_process();  // stop() if still running
  child_process(child_process const&) = delete;
  child_process& operator=(child_process const&) = delete;

  // Waits for "listening NAME URL" on stdout and returns URL; nullopt on timeout or exit.
  std::optional<std::string> listening(std::string const& name, std::chrono::milliseconds timeout);
  // Waits for a stdout line containing `needle`; returns it.
  std::optional<std::string> wait_line(std::string const& needle, std::chrono::milliseconds timeout);
  // Exit code (128+signal when killed), or nullopt while it still runs after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  void signal(int sig);
  // SIGTERM, up to `grace`, then SIGKILL (to its group too). Returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  int pid() const { return pid_; }
  // What it wrote to stdout so far; once it has exited (wait_exit, stop), all of it.
  std::string stdout_text();
  std::string stderr_text() const;
  std::string const& stderr_path() const { return err_path_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  bool own_group_ = true;
  bool remove_err_ = true;
  bool echo_ = false;
  std::string err_path_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> exit_code_;
  bool reap(std::chrono::milliseconds timeout);
};

// The path of the running executable (/proc/self/exe), to start sibling subcommands.
std::string self_exe();

}  // namespace stormgate::core
