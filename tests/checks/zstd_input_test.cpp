// The checker on zstd logs: the same verdict as on plain ones, rotated .zst files, a stream cut
// short (noted, not an error) and corrupt compressed data (65, naming the file).
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
using checks::status;

namespace {

std::string slurp(std::string const& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(std::string const& path, std::string const& bytes) { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }

// An agent created with 1 000 000 credits, then `n` consumes of 1.25 whose balances add up.
std::vector<std::string> many_consumes(int n, int first = 0) {
  std::vector<std::string> lines;
  double balance = 1000000 - 1.25 * first;
  if (first == 0) lines.push_back(create("c-1", "a1", balance, 0));
  for (int i = first; i < first + n; ++i) {
    balance -= 1.25;
    lines.push_back(consume("credit_storm-" + std::to_string(i), "a1", 1.25, balance, "e-" + std::to_string(i), 10 + i));
  }
  return lines;
}

void write_zst(std::string const& path, std::vector<std::string> const& lines) {
  core::log_file f;
  REQUIRE(f.open(path, core::log_file::mode::truncate));
  for (auto const& l : lines) {
    f.write(l);
    f.write("\n");
  }
  f.close();
  REQUIRE(f.error().empty());
}

}  // namespace

TEST_CASE("check: a zstd traffic log gives the report of the plain one, rotated files included", "[checks][input][zstd]") {
  temp_dir dir;
  auto lines = many_consumes(3000);
  write_lines(dir.file("t.jsonl"), lines);
  write_zst(dir.file("t.jsonl.zst"), lines);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("t.jsonl")};
  auto plain = checks::run_check(o);
  o.traffic = {dir.file("t.jsonl.zst")};
  auto z = checks::run_check(o);
  REQUIRE(plain);
  REQUIRE(z);
  CHECK(z->records == plain->records);
  CHECK(z->records == 3001);
  CHECK(z->overall_status == plain->overall_status);
  for (auto g : {"A", "B"}) CHECK(z->gates.at(g).st == plain->gates.at(g).st);
  CHECK(z->gates.at("B").st == status::pass);
  CHECK(z->notes == plain->notes);
  // traffic.1.jsonl.zst is found beside traffic.jsonl.zst and read first
  write_zst(dir.file("traffic.1.jsonl.zst"), many_consumes(1000));
  write_zst(dir.file("traffic.jsonl.zst"), many_consumes(500, 1000));
  o.traffic = {dir.file("traffic.jsonl.zst")};
  auto rot = checks::run_check(o);
  REQUIRE(rot);
  CHECK(rot->records == 1501);
  CHECK(rot->gates.at("B").st == status::pass);
  REQUIRE(rot->inputs.size() == 2);
  CHECK(rot->inputs[0].find("traffic.1.jsonl.zst") != std::string::npos);
}

TEST_CASE("check: a zstd log cut short is read to its last whole block and noted", "[checks][input][zstd]") {
  temp_dir dir;
  auto lines = many_consumes(4000);
  write_zst(dir.file("t.zst"), lines);
  auto z = slurp(dir.file("t.zst"));
  spit(dir.file("cut.jsonl.zst"), z.substr(0, z.size() * 3 / 4));
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("cut.jsonl.zst")};
  auto r = checks::run_check(o);
  REQUIRE(r);
  CHECK(r->records > 0);
  CHECK(r->records < lines.size());
  bool noted = false;
  for (auto const& n : r->notes) noted |= n.find("ends inside a frame") != std::string::npos && n.find(dir.file("cut.jsonl.zst")) == 0;
  CHECK(noted);
}

TEST_CASE("check: corrupt data inside a zstd log stops with 65, naming the file", "[checks][input][zstd]") {
  temp_dir dir;
  write_zst(dir.file("t.zst"), many_consumes(20000));
  auto z = slurp(dir.file("t.zst"));
  for (std::size_t i = z.size() / 2; i < z.size() / 2 + 64; ++i) z[i] = static_cast<char>(z[i] ^ 0x5A);
  spit(dir.file("bad.jsonl.zst"), z);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("bad.jsonl.zst")};
  auto r = checks::run_check(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == 65);
  CHECK(r.error().where.find(dir.file("bad.jsonl.zst") + ":") == 0);
}
