// Integration-test support: start the real `stormgate` binary on loopback, learn its ports
// from the "listening NAME URL" lines, and stop it (SIGTERM, then SIGKILL) within bounded time.
#pragma once
#include "core/subprocess.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
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

// `stormgate args...` (or `program args...` when given), in its own process group. Also offers
// wait_line, wait_exit, signal, stop, pid, stdout_text, stderr_text (core::child_process).
class process : public core::child_process {
 public:
  explicit process(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                   std::string program = {});
  // Waits for "listening NAME URL" and returns the URL ("http://127.0.0.1:PORT"); throws on timeout or exit.
  std::string wait_listening(std::string const& name, std::chrono::milliseconds timeout = std::chrono::seconds(20));
};

}  // namespace stormgate::test
