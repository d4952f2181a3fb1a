// `stormgate check` on logs a kill, a full disk or a hostile peer left behind, as a user runs it:
// each case's exit code and what stderr says (--quiet, so that stderr is all there is).
#include "checks/checks.hpp"
#include "core/log_file.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/records.hpp"
#include "scenarios/scenarios.hpp"

#include <fstream>
#include <sstream>

using namespace stormgate;
using namespace stormgate::test;

namespace {

std::vector<std::string> good_traffic() {
  return {create("c-1", "a1", 100, 0), consume("credit_storm-1", "a1", 10, 90, "e-1", 10), consume("credit_storm-2", "a1", 5, 85, "e-2", 20),
          balance_read("a1", 85, 100)};
}

struct answer_of {
  int rc = -1;
  std::string err;
};

answer_of check(std::string const& file) {
  process p({"check", "--traffic", file, "--quiet"});
  auto rc = p.wait_exit(std::chrono::seconds(30));
  REQUIRE(rc);
  return {*rc, p.stderr_text()};
}

std::string zst_bytes(temp_dir const& dir, std::vector<std::string> const& lines) {
  core::log_file f;
  REQUIRE(f.open(dir.file("whole.zst"), core::log_file::mode::truncate));
  for (auto const& l : lines) f.write(l + "\n");
  f.close();
  std::ifstream in(dir.file("whole.zst"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(std::string const& path, std::string const& bytes) { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }

// {"k":…} nested `depth` deep, objects and arrays in turn
std::string nested(int depth) {
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    open += i % 2 ? "[" : "{\"k\":";
    close.insert(0, i % 2 ? "]" : "}");
  }
  return open + "1" + close;
}

}  // namespace

TEST_CASE("check on damaged logs: a torn end is checked and warned of, anything else is 65 naming file:line", "[checks][input][cli]") {
  temp_dir dir;
  auto lines = good_traffic();

  // a torn last line (a writer killed mid-line): the rest is checked, and stderr names file:line
  auto torn = lines;
  torn.push_back(R"({"v":1,"kind":"exchange","id":"credits-9","rou)");
  write_lines(dir.file("torn.jsonl"), torn, false);
  auto a = check(dir.file("torn.jsonl"));
  CHECK(a.rc == 2);  // CONDITIONAL, as the whole log without its torn line
  CHECK(a.err.find("warning: " + dir.file("torn.jsonl") + ":5: torn last line ignored") != std::string::npos);

  // a corrupt line in the middle: 65, file:line
  auto corrupt = lines;
  corrupt.insert(corrupt.begin() + 2, R"({"v":1,"kind":"exchange","id":"credits-3",)");
  write_lines(dir.file("corrupt.jsonl"), corrupt);
  a = check(dir.file("corrupt.jsonl"));
  CHECK(a.rc == 65);
  CHECK(a.err.find(dir.file("corrupt.jsonl") + ":3: not valid JSON") != std::string::npos);

  // NUL bytes and bytes that are not UTF-8 in the middle: 65 at that line
  auto binary = lines;
  std::string bin = "{\"v\":1,";
  bin += '\0';
  bin += "\xff\xfe}";
  binary.insert(binary.begin() + 1, bin);
  write_lines(dir.file("binary.jsonl"), binary);
  a = check(dir.file("binary.jsonl"));
  CHECK(a.rc == 65);
  CHECK(a.err.find(dir.file("binary.jsonl") + ":2:") != std::string::npos);

  // empty, blank only, or one torn line: 65, no records
  write_lines(dir.file("empty.jsonl"), {});
  write_lines(dir.file("blank.jsonl"), {"", "  ", ""});
  write_lines(dir.file("one-torn.jsonl"), {R"({"v":1,"kind":"exch)"}, false);
  for (auto const& [f, why] : {std::pair{"empty.jsonl", "no records: an empty log is not a PASS"},
                               std::pair{"blank.jsonl", "no records: an empty log is not a PASS"},
                               std::pair{"one-torn.jsonl", "no records: its only line is torn (cut short)"}}) {
    a = check(dir.file(f));
    INFO(f << ": " << a.err);
    CHECK(a.rc == 65);
    CHECK(a.err.find(dir.file(f) + ": " + why) != std::string::npos);
  }
}

TEST_CASE("check on damaged zstd logs: cut in a frame is read to its last block and warned of; cut before any is 65", "[checks][input][zstd][cli]") {
  temp_dir dir;
  std::vector<std::string> lines;
  double balance = 1000000;
  lines.push_back(create("c-1", "a1", balance, 0));
  for (int i = 0; i < 4000; ++i) {
    balance -= 1.25;
    lines.push_back(consume("credit_storm-" + std::to_string(i), "a1", 1.25, balance, "e-" + std::to_string(i), 10 + i));
  }
  auto z = zst_bytes(dir, lines);
  REQUIRE(z.size() > 1000);

  spit(dir.file("cut.jsonl.zst"), z.substr(0, z.size() * 3 / 4));
  auto a = check(dir.file("cut.jsonl.zst"));
  CHECK(a.rc == 2);
  CHECK(a.err.find("warning: " + dir.file("cut.jsonl.zst") + ": the zstd stream ends inside a frame") != std::string::npos);

  // the magic and part of a frame header, or nothing at all
  spit(dir.file("head.jsonl.zst"), z.substr(0, 6));
  a = check(dir.file("head.jsonl.zst"));
  CHECK(a.rc == 65);
  CHECK(a.err.find(dir.file("head.jsonl.zst") + ": no records: the zstd stream was cut short before its first whole block") !=
        std::string::npos);
  spit(dir.file("zero.jsonl.zst"), "");
  a = check(dir.file("zero.jsonl.zst"));
  CHECK(a.rc == 65);
  CHECK(a.err.find(dir.file("zero.jsonl.zst") + ": no records") != std::string::npos);
}

TEST_CASE("check reads records as deep as the proxy logs them: bodies of 32 levels, faults of 256", "[checks][input]") {
  temp_dir dir;
  // Boost.JSON's default depth (32) is the proxy's limit for a body logged as JSON; the body sits at a
  // record's third level (req.body) and fourth (upstream[].body); a fault set from TOML may be deeper
  exchange_line x;
  x.op = "credit_storm-3";
  x.t_ms = 30;
  x.body = {{"agent_id", "a1"}, {"amount", 5}, {"deep", "DEEP"}};
  x.upstream.push_back(answer(200, json::object{{"event_id", "e-3"}, {"balance_after", 80}, {"deep", "DEEP"}}));
  auto line = x.str();
  for (auto at = line.find("\"DEEP\""); at != std::string::npos; at = line.find("\"DEEP\"")) line.replace(at, 6, nested(30));
  std::string control = R"({"v":1,"kind":"control","ts":"2026-11-24T10:00:00.040000Z","action":"set","fault":{"name":"ml","route":"credits",)"
                        R"("action":{"mutate":{"path":"amount","set":)" + nested(250) + "}}}}";
  auto lines = good_traffic();
  lines.insert(lines.begin() + 3, line);
  lines.insert(lines.begin() + 3, control);
  write_lines(dir.file("deep.jsonl"), lines);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("deep.jsonl")};
  auto r = checks::run_check(o);
  if (!r) FAIL(r.error().message());
  CHECK(r->records == lines.size());
}
