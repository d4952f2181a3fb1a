// Each --defect of SPEC §5.3 shows its bug, and the correct backend under the same load does not.
#include "tests/backend/fixture.hpp"

#include <thread>

using namespace stormgate;
using namespace stormgate::test;

namespace {

// n parallel POSTs, one thread each; returns the answers (status 0 when there was none).
std::vector<net::response> parallel_posts(std::string const& url, std::vector<std::string> const& bodies,
                                          std::vector<std::pair<std::string, std::string>> headers = {}) {
  std::vector<net::response> out(bodies.size());
  std::vector<std::thread> ts;
  for (std::size_t i = 0; i < bodies.size(); ++i)
    ts.emplace_back([&, i] {
      net::request q{"POST", url, bodies[i], headers};
      auto r = net::fetch(q);
      if (r) out[i] = *r;
    });
  for (auto& t : ts) t.join();
  return out;
}

struct storm_result {
  double expected;  // initial - sum of the amounts answered 200
  double actual;
  int ok;
};

storm_result consume_storm(backend_run const& b, int n) {
  b.make_agent("storm", 1000);
  std::vector<std::string> bodies;
  for (int i = 0; i < n; ++i) bodies.push_back(consume_body("storm", 1 + i % 5));
  auto res = parallel_posts(b.url + "/api/credits/consume", bodies);
  storm_result r{1000, 0, 0};
  for (int i = 0; i < n; ++i)
    if (res[i].status == 200) {
      r.expected -= 1 + i % 5;
      ++r.ok;
    }
  r.actual = b.balance("storm");
  return r;
}

int approval_winners(backend_run const& b) {
  auto id = std::string(json_of(b.post("/api/credits/approvals", R"({"agent_id":"a","amount":500})").body)
                            .at("approval_id").as_string());
  std::vector<std::string> bodies(10, R"({"approver_id":"h"})");
  auto res = parallel_posts(b.url + "/api/credits/approvals/" + id + "/approve", bodies);
  return static_cast<int>(std::count_if(res.begin(), res.end(), [](auto const& r) { return r.status == 200; }));
}

}  // namespace

TEST_CASE("defect no-idempotency: a retried key takes effect twice", "[backend][defects]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"), {"--defect", "no-idempotency"});
  b.make_agent("a1", 100);
  auto r1 = b.post("/api/credits/consume", consume_body("a1", 10), {{"Idempotency-Key", "op-1"}});
  auto r2 = b.post("/api/credits/consume", consume_body("a1", 10), {{"Idempotency-Key", "op-1"}});
  CHECK(json_of(r1.body).at("event_id") != json_of(r2.body).at("event_id"));
  CHECK(r2.header("idempotent-replayed").empty());
  CHECK(b.balance("a1") == 80.0);
  CHECK(b.get_json("/api/credits/metrics").at("journal").at("idempotency_violations").to_number<int>() == 1);
}

TEST_CASE("defect lost-update: 50 concurrent consumes lose updates, the correct backend loses none", "[backend][defects]") {
  temp_dir dir;
  {
    backend_run good(dir.file("good.jsonl"));
    auto r = consume_storm(good, 50);
    CHECK(r.ok == 50);
    CHECK(r.actual == r.expected);
  }
  backend_run bad(dir.file("bad.jsonl"), {"--defect", "lost-update"});
  auto r = consume_storm(bad, 50);
  CHECK(r.ok == 50);
  CHECK(r.actual != r.expected);
  CHECK(r.actual > r.expected);  // updates were lost: less was taken than was answered
}

TEST_CASE("defect negative-balance: consume skips the sufficient-funds check", "[backend][defects]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"), {"--defect", "negative-balance"});
  b.make_agent("a1", 10);
  auto r = b.post("/api/credits/consume", consume_body("a1", 25));
  CHECK(r.status == 200);
  CHECK(b.balance("a1") == -15.0);
}

TEST_CASE("defect double-approve: concurrent decisions all win, the correct backend has one winner", "[backend][defects]") {
  temp_dir dir;
  {
    backend_run good(dir.file("good.jsonl"));
    CHECK(approval_winners(good) == 1);
  }
  backend_run bad(dir.file("bad.jsonl"), {"--defect", "double-approve"});
  int most = 0;
  for (int round = 0; round < 3 && most < 2; ++round) most = std::max(most, approval_winners(bad));  // a race: up to 3 tries
  CHECK(most > 1);
}

TEST_CASE("defect karma-crash: a KARMA error becomes a 500", "[backend][defects]") {
  temp_dir dir;
  karma_run failing({"--error-rate", "1"});
  backend_run b(dir.file("credits.jsonl"), {"--defect", "karma-crash", "--karma-url", failing.url});
  b.make_agent("a1", 100);
  auto r = b.post("/api/credits/consume", consume_body("a1", 10));
  CHECK(r.status == 500);
  CHECK(b.balance("a1") == 100.0);
  karma_run healthy;
  backend_run ok(dir.file("ok.jsonl"), {"--defect", "karma-crash", "--karma-url", healthy.url});
  ok.make_agent("a1", 100);
  CHECK(ok.post("/api/credits/consume", consume_body("a1", 10)).status == 200);
}

TEST_CASE("defect anomaly-block: anomalous amounts are rejected, the correct backend flags them", "[backend][defects]") {
  temp_dir dir;
  auto run = [&](std::string const& name, std::vector<std::string> extra) {
    backend_run b(dir.file(name), std::move(extra));
    b.make_agent("a1", 10000);
    for (int i = 0; i < 5; ++i) REQUIRE(b.post("/api/credits/consume", consume_body("a1", 10)).status == 200);
    auto r = b.post("/api/credits/consume", consume_body("a1", 100));
    auto events = b.get("/api/credits/events?limit=1000").body;
    return std::pair{r, events};
  };
  auto [good, good_events] = run("good.jsonl", {});
  CHECK(good.status == 200);
  CHECK(json_of(good.body).at("metadata").at("anomaly_detected").as_bool());
  CHECK(json_of(good.body).at("metadata").at("anomaly_score").as_double() == 10.0);
  CHECK(good_events.find("credit.anomaly_flagged") != std::string::npos);
  auto [bad, bad_events] = run("bad.jsonl", {"--defect", "anomaly-block"});
  CHECK(bad.status == 422);
  CHECK(bad.body == R"({"detail":"anomaly_blocked"})");
  CHECK(bad_events.find("credit.anomaly_flagged") == std::string::npos);
}

TEST_CASE("defect replay-drift: the digest changes after POST /replay", "[backend][defects]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"), {"--defect", "replay-drift"});
  b.make_agent("a1", 100);
  b.post("/api/credits/consume", consume_body("a1", 30));
  b.post("/api/credits/refund", R"({"agent_id":"a1","amount":5,"reason":"r"})");
  auto before = b.digest();
  auto replay = json_of(b.post("/api/credits/replay", "").body);
  CHECK(replay.at("state_digest").as_string() != before);
  CHECK(b.digest() != before);
  CHECK(b.balance("a1") == 70.0);  // the refund is gone from the projection
}

TEST_CASE("defect leak: RSS grows with every request and never shrinks", "[backend][defects]") {
  temp_dir dir;
  auto grow = [&](std::vector<std::string> extra) {
    backend_run b(dir.file("credits" + std::to_string(extra.size()) + ".jsonl"), std::move(extra));
    auto rss = [&] { return b.get_json("/api/credits/metrics").at("process").at("rss_bytes").to_number<double>(); };
    net::client c(b.url);
    for (int i = 0; i < 200; ++i) REQUIRE(c.get("/api/health"));  // warm up
    double before = rss();
    for (int i = 0; i < 2000; ++i) REQUIRE(c.get("/api/health"));
    return (rss() - before) / (1024.0 * 1024.0);
  };
  CHECK(grow({}) < 4.0);
  CHECK(grow({"--defect", "leak"}) > 24.0);  // 2000 x 16 KiB = 31 MiB
}
