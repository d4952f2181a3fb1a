// Beyond one machine: two load clients (--shard 1/2 and 2/2), each through its own proxy, against one
// backend; `stormgate check` merges both traffic logs and both histories. With distinct shards the
// ops never collide; two clients on the same shard do, and the checker sees it.
#include "core/jsonl.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <fstream>
#include <memory>
#include <sstream>

using namespace stormgate;
using namespace std::chrono_literals;

namespace {

struct merged_run {
  int check_code = -1;
  boost::json::value report;
};

merged_run two_clients(std::string const& shard_a, std::string const& shard_b) {
  test::temp_dir dir;
  test::process karma({"karma", "--listen", "127.0.0.1:0"});
  auto karma_url = karma.wait_listening("karma");
  test::process backend({"backend", "--listen", "127.0.0.1:0", "--journal", dir.file("credits.jsonl"), "--karma-url",
                         karma_url, "--fsync", "never"});
  auto backend_url = backend.wait_listening("backend");
  std::vector<std::unique_ptr<test::process>> proxies, loads;
  std::vector<std::string> check_args{"check", "--target", "reference", "--journal", dir.file("credits.jsonl"),
                                      "--report-json", dir.file("report.json"), "--quiet"};
  std::string shards[2] = {shard_a, shard_b};
  for (int i = 0; i < 2; ++i) {
    auto n = std::to_string(i + 1);
    proxies.push_back(std::make_unique<test::process>(std::vector<std::string>{
        "proxy", "--route", "credits=127.0.0.1:0->" + backend_url, "--admin", "127.0.0.1:0", "--traffic-log",
        dir.file("traffic-" + n + ".jsonl"), "--seed", "5"}));
    auto credits = proxies.back()->wait_listening("route:credits");
    auto admin = proxies.back()->wait_listening("admin");
    loads.push_back(std::make_unique<test::process>(std::vector<std::string>{
        "load", "--target", "reference", "--base-url", credits, "--admin-url", admin, "--scenario", "credit_storm",
        "--concurrency", "10", "--seed", "5", "--shard", shards[i], "--history", dir.file("history-" + n + ".jsonl"),
        "--quiet"}));
    check_args.insert(check_args.end(), {"--traffic", dir.file("traffic-" + n + ".jsonl"), "--history",
                                         dir.file("history-" + n + ".jsonl")});
  }
  for (auto& l : loads) {
    auto code = l->wait_exit(120s);
    INFO(l->stderr_text());
    REQUIRE(code == 0);
  }
  for (auto& p : proxies) CHECK(p->stop() == 0);  // flushes the traffic logs
  CHECK(backend.stop() == 0);
  test::process check(check_args);
  merged_run r;
  r.check_code = check.wait_exit(120s).value_or(-1);
  std::ifstream in(dir.file("report.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string err;
  auto v = core::parse_json(ss.str(), err);
  INFO(check.stderr_text() << err);
  REQUIRE(v);
  r.report = *v;
  return r;
}

std::string gate(merged_run const& r, char const* id) {
  auto g = core::find_path(r.report, std::string("gate_results.") + id);
  return g ? std::string(core::get_string(*g, "status").value_or("?")) : "?";
}

}  // namespace

TEST_CASE("two sharded load clients through two proxies merge into one clean check", "[integration][shard]") {
  auto r = two_clients("1/2", "2/2");
  CHECK(gate(r, "A") == "PASS");  // no op of one client is confused with the other's
  CHECK(gate(r, "B") == "PASS");  // the merged deltas add up to the balances
  CHECK(gate(r, "C") != "FAIL");  // credit_storm has no approvals: SKIP
  CHECK(gate(r, "D") != "FAIL");
  auto inputs = core::find_path(r.report, "test_config.inputs");
  REQUIRE(inputs);
  REQUIRE(inputs->is_array());
  CHECK(inputs->as_array().size() == 5);  // two traffic logs, two histories, the journal
  CHECK(r.check_code == 2);               // one scenario, no soak: CONDITIONAL
}

TEST_CASE("two load clients on the same shard collide, and the merged check says so", "[integration][shard]") {
  auto r = two_clients("1/2", "1/2");
  // the same op ids and agents from two clients: one op with two applied effects
  CHECK(gate(r, "A") == "FAIL");
  CHECK(r.check_code == 1);
}
