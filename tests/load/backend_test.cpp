// `stormgate load` against the reference backend (`stormgate backend`), the KARMA stub and the proxy,
// all real processes on 127.0.0.1.
#include "core/causes.hpp"
#include "core/time.hpp"
#include "load/load.hpp"
#include "scenarios/scenarios.hpp"
#include "tests/load/history_check.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <csignal>
#include <thread>

using namespace stormgate;
namespace json = boost::json;

namespace {

unsigned short free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// karma stub <- proxy route karma <- backend <- proxy route credits <- load
struct stack {
  test::temp_dir dir;
  std::unique_ptr<test::process> karma, proxy, backend;
  std::string credits_url, admin_url, backend_url;
  unsigned short backend_port = 0;

  std::string fsync = "never";
  explicit stack(bool with_proxy = true, std::string fsync_policy = "never") : fsync(std::move(fsync_policy)) {
    karma = std::make_unique<test::process>(std::vector<std::string>{"karma", "--listen", "127.0.0.1:0"});
    auto karma_url = karma->wait_listening("karma");
    backend_port = free_port();
    backend_url = "http://127.0.0.1:" + std::to_string(backend_port);
    std::string karma_for_backend = karma_url;
    if (with_proxy) {
      proxy = std::make_unique<test::process>(std::vector<std::string>{
          "proxy", "--route", "credits=127.0.0.1:0->" + backend_url, "--route", "karma=127.0.0.1:0->" + karma_url,
          "--admin", "127.0.0.1:0", "--traffic-log", dir.file("traffic.jsonl"), "--seed", "42"});
      credits_url = proxy->wait_listening("route:credits");
      karma_for_backend = proxy->wait_listening("route:karma");
      admin_url = proxy->wait_listening("admin");
    }
    start_backend(karma_for_backend);
    if (!with_proxy) credits_url = backend_url;
  }
  void start_backend(std::string const& karma_url) {
    backend = std::make_unique<test::process>(std::vector<std::string>{
        "backend", "--listen", "127.0.0.1:" + std::to_string(backend_port), "--journal", dir.file("credits.jsonl"),
        "--fsync", fsync, "--karma-url", karma_url});
    backend->wait_listening("backend");
  }
  // Runs `stormgate load` with `extra` flags; returns its exit code.
  int load(std::vector<std::string> extra, std::string const& history) {
    std::vector<std::string> args{"load", "--target", "reference", "--base-url", credits_url, "--history", history, "--quiet"};
    if (!admin_url.empty()) args.insert(args.end(), {"--admin-url", admin_url});
    args.insert(args.end(), extra.begin(), extra.end());
    test::process p(args);
    auto rc = p.wait_exit(std::chrono::seconds(90));
    if (!rc) {
      p.stop();
      return -1;
    }
    if (*rc != 0) WARN(p.stderr_text());
    return *rc;
  }
};

std::vector<json::object> of(std::vector<json::object> const& recs, std::string const& type, std::string const& f,
                             std::string const& scenario = {}) {
  std::vector<json::object> out;
  for (auto const& r : recs)
    if (test::str(r, "type") == type && test::str(r, "f") == f && (scenario.empty() || test::str(r, "scenario") == scenario))
      out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("the six scenarios run through the proxy against the reference backend and write a well-formed history",
          "[load][integration]") {
  stack s;
  auto h = s.dir.file("history.jsonl");
  REQUIRE(s.load({"--concurrency", "20", "--seed", "42"}, h) == 0);
  auto recs = test::read_history(h);
  INFO(test::well_formed(recs));
  REQUIRE(test::well_formed(recs).empty());

  std::set<std::string> started, stopped;
  for (auto const& r : test::of_type(recs, "scenario")) {
    INFO(json::serialize(r));
    CHECK(test::str(r, "action") != "skip");
    if (test::str(r, "action") == "start") started.insert(test::str(r, "scenario"));
    if (test::str(r, "action") == "stop") {
      stopped.insert(test::str(r, "scenario"));
      CHECK_FALSE(r.contains("error"));
    }
  }
  auto const ids = scenarios::ids();
  std::set<std::string> six(ids.begin(), ids.end());
  CHECK(started == six);
  CHECK(stopped == six);

  // credit_storm: answers dropped at the proxy (504, info) were retried with the same op id and got a
  // definite answer: ok, or fail (400) where the storm had drained the agent (it asks for ~1.5x the credits).
  int dropped = 0, retried_ok = 0, retried_fail = 0;
  std::set<std::string> dropped_ops;
  for (auto const& r : of(recs, "info", "consume", "credit_storm"))
    if (r.at("status").as_int64() == 504 && !r.contains("attempt")) ++dropped, dropped_ops.insert(test::str(r, "op"));
  for (auto const& r : of(recs, "ok", "consume", "credit_storm"))
    if (r.contains("attempt") && dropped_ops.count(test::str(r, "op"))) ++retried_ok;
  for (auto const& r : of(recs, "fail", "consume", "credit_storm"))
    if (r.contains("attempt") && dropped_ops.count(test::str(r, "op"))) {
      ++retried_fail;
      CHECK(r.at("status").as_int64() == 400);
    }
  INFO("dropped " << dropped << " retried ok " << retried_ok << " retried fail " << retried_fail);
  CHECK(dropped > 30);  // ~10 % of 20 x 20 consumes
  CHECK(dropped < 200);
  CHECK(retried_ok + retried_fail >= dropped * 9 / 10);
  CHECK(retried_ok > retried_fail);
  CHECK(of(recs, "ok", "balances", "credit_storm").size() == 1);
  // every failure carries its cause: the dropped answers name the fault (the proxy's X-Stormgate-Fault),
  // the drained agents' 400s are refusals; nothing here is an unexplained error
  for (auto const& r : of(recs, "info", "consume", "credit_storm"))
    if (r.at("status").as_int64() == 504) CHECK(test::str(r, "cause") == "fault retry-injection");
  for (auto const& r : of(recs, "fail", "consume", "credit_storm")) CHECK(test::str(r, "cause") == "rejected 400");
  for (auto const& type : {"fail", "info"})
    for (auto const& r : test::of_type(recs, type)) {
      INFO(json::serialize(r));
      REQUIRE(r.contains("cause"));
      CHECK(core::cause_explained(test::str(r, "cause")));
    }
  for (auto const& r : test::of_type(recs, "ok")) CHECK_FALSE(r.contains("cause"));

  // approval_race: one decision wins, nine get 409.
  auto wins = of(recs, "ok", "approve", "approval_race").size() + of(recs, "ok", "deny", "approval_race").size();
  auto lost = of(recs, "fail", "approve", "approval_race").size() + of(recs, "fail", "deny", "approval_race").size();
  CHECK(wins == 1);
  CHECK(lost == 9);
  for (auto const& f : {"approve", "deny"})
    for (auto const& r : of(recs, "fail", f, "approval_race")) CHECK(r.at("status").as_int64() == 409);

  // synergy: every event answered, awarded amounts recorded.
  auto syn = of(recs, "ok", "synergy", "synergy_anti_gaming");
  CHECK(syn.size() == 500);
  if (!syn.empty()) CHECK(syn.front().at("value").as_object().contains("awarded"));

  // karma_blackout: the consumes still succeed.
  CHECK(of(recs, "ok", "consume", "karma_blackout").size() == 50);

  // crash_replay: two state snapshots and a replay, each with a state digest.
  auto states = of(recs, "ok", "state", "crash_replay");
  REQUIRE(states.size() == 2);
  for (auto const& r : states) CHECK(r.at("value").as_object().contains("state_digest"));
  auto replays = of(recs, "ok", "replay", "crash_replay");
  REQUIRE(replays.size() == 1);
  CHECK(replays.front().at("value").as_object().contains("state_digest"));

  // per-scenario latency summaries
  int summaries = 0;
  for (auto const& r : test::of_type(recs, "stats")) summaries += test::str(r, "scope") == "scenario";
  CHECK(summaries == 6);
}

TEST_CASE("the same seed gives the same op sequence against the backend", "[load][integration][seed]") {
  stack s;
  auto a = s.dir.file("a.jsonl"), b = s.dir.file("b.jsonl");
  REQUIRE(s.load({"--scenario", "credit_storm", "--concurrency", "10", "--seed", "7"}, a) == 0);
  REQUIRE(s.load({"--scenario", "credit_storm", "--concurrency", "10", "--seed", "7"}, b) == 0);
  auto invokes = [](std::string const& path) {
    std::vector<std::string> out;
    for (auto const& r : test::of_type(test::read_history(path), "invoke")) {
      auto const* att = r.if_contains("attempt");
      out.push_back(test::str(r, "op") + " " + (att ? std::to_string(att->as_int64()) : "1") + " " + test::str(r, "f") +
                    " " + std::to_string(r.at("process").as_int64()) + " " + json::serialize(r.at("value")));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  auto x = invokes(a), y = invokes(b);
  CHECK(x.size() > 200);
  CHECK(x == y);
}

namespace {
// the `sample` records of one process (value.process)
std::vector<boost::json::object> samples_of(std::vector<boost::json::object> const& recs, std::string const& process) {
  std::vector<boost::json::object> out;
  for (auto const& r : test::of_type(recs, "sample"))
    if (test::str(r.at("value").as_object(), "process") == process) out.push_back(r);
  return out;
}
}  // namespace

TEST_CASE("the soak samples the backend's and its own memory, and SIGINT ends the run with interrupted:true",
          "[load][integration][soak]") {
  stack s(false);
  auto h = s.dir.file("soak.jsonl");
  REQUIRE(s.load({"--scenario", "soak", "--duration", "2", "--concurrency", "8", "--backend-pid",
                  std::to_string(s.backend->pid())},
                 h) == 0);
  auto recs = test::read_history(h);
  REQUIRE(test::well_formed(recs).empty());
  auto samples = samples_of(recs, "backend");
  REQUIRE_FALSE(samples.empty());
  CHECK(test::str(samples.front().at("value").as_object(), "source") == "proc");
  CHECK(samples.front().at("value").at("rss_bytes").as_int64() > 100000);
  CHECK(samples.front().at("value").at("pid").as_int64() == s.backend->pid());
  auto own = samples_of(recs, "load");
  REQUIRE(own.size() == samples.size());  // the load samples itself at each interval too
  CHECK(own.front().at("value").at("rss_bytes").as_int64() > 100000);
  CHECK(own.front().at("value").at("pid").as_int64() != s.backend->pid());
  CHECK(test::of_type(recs, "invoke").size() > 100);

  // a PID file is read at every sample: a backend that appears (or is restarted) mid-run is followed
  auto h3 = s.dir.file("soak3.jsonl");
  auto pidfile = s.dir.file("later.pid");
  test::process late({"load", "--target", "reference", "--base-url", s.credits_url, "--history", h3, "--quiet",
                      "--scenario", "soak", "--duration", "2", "--concurrency", "4", "--backend-pid-file", pidfile,
                      "--sample-interval-ms", "200"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto written_us = core::now_us().time_since_epoch().count();
  std::ofstream(pidfile) << s.backend->pid() << "\n";
  auto late_rc = late.wait_exit(std::chrono::seconds(30));
  REQUIRE(late_rc);
  CHECK(*late_rc == 0);
  auto recs3 = test::read_history(h3);
  auto samples3 = samples_of(recs3, "backend");
  CHECK(samples3.size() >= 3);
  CHECK(samples_of(recs3, "load").size() > samples3.size());  // its own from the start
  for (auto const& x : samples3) {
    CHECK(test::str(x.at("value").as_object(), "source") == "proc");
    CHECK(core::parse_rfc3339_us(x.at("ts").as_string()) >= written_us);  // none before the file existed
  }

  // metrics source, then SIGINT in the middle of a long soak
  auto h2 = s.dir.file("soak2.jsonl");
  test::process p({"load", "--target", "reference", "--base-url", s.credits_url, "--history", h2, "--quiet", "--scenario",
                   "soak", "--duration", "60", "--concurrency", "8"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  p.signal(SIGINT);
  auto rc = p.wait_exit(std::chrono::seconds(15));
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto recs2 = test::read_history(h2);
  INFO(test::well_formed(recs2));
  REQUIRE(test::well_formed(recs2).empty());
  CHECK(recs2.back().at("interrupted").as_bool());
  CHECK(recs2.back().at("elapsed_s").to_number<double>() < 30);
  auto samples2 = samples_of(recs2, "backend");
  REQUIRE_FALSE(samples2.empty());
  CHECK(test::str(samples2.front().at("value").as_object(), "source") == "metrics");
}

TEST_CASE("crash_replay restarts the backend with the restart command and waits for it", "[load][integration][restart]") {
  stack s(false, "always");  // acknowledged writes are on disk when the backend is killed
  auto pidfile = s.dir.file("backend.pid");
  {
    std::ofstream(pidfile) << s.backend->pid();
  }
  // SIGKILL the running backend, then start a new one on the same port and journal (detached).
  std::string cmd = "kill -9 $(cat " + pidfile + "); sleep 0.2; (" + test::stormgate_bin() +
                    " backend --listen 127.0.0.1:" + std::to_string(s.backend_port) + " --journal " +
                    s.dir.file("credits.jsonl") + " --fsync always > " + s.dir.file("restarted.out") +
                    " 2>&1 & echo $! > " + pidfile + ")";
  auto h = s.dir.file("crash.jsonl");
  int rc = s.load({"--scenario", "crash_replay", "--restart-command", cmd}, h);
  {
    std::ifstream in(pidfile);
    int pid = 0;
    if (in >> pid && pid > 0 && pid != s.backend->pid()) ::kill(pid, SIGTERM);
  }
  REQUIRE(rc == 0);
  auto recs = test::read_history(h);
  INFO(test::well_formed(recs));
  REQUIRE(test::well_formed(recs).empty());
  auto restarts = of(recs, "ok", "restart", "crash_replay");
  REQUIRE(restarts.size() == 1);
  CHECK(restarts.front().at("value").at("exit_status").as_int64() == 0);
  auto states = of(recs, "ok", "state", "crash_replay");
  REQUIRE(states.size() == 2);
  // The load client records both snapshots; whether their digests agree is gate B's verdict on the backend.
  CHECK(states[0].at("value").at("events") == states[1].at("value").at("events"));
  CHECK(states[0].at("value").at("state_digest").is_string());
  CHECK(states[1].at("value").at("state_digest").is_string());
  CHECK(states[0].at("ts").as_string() < restarts.front().at("ts").as_string());
  CHECK(restarts.front().at("ts").as_string() < states[1].at("ts").as_string());
}
