#include "backend/backend.hpp"
#include "tests/backend/fixture.hpp"

#include <fstream>

using namespace stormgate;
using namespace stormgate::test;

namespace {
std::string write(temp_dir const& d, std::string const& name, std::string const& text) {
  auto p = d.file(name);
  std::ofstream(p) << text;
  return p;
}
}  // namespace

TEST_CASE("backend config: TOML keys at the top or in a backend table", "[backend][options]") {
  temp_dir d;
  auto top = backend::read_backend_config(
      write(d, "a.toml", "listen = \"127.0.0.1:9\"\nfsync = \"never\"\nkarma_timeout_ms = 80\nsynergy_cap = 100\n"), {});
  REQUIRE(top);
  CHECK(top->listen == "127.0.0.1:9");
  CHECK(top->fsync == backend::fsync_policy::never);
  CHECK(top->karma_timeout_ms == 80);
  CHECK(top->synergy_cap == 100.0);
  auto table = backend::read_backend_config(write(d, "b.toml", "[backend]\ndefect = \"lost-update\"\nanomaly_factor = 3.5\n"), {});
  REQUIRE(table);
  CHECK(table->defect_ == backend::defect::lost_update);
  CHECK(table->anomaly_factor == 3.5);
}

TEST_CASE("backend config: errors name file, line and key", "[backend][options]") {
  temp_dir d;
  struct row {
    std::string text;
    std::string where;
  };
  for (auto const& r : std::vector<row>{{"listen = \"x\"\nfsync = \"sometimes\"\n", "c.toml:2:9 fsync"},
                                        {"[backend]\n\ndefect = \"typo\"\n", "c.toml:3:10 backend.defect"},
                                        {"karma_timeout_ms = -5\n", "c.toml:1:20 karma_timeout_ms"},
                                        {"karma_timeout_ms = \"5\"\n", "c.toml:1:20 karma_timeout_ms"},
                                        {"colour = 1\n", "c.toml:1:10 colour"}}) {
    INFO(r.text);
    auto path = write(d, "c.toml", r.text);
    auto res = backend::read_backend_config(path, {});
    REQUIRE(!res);
    CHECK(res.error().code == core::exit_usage);
    CHECK(res.error().where.ends_with(r.where));
  }
}

TEST_CASE("backend: a flag wins over the config file, a bad file exits 64", "[backend][options]") {
  temp_dir d;
  auto cfg = write(d, "b.toml", "journal = \"" + d.file("from-file.jsonl") + "\"\nsynergy_cap = 10\n");
  backend_run b(d.file("from-flag.jsonl"), {"--config", cfg, "--synergy-cap", "30"});
  auto r = json_of(b.post("/api/credits/synergy", R"({"team_id":"t","agent_id":"a","amount":100,"collaboration_id":"c"})").body);
  CHECK(r.at("awarded").as_double() == 30.0);
  b.stop();
  CHECK(std::filesystem::exists(d.file("from-flag.jsonl")));
  CHECK(!std::filesystem::exists(d.file("from-file.jsonl")));

  process bad({"backend", "--listen", "127.0.0.1:0", "--config", write(d, "bad.toml", "fsync = 3\n")});
  CHECK(bad.wait_exit(std::chrono::seconds(10)) == std::optional<int>(64));
  CHECK(bad.stderr_text().find("bad.toml:1:") != std::string::npos);
}

TEST_CASE("defect and fsync names round-trip", "[backend][options]") {
  for (auto const& n : backend::defect_names()) {
    auto d = backend::parse_defect(n);
    REQUIRE(d);
    CHECK(backend::to_string(*d) == n);
  }
  CHECK(backend::parse_defect("none") == std::optional(backend::defect::none));
  CHECK(!backend::parse_defect("bogus"));
  CHECK(backend::defect_names().size() == 8);
  for (auto n : {"always", "interval", "never"}) CHECK(backend::to_string(*backend::parse_fsync_policy(n)) == n);
}
