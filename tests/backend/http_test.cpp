// The reference backend over HTTP: every endpoint, its error codes, and the superset of SPEC §1.1.
#include "backend/backend.hpp"
#include "core/hash.hpp"
#include "tests/backend/fixture.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <csignal>

using namespace stormgate;
using namespace stormgate::test;

namespace {

double backend_ci(std::uint64_t seed, std::string_view agent, double amount) { return backend::karma_ci(seed, agent, amount); }

std::size_t journal_lines(std::string const& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) ++n;
  return n;
}

}  // namespace

TEST_CASE("backend: BRAiN's endpoints, field names and status codes", "[backend][http]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"));

  auto health = json_of(b.get("/api/health").body);
  CHECK(health.at("status").as_string() == "ok");
  CHECK(json_of(b.get("/api/credits/health").body).at("status").as_string() == "ok");
  auto info = b.get_json("/api/credits/info");
  CHECK(info.at("name").as_string() == "brain.credits");
  CHECK(info.at("config").at("event_sourcing_enabled").as_bool());

  auto created = b.post("/api/credits/agents", R"({"agent_id":"a1","skill_level":0.5})");
  REQUIRE(created.status == 200);
  auto c = json_of(created.body);
  CHECK(c.at("initial_credits").as_double() == 50.0);
  CHECK(c.at("balance").as_double() == 50.0);
  CHECK(c.at("skill_level").as_double() == 0.5);

  auto added = json_of(b.post("/api/credits/add", R"({"agent_id":"a1","amount":100,"reason":"top-up"})").body);
  CHECK(added.at("balance_after").as_double() == 150.0);
  CHECK(added.at("metadata").at("karma").as_string() == "fallback");

  auto consumed = b.post("/api/credits/consume", R"({"agent_id":"a1","amount":20,"reason":"job","mission_id":"m1"})");
  REQUIRE(consumed.status == 200);
  auto cj = json_of(consumed.body);
  for (auto k : {"agent_id", "amount", "balance_after", "reason", "mission_id", "event_id", "metadata"}) CHECK(cj.as_object().contains(k));
  CHECK(cj.at("balance_after").as_double() == 130.0);
  CHECK(cj.at("mission_id").as_string() == "m1");

  auto refunded = json_of(b.post("/api/credits/refund", R"({"agent_id":"a1","amount":5,"reason":"back"})").body);
  CHECK(refunded.at("balance_after").as_double() == 135.0);

  auto poor = b.post("/api/credits/consume", R"({"agent_id":"a1","amount":1000,"reason":"job"})");
  CHECK(poor.status == 400);
  CHECK(json_of(poor.body).at("detail").as_string() == "Insufficient credits: a1 has 135.0, needs 1000.0");
  CHECK(b.post("/api/credits/consume", R"({"agent_id":"nobody","amount":1,"reason":"job"})").status == 400);

  CHECK(b.balance("a1") == 135.0);
  CHECK(b.balance("unknown") == 0.0);  // BRAiN: 200 with 0.0, no 404
  auto all = b.get_json("/api/credits/balances");
  CHECK(all.at("total_agents").to_number<int>() == 1);
  CHECK(all.at("balances").at("a1").as_double() == 135.0);

  auto hist = b.get_json("/api/credits/history/a1?limit=2");
  CHECK(hist.at("total_entries").to_number<int>() == 4);
  REQUIRE(hist.at("history").as_array().size() == 2);
  CHECK(hist.at("history").at(0).at("amount").as_double() == 5.0);
  CHECK(hist.at("history").at(1).at("amount").as_double() == -20.0);
  CHECK(b.get_json("/api/credits/history/a1?limit=0").at("history").as_array().size() == 4);
  CHECK(b.get("/api/credits/history/a1?limit=x").status == 422);

  auto m = b.get_json("/api/credits/metrics");
  CHECK(m.at("journal").at("total_events").to_number<int>() == 4);
  CHECK(m.at("process").at("rss_bytes").to_number<double>() > 1e6);
  CHECK(m.at("replay").as_object().contains("replay_duration_seconds"));
  CHECK(m.at("event_bus").as_object().contains("total_published"));

  // 422: invalid input of every kind
  for (auto body : {R"({"agent_id":"a1","amount":0,"reason":"r"})", R"({"agent_id":"a1","amount":-1,"reason":"r"})",
                    R"({"agent_id":"a1","amount":"NaN","reason":"r"})", R"({"agent_id":"a1","amount":1e999,"reason":"r"})",
                    R"({"agent_id":1,"amount":1,"reason":"r"})", R"({"agent_id":"a1","amount":1})", "{bad json", "[]", ""}) {
    INFO(body);
    CHECK(b.post("/api/credits/consume", body).status == 422);
  }
  CHECK(b.post("/api/credits/agents", R"({"agent_id":"a2","skill_level":2})").status == 422);
  CHECK(b.post("/api/credits/add", R"({"agent_id":"a2","amount":"x","reason":"r"})").status == 422);
  // 404 / 405
  CHECK(b.get("/api/credits/nothing").status == 404);
  CHECK(b.get("/api/credits/consume").status == 405);
  CHECK(b.post("/api/credits/balances", "{}").status == 405);
  CHECK(b.get("/api/credits/approvals/APPROVAL_none").status == 404);
  CHECK(b.post("/api/credits/approvals/APPROVAL_none/approve", R"({"approver_id":"x"})").status == 404);

  CHECK(journal_lines(dir.file("credits.jsonl")) == 4);  // refusals wrote nothing
  CHECK(b.stop() == 0);
}

TEST_CASE("backend: journal lines are BRAiN's envelope, correlation and causation headers", "[backend][http]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"));
  b.make_agent("a1", 100);
  auto r = b.post("/api/credits/consume", consume_body("a1", 10), {{"X-Correlation-Id", "storm-42"}});
  auto first = std::string(json_of(r.body).at("event_id").as_string());
  auto caused = b.post("/api/credits/refund", R"({"agent_id":"a1","amount":1,"reason":"r"})",
                       {{"X-Causation-Id", first}});
  CHECK(caused.status == 200);
  auto dangling = b.post("/api/credits/refund", R"({"agent_id":"a1","amount":1,"reason":"r"})",
                         {{"X-Causation-Id", "00000000-0000-4000-8000-000000000000"}});
  CHECK(dangling.status == 422);

  auto events = b.get("/api/credits/events?after=0&limit=100");
  REQUIRE(events.status == 200);
  CHECK(events.header("content-type") == "application/x-ndjson");
  CHECK(events.header("x-stormgate-last-seq") == "4");
  std::vector<boost::json::value> lines;
  std::istringstream in(events.body);
  for (std::string l; std::getline(in, l);) lines.push_back(json_of(l));
  REQUIRE(lines.size() == 4);
  std::vector<std::string> fields;
  for (auto const& kv : lines[2].as_object()) fields.emplace_back(kv.key());
  CHECK(fields == std::vector<std::string>{"event_id", "event_type", "timestamp", "actor_id", "correlation_id",
                                           "causation_id", "payload", "schema_version", "idempotency_key"});
  CHECK(lines[2].at("event_type").as_string() == "credit.consumed");
  CHECK(lines[2].at("correlation_id").as_string() == "storm-42");
  CHECK(lines[2].at("schema_version").to_number<int>() == 1);
  CHECK(lines[2].at("timestamp").as_string().ends_with("+00:00"));
  CHECK(lines[2].at("causation_id").is_null());
  CHECK(lines[3].at("causation_id").as_string() == first);
  auto paged = b.get("/api/credits/events?after=2&limit=1");
  CHECK(paged.header("x-stormgate-last-seq") == "3");
  CHECK(json_of(paged.body).at("event_type").as_string() == "credit.consumed");
  CHECK(b.get("/api/credits/events?after=-1").status == 422);
}

TEST_CASE("backend: an idempotent retry returns the same event_id and writes one event", "[backend][http][idempotency]") {
  temp_dir dir;
  auto journal = dir.file("credits.jsonl");
  backend_run b(journal);
  b.make_agent("a1", 100);
  auto before = journal_lines(journal);
  auto r1 = b.post("/api/credits/consume", consume_body("a1", 10), {{"Idempotency-Key", "op-1"}});
  auto r2 = b.post("/api/credits/consume", consume_body("a1", 10), {{"Idempotency-Key", "op-1"}});
  REQUIRE(r1.status == 200);
  REQUIRE(r2.status == 200);
  CHECK(r1.header("idempotent-replayed").empty());
  CHECK(r2.header("idempotent-replayed") == "true");
  CHECK(json_of(r1.body).at("event_id") == json_of(r2.body).at("event_id"));
  CHECK(journal_lines(journal) == before + 1);
  CHECK(b.balance("a1") == 90.0);

  // Concurrent retries of one key: still one effect.
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      net::request q{"POST", b.url + "/api/credits/consume", consume_body("a1", 5), {{"Idempotency-Key", "op-2"}}};
      auto r = net::fetch(q);
      if (r && r->status == 200) ++ok;
    });
  for (auto& t : ts) t.join();
  CHECK(ok == 8);
  CHECK(b.balance("a1") == 85.0);
  CHECK(journal_lines(journal) == before + 2);

  // Keys survive a restart: they are in the journal.
  auto id = json_of(r1.body).at("event_id");
  b.stop();
  backend_run again(journal);
  auto r3 = again.post("/api/credits/consume", consume_body("a1", 10), {{"Idempotency-Key", "op-1"}});
  CHECK(r3.header("idempotent-replayed") == "true");
  CHECK(json_of(r3.body).at("event_id") == id);
  CHECK(journal_lines(journal) == before + 2);
}

TEST_CASE("backend: 10 concurrent approve/deny give one 200 and nine 409", "[backend][http][approvals]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"));
  auto req = b.post("/api/credits/approvals", R"({"agent_id":"a1","amount":500,"reason":"big spend"})");
  REQUIRE(req.status == 201);
  auto id = std::string(json_of(req.body).at("approval_id").as_string());
  CHECK(json_of(req.body).at("status").as_string() == "pending");
  std::vector<unsigned> statuses(10);
  std::vector<std::thread> ts;
  for (int i = 0; i < 10; ++i)
    ts.emplace_back([&, i] {
      net::request q{"POST", b.url + "/api/credits/approvals/" + id + (i % 2 ? "/approve" : "/deny"),
                     R"({"approver_id":"human-)" + std::to_string(i) + R"("})", {}};
      auto r = net::fetch(q);
      statuses[i] = r ? r->status : 0;
    });
  for (auto& t : ts) t.join();
  CHECK(std::count(statuses.begin(), statuses.end(), 200u) == 1);
  CHECK(std::count(statuses.begin(), statuses.end(), 409u) == 9);
  auto got = b.get_json("/api/credits/approvals/" + id);
  CHECK(got.at("status").as_string() != "pending");
  CHECK(got.at("version").to_number<int>() == 2);
  auto late = b.post("/api/credits/approvals/" + id + "/approve", R"({"approver_id":"late"})");
  CHECK(late.status == 409);
  CHECK(late.body == R"({"detail":"already_decided"})");
  CHECK(b.post("/api/credits/approvals/" + id + "/approve", "{}").status == 422);
}

TEST_CASE("backend: synergy cap and reward_capped audit events", "[backend][http][synergy]") {
  temp_dir dir;
  backend_run b(dir.file("credits.jsonl"), {"--synergy-cap", "100"});
  double awarded = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = b.post("/api/credits/synergy",
                    R"({"team_id":"alpha","agent_id":"s1","amount":40,"collaboration_id":"c)" + std::to_string(i) + R"("})");
    REQUIRE(r.status == 200);
    awarded += json_of(r.body).at("awarded").as_double();
  }
  CHECK(awarded == 100.0);
  CHECK(b.balance("s1") == 100.0);
  auto state = b.get_json("/api/credits/state");
  CHECK(state.at("synergy").at("s1").as_double() == 100.0);
  auto events = b.get("/api/credits/events").body;
  std::size_t capped = 0;
  for (std::size_t p = 0; (p = events.find("synergie.reward_capped", p)) != std::string::npos; ++p) ++capped;
  CHECK(capped == 2);  // 40, 40, 20 (capped), 0 (capped)
}

TEST_CASE("backend: restart and POST /replay give the identical state digest", "[backend][http][replay]") {
  temp_dir dir;
  auto journal = dir.file("credits.jsonl");
  std::string digest;
  {
    backend_run b(journal, {"--fsync", "always"});
    b.make_agent("a1", 500);
    b.make_agent("a2", 500);
    for (int i = 0; i < 20; ++i) b.post("/api/credits/consume", consume_body(i % 2 ? "a1" : "a2", 3 + i));
    b.post("/api/credits/refund", R"({"agent_id":"a1","amount":7,"reason":"r"})");
    auto id = std::string(json_of(b.post("/api/credits/approvals", R"({"agent_id":"a1","amount":9})").body).at("approval_id").as_string());
    b.post("/api/credits/approvals/" + id + "/deny", R"({"approver_id":"h"})");
    b.post("/api/credits/synergy", R"({"team_id":"t","agent_id":"a2","amount":12,"collaboration_id":"c"})");
    digest = b.digest();
    auto replay = json_of(b.post("/api/credits/replay", "").body);
    CHECK(replay.at("state_digest").as_string() == digest);
    CHECK(replay.at("events").to_number<std::size_t>() == journal_lines(journal));
    CHECK(journal_lines(journal) == 28);  // 2 x (create, add), 20 consumes, refund, approval + decision, synergy
    CHECK(b.digest() == digest);
    CHECK(b.stop() == 0);
  }
  backend_run b(journal);
  CHECK(b.digest() == digest);
  CHECK(b.get_json("/api/credits/metrics").at("replay").at("total_events").to_number<int>() == 28);
}

TEST_CASE("backend: a torn last journal line is reported and cut off", "[backend][http][journal]") {
  temp_dir dir;
  auto journal = dir.file("credits.jsonl");
  std::string digest;
  {
    backend_run b(journal);
    b.make_agent("a1", 100);
    digest = b.digest();
    b.stop();
  }
  {
    std::ofstream out(journal, std::ios::app);
    out << R"({"event_id":"torn","event_type":"credit.consumed","payl)";  // a crash mid-write
  }
  backend_run b(journal);
  CHECK(b.digest() == digest);
  b.post("/api/credits/consume", consume_body("a1", 10));
  b.stop();
  CHECK(b.proc->stderr_text().find("torn last line") != std::string::npos);
  // Every line is whole JSON again: the new event was not glued onto the torn one.
  std::ifstream in(journal);
  std::size_t n = 0;
  for (std::string l; std::getline(in, l); ++n) json_of(l);
  CHECK(n == 3);
}

TEST_CASE("backend: KARMA down means CI 0.5 and karma fallback, never a failed consume", "[backend][http][karma]") {
  temp_dir dir;
  {
    backend_run b(dir.file("a.jsonl"));  // no --karma-url
    b.make_agent("a1", 100);
    auto r = b.post("/api/credits/consume", consume_body("a1", 10));
    REQUIRE(r.status == 200);
    CHECK(json_of(r.body).at("metadata").at("karma").as_string() == "fallback");
    CHECK(json_of(r.body).at("metadata").at("ci").as_double() == 0.5);
  }
  // A KARMA URL where nothing listens (a stub started and stopped again), and a stub that is too slow.
  std::string dead_url;
  {
    karma_run k;
    dead_url = k.url;
    k.proc->stop();
  }
  karma_run slow({"--delay-ms", "2000"});
  for (auto const& url : {dead_url, slow.url}) {
    INFO(url);
    backend_run b(dir.file("b" + std::to_string(url.size()) + url.substr(url.rfind(':') + 1) + ".jsonl"),
                  {"--karma-url", url, "--karma-timeout-ms", "100"});
    b.make_agent("a1", 100);
    auto r = b.post("/api/credits/consume", consume_body("a1", 10));
    REQUIRE(r.status == 200);
    CHECK(json_of(r.body).at("metadata").at("karma").as_string() == "fallback");
    CHECK(json_of(r.body).at("metadata").at("ci").as_double() == 0.5);
    CHECK(b.balance("a1") == 90.0);
  }
}

TEST_CASE("backend: KARMA up gives karma ok and a CI in 0.3..0.7, the stub is deterministic", "[backend][http][karma]") {
  temp_dir dir;
  karma_run k({"--seed", "7"});
  backend_run b(dir.file("credits.jsonl"), {"--karma-url", k.url});
  b.make_agent("a1", 1000);
  for (int i = 1; i <= 5; ++i) {
    auto r = b.post("/api/credits/consume", consume_body("a1", i));
    REQUIRE(r.status == 200);
    auto meta = json_of(r.body).at("metadata");
    CHECK(meta.at("karma").as_string() == "ok");
    CHECK(meta.at("ci").as_double() >= 0.3);
    CHECK(meta.at("ci").as_double() <= 0.7);
  }
  auto score = [](std::string const& url, std::string const& body) {
    net::request q{"POST", url + "/score", body, {}};
    auto r = net::fetch(q);
    REQUIRE(r);
    return *r;
  };
  auto a = score(k.url, R"({"agent_id":"x","amount":12.5})");
  auto a2 = score(k.url, R"({"agent_id":"x","amount":12.5})");
  REQUIRE(a.status == 200);
  CHECK(a.body == a2.body);
  CHECK(score(k.url, R"({"agent_id":"x"})").status == 422);
  CHECK(json_of(a.body).at("ci").as_double() == backend_ci(7, "x", 12.5));
  karma_run failing({"--error-rate", "1", "--error-status", "503"});
  CHECK(score(failing.url, R"({"agent_id":"x","amount":1})").status == 503);
}

TEST_CASE("backend: every fsync policy journals each answered write, SIGINT stops cleanly", "[backend][http][journal]") {
  temp_dir dir;
  for (std::string policy : {"always", "interval", "never"}) {
    INFO(policy);
    auto journal = dir.file(policy + ".jsonl");
    backend_run b(journal, {"--fsync", policy});
    b.make_agent("a1", 100);
    for (int i = 0; i < 5; ++i) REQUIRE(b.post("/api/credits/consume", consume_body("a1", 1)).status == 200);
    CHECK(journal_lines(journal) == 7);  // answered means written
    CHECK(b.get_json("/api/credits/metrics").at("journal").at("fsync").as_string() == policy);
    b.proc->signal(SIGINT);
    CHECK(b.proc->wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  }
}

TEST_CASE("backend: a crash (SIGKILL) and restart rebuild the state bit for bit, awkward amounts included",
          "[backend][http][replay]") {
  // Amounts with 17 significant digits: the live state must hold exactly what the journal gives back.
  temp_dir dir;
  auto journal = dir.file("credits.jsonl");
  std::string digest;
  core::rng rng(20261124);
  {
    backend_run b(journal, {"--fsync", "always"});
    for (auto const* a : {"k1", "k2", "k3"}) b.make_agent(a, 1000);
    char body[160];
    for (int i = 0; i < 150; ++i) {
      std::snprintf(body, sizeof body, R"({"agent_id":"k%d","amount":%.17g,"reason":"r"})", 1 + i % 3,
                    rng.between(0.01, 5.0));
      REQUIRE(b.post(i % 5 == 4 ? "/api/credits/refund" : "/api/credits/consume", body).status == 200);
    }
    digest = b.digest();
    b.proc->signal(SIGKILL);
    REQUIRE(b.proc->wait_exit(std::chrono::seconds(10)));
  }
  backend_run b(journal);
  CHECK(b.digest() == digest);
}
