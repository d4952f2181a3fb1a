// The checker proved, not trusted (SPEC §5.3): each --defect of the reference backend, driven through
// the proxy by the load client (`stormgate run`), must fail its named gate and no other gate of A–D;
// the correct backend must fail no gate of A–D over ten seeds. Gate E is judged only for `leak`:
// these runs are seconds long, far from the 30-minute soak a memory trend needs.
#include "core/jsonl.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <fstream>
#include <sstream>

using namespace stormgate;

namespace {

struct run_result {
  int exit_code = -1;
  std::map<std::string, std::string> gate_status;
  std::string report;
  boost::json::object memory;  // gate E's memory_processes: per process slope, peak, …
  double slope(std::string const& process) const {
    auto const* p = memory.if_contains(process);
    auto const* s = p && p->is_object() ? p->as_object().if_contains("slope_mb_per_min") : nullptr;
    return s ? core::as_number(*s).value_or(-1) : -1;
  }
};

// the leak run's memory is sampled every 500 ms: a 60 s soak then has ~100 samples per process
constexpr int leak_soak_s = 60;

run_result chaos_run(std::string const& defect, unsigned seed, int duration_s = 2, std::vector<std::string> extra = {}) {
  test::temp_dir dir;
  std::vector<std::string> args{"run", "--full", "--duration", std::to_string(duration_s), "--concurrency", "20", "--seed", std::to_string(seed),
                                "--out", dir.file("out"), "--quiet"};
  if (!defect.empty()) args.insert(args.end(), {"--defect", defect});
  args.insert(args.end(), extra.begin(), extra.end());
  test::process p(args);
  auto rc = p.wait_exit(std::chrono::seconds(240));
  if (!rc) p.stop();
  run_result r;
  r.exit_code = rc.value_or(-1);
  std::ifstream in(dir.file("out/report.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  r.report = ss.str();
  std::string err;
  auto j = core::parse_json(r.report, err);
  if (j)
    if (auto g = core::find(*j, "gate_results"); g && g->is_object())
      for (auto const& kv : g->get_object())
        r.gate_status[std::string(kv.key())] = std::string(core::get_string(kv.value(), "status").value_or("?"));
  if (j)
    if (auto m = core::find_path(*j, "gate_results.E.metrics.memory_processes"); m && m->is_object()) r.memory = m->as_object();
  if (r.gate_status.empty()) INFO("stderr: " << p.stderr_text());
  return r;
}

std::string failing(run_result const& r) {
  std::string s;
  for (auto const& [id, st] : r.gate_status)
    if (st == "FAIL") s += id;
  return s;
}

// One planted defect: its named gate FAILs, no other gate of A-D does, and the run is not GO.
void check_defect(std::string const& defect, std::string const& gate) {
  auto r = defect == "leak" ? chaos_run(defect, 42, leak_soak_s, {"--sample-interval-ms", "500"}) : chaos_run(defect, 42);
  INFO("defect " << defect << ", failing gates " << failing(r) << ", exit " << r.exit_code);
  REQUIRE(r.gate_status.size() == 5);
  CHECK(r.gate_status[gate] == "FAIL");
  for (auto id : {"A", "B", "C", "D"})
    if (id != gate) CHECK(r.gate_status[id] != "FAIL");
  CHECK(r.exit_code != 0);
}

// The correct backend: no gate of A-D fails, for each seed.
void check_correct(std::initializer_list<unsigned> seeds) {
  for (unsigned seed : seeds) {
    auto r = chaos_run("", seed);
    INFO("seed " << seed << ", failing gates " << failing(r));
    REQUIRE(r.gate_status.size() == 5);
    for (auto id : {"A", "B", "C", "D"}) CHECK(r.gate_status[id] != "FAIL");
  }
}

}  // namespace

TEST_CASE("defect no-idempotency fails gate A only", "[integration][defects]") { check_defect("no-idempotency", "A"); }
TEST_CASE("defect lost-update fails gate B only", "[integration][defects]") { check_defect("lost-update", "B"); }
TEST_CASE("defect negative-balance fails gate B only", "[integration][defects]") { check_defect("negative-balance", "B"); }
TEST_CASE("defect double-approve fails gate C only", "[integration][defects]") { check_defect("double-approve", "C"); }
TEST_CASE("defect karma-crash fails gate D only", "[integration][defects]") { check_defect("karma-crash", "D"); }
TEST_CASE("defect anomaly-block fails gate D only", "[integration][defects]") { check_defect("anomaly-block", "D"); }
TEST_CASE("defect replay-drift fails gate B only", "[integration][defects]") { check_defect("replay-drift", "B"); }
TEST_CASE("defect leak fails gate E", "[integration][defects]") { check_defect("leak", "E"); }

// The slope measurement itself: the same short soak, sampled the same way, measures the leaking
// backend (16 KB kept per request) far above the critical 0.5 MB/min and the correct one below 0.1.
// Both are measured per process, after warm-up, over the soak only.
TEST_CASE("gate E measures a leaking backend above 0.5 MB/min and the correct one below 0.1", "[integration][memory]") {
  auto leak = chaos_run("leak", 42, leak_soak_s, {"--sample-interval-ms", "500"});
  auto healthy = chaos_run("", 42, leak_soak_s, {"--sample-interval-ms", "500"});
  INFO("leak: " << boost::json::serialize(leak.memory));
  INFO("healthy: " << boost::json::serialize(healthy.memory));
  CHECK(leak.slope("backend") > 0.5);
  CHECK(leak.gate_status["E"] == "FAIL");
  CHECK(healthy.slope("backend") >= -0.1);
  CHECK(healthy.slope("backend") < 0.1);
  for (auto p : {"proxy", "load", "karma"}) CHECK(healthy.memory.contains(p));
}

TEST_CASE("the correct backend fails no gate of A-D (seeds 1-5)", "[integration][defects]") {
  check_correct({7919, 15838, 23757, 31676, 39595});
}
TEST_CASE("the correct backend fails no gate of A-D (seeds 6-10)", "[integration][defects]") {
  check_correct({47514, 55433, 63352, 71271, 79190});
}
