// The history writer: compact numbers, and a .zst history readable after each flush.
#include "core/jsonl.hpp"
#include "load/detail/history_writer.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <limits>
#include <memory>

using namespace stormgate;
namespace json = boost::json;

namespace {
std::vector<std::string> lines_of(std::string const& path, bool& cut) {
  core::line_reader in(path);
  std::vector<std::string> out;
  std::string_view line;
  while (out.size() < 100000 && in.next(line)) out.emplace_back(line);
  cut = in.cut();
  REQUIRE(in.error().empty());
  return out;
}
}  // namespace

TEST_CASE("history writer: run records have plain numbers, v first", "[load][history]") {
  test::temp_dir dir;
  auto path = dir.file("h.jsonl");
  {
    auto w = load::history_writer::open(path);
    REQUIRE(w);
    std::unique_ptr<load::history_writer> h(*w);
    h->write(json::object{{"type", "run"}, {"duration_s", 1800.0}, {"rate", 0.0}, {"skill_level", 1.0}, {"amount", 1.18},
                          {"elapsed_s", 61.877001}, {"bad", std::numeric_limits<double>::quiet_NaN()}});
  }
  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line == R"({"v":1,"type":"run","duration_s":1800,"rate":0,"skill_level":1,"amount":1.18,"elapsed_s":61.877001,"bad":null})");
}

TEST_CASE("history writer: strings go through the one JSON string writer: escaped, invalid UTF-8 repaired",
          "[load][history]") {
  test::temp_dir dir;
  auto path = dir.file("h.jsonl");
  std::string bad = "ok \xff\xfe end";         // bytes that are not UTF-8
  std::string ctl = "tab\tquote\"nl\n\x01";   // escapes
  std::string good = "K\xc3\xa4se \xe2\x82\xac";  // valid UTF-8 stays as it is
  {
    auto w = load::history_writer::open(path);
    REQUIRE(w);
    std::unique_ptr<load::history_writer> h(*w);
    h->write(json::object{{"type", "fail"}, {"error", bad}, {"why", ctl}, {"name", good}, {"k\xff", 1}});
  }
  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  std::string expect;
  core::append_json_string(expect, bad);
  CHECK(line.find(expect) != std::string::npos);
  std::string err;
  auto v = core::parse_json(line, err);
  INFO(line << " " << err);
  REQUIRE(v);
  auto const& o = v->as_object();
  CHECK(o.at("error").as_string() == "ok \xef\xbf\xbd\xef\xbf\xbd end");  // each bad byte a U+FFFD
  CHECK(o.at("why").as_string() == ctl);
  CHECK(o.at("name").as_string() == good);
  CHECK(o.contains("k\xef\xbf\xbd"));
}

TEST_CASE("history writer: a .zst history holds every line written before a flush", "[load][history][zstd]") {
  test::temp_dir dir;
  auto path = dir.file("h.jsonl.zst");
  auto w = load::history_writer::open(path);
  REQUIRE(w);
  std::unique_ptr<load::history_writer> h(*w);
  for (int i = 0; i < 5000; ++i) {
    auto id = "soak-" + std::to_string(i);
    h->write(load::op_line{.type = "invoke", .op = id, .f = "consume", .value = {R"({"amount":1.5})"}});
  }
  h->flush();
  bool cut = false;
  auto live = lines_of(path, cut);  // as a reader of a live run sees it
  CHECK(live.size() == 5000);
  CHECK(live.back() == R"({"v":1,"type":"invoke","op":"soak-4999","scenario":"","f":"consume","process":0,"ts":"","value":{"amount":1.5}})");
  CHECK(cut);  // the frame is not ended yet
  h->write(json::object{{"type", "run"}, {"action", "stop"}, {"ops", 5000}});
  h.reset();
  auto all = lines_of(path, cut);
  CHECK(all.size() == 5001);
  CHECK_FALSE(cut);
  CHECK(all.back() == R"({"v":1,"type":"run","action":"stop","ops":5000})");
  CHECK(h == nullptr);
}

TEST_CASE("history writer: an unwritable path is a usage error naming --history", "[load][history]") {
  test::temp_dir dir;
  auto w = load::history_writer::open(dir.file("no/such/dir/h.jsonl.zst"));
  REQUIRE_FALSE(w);
  CHECK_FALSE(w.error().what.empty());
  CHECK(w.error().where.find("--history") == 0);
}
