// `stormgate run` end to end on the reference profile: the verdict, the reports, a planted defect,
// and Ctrl-C leaving nothing behind.
#include "core/jsonl.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace stormgate;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string slurp(std::string const& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

boost::json::value read_json(std::string const& path) {
  std::string err;
  auto v = core::parse_json(slurp(path), err);
  INFO(path << ": " << err);
  REQUIRE(v);
  return *v;
}

// Processes whose environment carries `mark`: what a run left behind.
std::vector<int> processes_marked(std::string const& mark) {
  std::vector<int> out;
  for (auto const& e : fs::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "environ", std::ios::binary);
    std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (env.find("STORMGATE_TEST_MARK=" + mark) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

std::string unique_mark() { return std::to_string(std::random_device{}()); }

}  // namespace

TEST_CASE("a shortened run on the reference backend is CONDITIONAL, with all four reports", "[integration][run]") {
  test::temp_dir dir;
  auto out = dir.file("out");
  test::process run({"run", "--full", "--duration", "8", "--concurrency", "8", "--seed", "7", "--out", out});
  auto code = run.wait_exit(240s);
  INFO(run.stdout_text() << run.stderr_text());
  REQUIRE(code);
  CHECK(*code == 2);  // CONDITIONAL: the soak was shortened
  auto report = read_json(out + "/report.json");
  CHECK(core::get_string(report, "overall_status") == "CONDITIONAL");
  auto gates = core::find(report, "gate_results");
  REQUIRE(gates);
  for (auto g : {"A", "B", "C", "D"}) {
    INFO("gate " << g);
    CHECK(core::get_string(*core::find(*gates, g), "status") == "PASS");
  }
  CHECK(core::get_string(*core::find(*gates, "E"), "status") != "PASS");
  auto scenarios = core::find(report, "scenario_results");
  REQUIRE(scenarios);
  REQUIRE(scenarios->is_array());
  CHECK(scenarios->as_array().size() == 6);
  for (auto const& s : scenarios->as_array()) {
    INFO(core::to_line(s));
    CHECK(core::get_string(s, "status") == "PASS");
  }
  CHECK(slurp(out + "/report.md").find("CONDITIONAL") != std::string::npos);
  // the recommendation names what keeps the run from GO (here the shortened soak), in every format
  auto recommendation = std::string(core::get_string(report, "recommendation").value_or(""));
  INFO(recommendation);
  CHECK(recommendation.find("gate E") != std::string::npos);
  for (auto f : {"/report.md", "/report.html", "/report.xml", "/report.json"}) {
    INFO(f);
    CHECK(slurp(out + f).find("X Tage") == std::string::npos);
  }
  CHECK(run.stdout_text().find("X Tage") == std::string::npos);
  // every process of the run was sampled, and nothing failed that the run did not provoke
  auto procs = core::find_path(report, "gate_results.E.metrics.memory_processes");
  REQUIRE(procs);
  for (auto p : {"backend", "proxy", "karma", "load"}) CHECK(core::find(*procs, p));
  CHECK(core::as_number(*core::find_path(report, "gate_results.E.metrics.unexplained_errors")) == 0.0);
  CHECK(slurp(out + "/report.xml").find("<testsuite") != std::string::npos);
  CHECK(slurp(out + "/report.html").find("<svg") != std::string::npos);
  // the gate matrix is printed
  CHECK(run.stdout_text().find("Gate") != std::string::npos);
}

TEST_CASE("a run against a planted defect is NO-GO with exit code 1", "[integration][run]") {
  test::temp_dir dir;
  auto out = dir.file("out");
  test::process run({"run", "--scenario", "credit_storm", "--defect", "negative-balance", "--seed", "3", "--out",
                     out, "--quiet"});
  auto code = run.wait_exit(180s);
  INFO(run.stdout_text() << run.stderr_text());
  REQUIRE(code);
  CHECK(*code == 1);
  auto report = read_json(out + "/report.json");
  CHECK(core::get_string(report, "overall_status") == "NO-GO");
  CHECK(core::get_string(*core::find_path(report, "gate_results.B"), "status") == "FAIL");
}

TEST_CASE("Ctrl-C in the middle of a run leaves no process behind and an interrupted report", "[integration][run]") {
  test::temp_dir dir;
  auto out = dir.file("out");
  auto mark = unique_mark();
  {
    test::process run({"run", "--full", "--duration", "120", "--concurrency", "4", "--out", out, "--quiet"},
                      {{"STORMGATE_TEST_MARK", mark}});
    // wait until the load is under way: the history has records
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline &&
           (!fs::exists(out + "/history.jsonl.zst") || fs::file_size(out + "/history.jsonl.zst") < 2000))
      std::this_thread::sleep_for(100ms);
    REQUIRE(fs::exists(out + "/history.jsonl.zst"));
    CHECK(processes_marked(mark).size() >= 4);  // run, karma, proxy, backend, load
    run.signal(SIGINT);
    auto code = run.wait_exit(60s);
    INFO(run.stdout_text() << run.stderr_text());
    REQUIRE(code);
    CHECK(*code != 0);  // an interrupted run is never GO
  }
  std::vector<int> left;
  for (int i = 0; i < 50; ++i) {  // reaped within 5 s
    left = processes_marked(mark);
    if (left.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(left.empty());
  REQUIRE(fs::exists(out + "/report.json"));
  auto report = slurp(out + "/report.json");
  CHECK(report.find("interrupted") != std::string::npos);
}
