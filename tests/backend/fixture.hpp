// Shared by the backend's integration tests: start `stormgate backend` / `stormgate karma` on port 0 and
// talk JSON to them.
#pragma once
#include "core/jsonl.hpp"
#include "net/net.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

namespace stormgate::test {

inline boost::json::value json_of(std::string const& text) {
  std::string err;
  auto v = core::parse_json(text, err);
  if (!v) FAIL("not JSON (" << err << "): " << text);
  return *v;
}

struct backend_run {
  std::unique_ptr<process> proc;
  std::string url;

  backend_run(std::string const& journal, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"backend", "--listen", "127.0.0.1:0", "--journal", journal};
    if (std::find(extra.begin(), extra.end(), "--fsync") == extra.end()) extra.insert(extra.end(), {"--fsync", "never"});
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<process>(args);
    url = proc->wait_listening("backend");
  }

  net::response call(std::string method, std::string path, std::string body = {},
                     std::vector<std::pair<std::string, std::string>> headers = {}) const {
    net::request r;
    r.method = std::move(method);
    r.url = url + path;
    r.body = std::move(body);
    r.headers = std::move(headers);
    auto res = net::fetch(r);
    REQUIRE(res);
    return *res;
  }
  net::response post(std::string path, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) const {
    return call("POST", std::move(path), std::move(body), std::move(headers));
  }
  net::response get(std::string path) const { return call("GET", std::move(path)); }
  boost::json::value get_json(std::string path) const {
    auto r = get(path);
    REQUIRE(r.status == 200);
    return json_of(r.body);
  }
  std::string digest() const { return std::string(get_json("/api/credits/state").at("state_digest").as_string()); }
  double balance(std::string const& agent) const {
    return get_json("/api/credits/balance/" + agent).at("balance").to_number<double>();
  }
  // Creates an agent and tops it up to `credits`.
  void make_agent(std::string const& agent, double credits) const {
    REQUIRE(post("/api/credits/agents", R"({"agent_id":")" + agent + R"(","skill_level":0.0})").status == 200);
    if (credits > 0)
      REQUIRE(post("/api/credits/add", R"({"agent_id":")" + agent + R"(","amount":)" + std::to_string(credits) +
                                           R"(,"reason":"top-up"})")
                  .status == 200);
  }
  int stop() { return proc->stop(); }
};

struct karma_run {
  std::unique_ptr<process> proc;
  std::string url;
  explicit karma_run(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"karma", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<process>(args);
    url = proc->wait_listening("karma");
  }
};

inline std::string consume_body(std::string const& agent, double amount) {
  return R"({"agent_id":")" + agent + R"(","amount":)" + std::to_string(amount) + R"(,"reason":"test"})";
}

}  // namespace stormgate::test
