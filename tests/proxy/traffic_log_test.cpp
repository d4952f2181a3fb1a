// The traffic log's numbers (one writer for every record) and its zstd form, rotation included.
#include "core/jsonl.hpp"
#include "proxy/detail/record.hpp"
#include "proxy/detail/traffic_log.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

using namespace stormgate;
namespace json = boost::json;

TEST_CASE("traffic log: numbers in faults and control records have no exponent form", "[proxy][log]") {
  proxy::detail::exchange_record x;
  x.id = "credits-1";
  x.route = "credits";
  x.method = "POST";
  x.target = "/api/credits/consume";
  x.faults.push_back(json::object{{"kind", "mutate"}, {"rule", "x10"}, {"path", "amount"}, {"original", 12.5}, {"value", 125.0}});
  x.faults.push_back(json::object{{"kind", "delay"}, {"rule", "slow"}, {"ms", 1800.0}});
  x.outcome = "ok";
  std::string out;
  proxy::detail::format_exchange(out, x, 64);
  CHECK(out.find(R"("faults":[{"kind":"mutate","rule":"x10","path":"amount","original":12.5,"value":125},{"kind":"delay","rule":"slow","ms":1800}])") !=
        std::string::npos);
  CHECK(out.find('E') == std::string::npos);

  test::temp_dir dir;
  auto path = dir.file("traffic.jsonl");
  {
    proxy::detail::traffic_log log(path, 0, 1024);
    std::string err;
    REQUIRE(log.open(err));
    log.push(json::object{{"v", 1}, {"kind", "control"}, {"action", "set"}, {"fault", json::object{{"p", 1.0}, {"ms", 2.5}}}});
    log.stop();
  }
  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line == R"({"v":1,"kind":"control","action":"set","fault":{"p":1,"ms":2.5}})");
}

TEST_CASE("traffic log: a .zst log is a zstd stream, rotated files keep the extension, every record kept in order", "[proxy][log][zstd]") {
  test::temp_dir dir;
  auto path = dir.file("traffic.jsonl.zst");
  constexpr int records = 12000;
  {
    proxy::detail::traffic_log log(path, 60000, 1 << 16);
    std::string err;
    REQUIRE(log.open(err));
    std::uint64_t x = 88172645463325252ull;
    for (int i = 0; i < records; ++i) {
      std::string pad;
      for (int k = 0; k < 16; ++k) {  // hex noise: the records compress, but not to nothing
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pad += "0123456789abcdef"[x & 15];
        pad += "0123456789abcdef"[(x >> 4) & 15];
      }
      log.push(json::object{{"v", 1}, {"kind", "control"}, {"n", i}, {"amount", 1.18}, {"pad", pad}});
    }
    log.stop();
    CHECK(log.written() == records);
    CHECK(log.dropped() == 0);
  }
  std::vector<std::string> files;
  for (int i = 1; std::filesystem::exists(core::rotated_path(path, i)); ++i) files.push_back(core::rotated_path(path, i));
  files.push_back(path);
  CHECK(files.size() >= 3);
  CHECK(files.front() == dir.file("traffic.1.jsonl.zst"));
  int n = 0;
  for (auto const& f : files) {
    std::ifstream raw(f, std::ios::binary);
    char magic[4] = {};
    raw.read(magic, 4);
    CHECK(std::string(magic, 4) == "\x28\xB5\x2F\xFD");
    core::line_reader in(f);
    REQUIRE(in.compressed());
    std::string_view line;
    for (int guard = 0; guard < records + 1 && in.next(line); ++guard) {
      auto j = json::parse(json::string_view(line.data(), line.size()));
      REQUIRE(j.at("n") == n);
      REQUIRE(j.at("amount") == 1.18);
      ++n;
    }
    CHECK(in.error().empty());
    CHECK_FALSE(in.cut());
  }
  CHECK(n == records);
}

TEST_CASE("traffic log: a .zst log left inside a frame by a killed proxy is moved aside, not appended to", "[proxy][log][zstd]") {
  test::temp_dir dir;
  auto path = dir.file("traffic.jsonl.zst");
  std::string flushed;
  {
    core::log_file f;
    REQUIRE(f.open(path, core::log_file::mode::truncate));
    f.write("{\"v\":1,\"kind\":\"control\",\"n\":0}\n");
    f.flush();
    std::ifstream in(path, std::ios::binary);
    flushed.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flushed;  // as the killed writer left it
  CHECK_FALSE(core::zst_whole_frames(path));
  {
    proxy::detail::traffic_log log(path, 0, 1024);
    std::string err;
    REQUIRE(log.open(err));
    log.push(json::object{{"v", 1}, {"kind", "control"}, {"n", 1}});
    log.stop();
  }
  CHECK(core::zst_whole_frames(path));
  auto old = dir.file("traffic.1.jsonl.zst");
  REQUIRE(std::filesystem::exists(old));
  int n = 0;
  for (auto const& f : {old, path}) {
    core::line_reader in(f);
    std::string_view line;
    for (int guard = 0; guard < 10 && in.next(line); ++guard) CHECK(json::parse(json::string_view(line.data(), line.size())).at("n") == n++);
    CHECK(in.error().empty());
    CHECK(in.cut() == (f == old));
  }
  CHECK(n == 2);
  // a whole log is appended to: a second frame after the first
  {
    proxy::detail::traffic_log log(path, 0, 1024);
    std::string err;
    REQUIRE(log.open(err));
    log.push(json::object{{"v", 1}, {"kind", "control"}, {"n", 2}});
    log.stop();
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("traffic.2.jsonl.zst")));
  core::line_reader in(path);
  std::string_view line;
  int lines = 0;
  for (; lines < 10 && in.next(line);) ++lines;
  CHECK(lines == 2);
  CHECK(in.error().empty());
}
