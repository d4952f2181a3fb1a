#include "tests/support/process.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

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

namespace {
core::spawn_options with_env(std::map<std::string, std::string> env) {
  core::spawn_options o;
  o.env = std::move(env);
  return o;
}
}  // namespace

process::process(std::vector<std::string> args, std::map<std::string, std::string> env, std::string program)
    : core::child_process(program.empty() ? stormgate_bin() : std::move(program), std::move(args),
                          with_env(std::move(env))) {}

std::string process::wait_listening(std::string const& name, std::chrono::milliseconds timeout) {
  auto url = listening(name, timeout);
  if (!url) throw std::runtime_error("'" + name + "' did not start listening; stderr:\n" + stderr_text());
  return *url;
}

}  // namespace stormgate::test
