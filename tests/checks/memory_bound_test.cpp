// The checker's memory does not grow with the log: it keeps O(agents + ops in flight), so a log four
// times as long is checked within the same peak RSS, and both stay under the bound README states.
// The logs come from bench/gen_traffic.cpp (the bench's generator); bench/check.sh measures 10 M records.
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

using namespace stormgate::test;

namespace {

struct run_result {
  int exit_code = -1;
  double peak_mb = 0;
};

// Runs a program to its end (bounded by its own work; the ctest timeout stops a hang) and returns
// its exit code and peak RSS (ru_maxrss of that child alone).
run_result run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  rusage ru{};
  REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  return r;
}

}  // namespace

TEST_CASE("check: a log four times as long is checked in the same peak RSS (no leak per record)", "[checks][input][memory]") {
  temp_dir dir;
  // 250 000 records span 80 s of traffic, more than the minute an op stays in the op book
  constexpr long n = 250000;
  std::vector<double> peaks;
  for (long records : {n, 4 * n}) {
    auto log = dir.file("traffic-" + std::to_string(records) + ".jsonl");
    REQUIRE(run({STORMGATE_GEN_TRAFFIC, std::to_string(records), log}).exit_code == 0);
    auto t0 = std::chrono::steady_clock::now();
    auto r = run({stormgate_bin(), "check", "--traffic", log, "--quiet", "--report-json", dir.file("r.json")});
    auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(records << " records: exit " << r.exit_code << ", peak RSS " << r.peak_mb << " MB, " << s << " s");
    CHECK(r.exit_code == 2);  // CONDITIONAL: no history, so the scenarios are SKIP
    CHECK(r.peak_mb < 128.0);  // README: the checker's bound
    peaks.push_back(r.peak_mb);
    std::filesystem::remove(log);
  }
  INFO("peak RSS at " << n << " records: " << peaks[0] << " MB, at " << 4 * n << ": " << peaks[1] << " MB");
  CHECK(peaks[1] < peaks[0] + 8.0);
}
