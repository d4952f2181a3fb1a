// The one JSON writer of the logs (core::append_json), the log file writer (plain and zstd) and
// the line reader on zstd input.
#include "core/jsonl.hpp"
#include "core/log_file.hpp"
#include "tests/support/process.hpp"

#include "tests/support/catch.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <random>

#include <sys/stat.h>
#include <unistd.h>

using namespace stormgate;
namespace fs = std::filesystem;

namespace {

std::string num(double d) {
  std::string s;
  core::append_json_number(s, d);
  return s;
}

std::string slurp(std::string const& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(std::string const& path, std::string const& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Every line of `r`, checking that the line before is still what it was after each next().
std::vector<std::string> read_all(core::line_reader& r, std::size_t bound) {
  std::vector<std::string> out;
  std::string_view line, prev;
  std::string prev_copy;
  while (out.size() < bound && r.next(line)) {
    if (!out.empty()) REQUIRE(prev == prev_copy);
    out.emplace_back(line);
    prev = line;
    prev_copy = std::string(line);
  }
  return out;
}

// Lines of many lengths: short JSON-ish ones, some longer than the reader's 128 KB buffer, blank
// ones and '\r' endings now and then.
std::vector<std::string> sample_lines(int n) {
  std::vector<std::string> lines;
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    std::size_t len = i % 97 == 5 ? 150000 + static_cast<std::size_t>(rng() % 50000) : 1 + rng() % 600;
    std::string l = "{\"i\":" + std::to_string(i) + ",\"pad\":\"";
    for (std::size_t k = 0; k < len; ++k) l += static_cast<char>('a' + (rng() % 4 == 0 ? rng() % 26 : k % 7));
    l += "\"}";
    if (i % 11 == 0) l += '\r';
    lines.push_back(l);
    if (i % 13 == 0) lines.push_back(i % 2 ? "" : "  ");
  }
  return lines;
}

std::vector<std::string> expected(std::vector<std::string> const& lines) {
  std::vector<std::string> want;
  for (auto l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.find_first_not_of(" \t") != std::string::npos) want.push_back(l);
  }
  return want;
}

// Writes `lines` through a log_file, flushing every `flush_every` lines (0: only at the end).
void write_log(std::string const& path, std::vector<std::string> const& lines, int flush_every) {
  core::log_file f;
  REQUIRE(f.open(path, core::log_file::mode::truncate));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    f.write(lines[i]);
    f.write("\n");
    if (flush_every > 0 && (i + 1) % static_cast<std::size_t>(flush_every) == 0) f.flush();
  }
  f.close();
  CHECK(f.error().empty());
}

}  // namespace

TEST_CASE("append_json writes numbers in their shortest form, without exponents where fixed is natural", "[core][json]") {
  CHECK(num(1800.0) == "1800");
  CHECK(num(1.0) == "1");
  CHECK(num(-3.0) == "-3");
  CHECK(num(1.18) == "1.18");
  CHECK(num(0.0001) == "0.0001");
  CHECK(num(0.000001) == "0.000001");
  CHECK(num(1e-7) == "1e-7");
  CHECK(num(0.51) == "0.51");
  CHECK(num(12.5) == "12.5");
  CHECK(num(1e300) == "1e300");
  CHECK(num(-1.5e300) == "-1.5e300");
  CHECK(num(5e-324) == "5e-324");
  CHECK(num(-0.0) == "-0.0");
  CHECK(num(0.0) == "0");
  CHECK(num(9007199254740992.0) == "9007199254740992");  // 2^53
  CHECK(num(1e21) == "1e21");
  CHECK(num(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(num(std::numeric_limits<double>::infinity()) == "null");
  CHECK(num(-std::numeric_limits<double>::infinity()) == "null");
  boost::json::object o{{"duration_s", 1800.0}, {"skill_level", 1.0}, {"amount", 1.18}, {"n", -7}, {"u", 18446744073709551615ull},
                        {"ok", true}, {"none", nullptr}, {"list", boost::json::array{1.5, "x", boost::json::object{}}}};
  CHECK(core::to_json(o) ==
        R"({"duration_s":1800,"skill_level":1,"amount":1.18,"n":-7,"u":18446744073709551615,"ok":true,"none":null,"list":[1.5,"x",{}]})");
  CHECK(core::to_line(boost::json::value(boost::json::array{})) == "[]");
}

TEST_CASE("append_json: random doubles read back exactly", "[core][json]") {
  std::mt19937_64 rng(42);
  std::string err;
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (i % 4 == 1) d = static_cast<double>(static_cast<std::int64_t>(rng() % 2000001) - 1000000) / 100.0;  // money-like
    if (i % 4 == 2) d = std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 80));
    if (!std::isfinite(d)) continue;
    auto text = num(d);
    INFO(text);
    REQUIRE(core::is_json(text));
    // read back exactly (Boost.JSON 1.81's own parser may be an ulp off on some 17-digit numbers,
    // whatever wrote them)
    double back = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), back);
    REQUIRE(r.ec == std::errc());
    REQUIRE(r.ptr == text.data() + text.size());
    REQUIRE(std::memcmp(&back, &d, sizeof d) == 0);  // bit for bit, -0.0 included
    REQUIRE(text.find('E') == std::string::npos);
    if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0 && !(d == 0 && std::signbit(d))) {
      auto v = core::parse_json(text, err);  // an integer, read as one
      REQUIRE(v);
      REQUIRE(v->is_int64());
      REQUIRE(static_cast<double>(v->get_int64()) == d);
    }
    ++checked;
  }
  CHECK(checked > 150000);
}

TEST_CASE("append_json: strings are escaped and bytes that are not UTF-8 become U+FFFD", "[core][json]") {
  boost::json::object o{{"s", "a\"b\\c\n\x01\xff\xc3\xa9"}, {"k\xfe", "\xe2\x82"}};
  auto line = core::to_json(o);
  CHECK(line == "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xc3\xa9\",\"k\xEF\xBF\xBD\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  CHECK(core::is_json(line));
}

TEST_CASE("rotated_path puts the number before the extensions", "[core][log]") {
  CHECK(core::rotated_path("out/traffic.jsonl", 3) == "out/traffic.3.jsonl");
  CHECK(core::rotated_path("out/traffic.jsonl.zst", 1) == "out/traffic.1.jsonl.zst");
  CHECK(core::rotated_path("traffic.zst", 2) == "traffic.2.zst");
  CHECK(core::rotated_path("a.b/log", 4) == "a.b/log.4");
  CHECK(core::zst_path("x.jsonl.zst"));
  CHECK_FALSE(core::zst_path("x.jsonl"));
}

TEST_CASE("line reader: a zstd log reads as the same lines as the plain one, through small windows", "[core][jsonl][zstd]") {
  test::temp_dir dir;
  auto lines = sample_lines(3000);
  auto want = expected(lines);
  write_log(dir.file("p.jsonl"), lines, 0);
  write_log(dir.file("z.jsonl.zst"), lines, 250);
  auto z = slurp(dir.file("z.jsonl.zst"));
  REQUIRE(z.size() > 4);
  CHECK(z.substr(0, 4) == "\x28\xB5\x2F\xFD");
  CHECK(z.size() < slurp(dir.file("p.jsonl")).size() / 2);
  core::line_reader plain(dir.file("p.jsonl"), 4096);
  CHECK(plain.mapped());
  auto got_plain = read_all(plain, 100000);
  core::line_reader zr(dir.file("z.jsonl.zst"), 4096);
  CHECK(zr.compressed());
  CHECK_FALSE(zr.mapped());
  auto got = read_all(zr, 100000);
  CHECK(got_plain == want);
  CHECK(got == want);
  CHECK(zr.line_no() == plain.line_no());
  CHECK(zr.error().empty());
  CHECK_FALSE(zr.cut());
  CHECK_FALSE(zr.torn());
  // told by its bytes, not its name; and through a pipe
  fs::copy_file(dir.file("z.jsonl.zst"), dir.file("renamed.jsonl"));
  core::line_reader by_magic(dir.file("renamed.jsonl"));
  CHECK(by_magic.compressed());
  CHECK(read_all(by_magic, 100000) == want);
  auto fifo = dir.file("z.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto writer = std::async(std::launch::async, [&] { std::ofstream(fifo, std::ios::binary) << z; });
  core::line_reader piped(fifo);
  CHECK(read_all(piped, 100000) == want);
  CHECK(piped.compressed());
  writer.get();
}

TEST_CASE("line reader: frames appended to a zstd log read on (a log opened again for appending)", "[core][jsonl][zstd]") {
  test::temp_dir dir;
  auto path = dir.file("a.jsonl.zst");
  write_log(path, {"{\"a\":1}", "{\"a\":2}"}, 0);
  core::log_file f;
  REQUIRE(f.open(path, core::log_file::mode::append));
  f.write("{\"a\":3}\n");
  f.close();
  core::line_reader r(path);
  CHECK(read_all(r, 10) == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"});
  CHECK(r.error().empty());
}

TEST_CASE("line reader: a zstd stream cut short is a torn tail, not an error", "[core][jsonl][zstd]") {
  test::temp_dir dir;
  auto lines = sample_lines(2000);
  auto want = expected(lines);
  write_log(dir.file("z.zst"), lines, 100);
  auto z = slurp(dir.file("z.zst"));
  for (double at : {0.5, 0.9, 0.999}) {
    auto cut = static_cast<std::size_t>(static_cast<double>(z.size()) * at);
    spit(dir.file("cut.zst"), z.substr(0, cut));
    core::line_reader r(dir.file("cut.zst"), 4096);
    REQUIRE(r.compressed());
    auto got = read_all(r, 100000);
    INFO("cut at " << cut << " of " << z.size());
    CHECK(r.error().empty());
    CHECK(r.cut());
    REQUIRE(!got.empty());
    REQUIRE(got.size() <= want.size());
    for (std::size_t i = 0; i + 1 < got.size(); ++i) REQUIRE(got[i] == want[i]);
    if (r.torn()) CHECK(want[got.size() - 1].compare(0, got.back().size(), got.back()) == 0);  // a prefix of its line
    else CHECK(got.back() == want[got.size() - 1]);
  }
  // a writer killed after a flush: every flushed line is there, whole
  {
    core::log_file f;
    REQUIRE(f.open(dir.file("killed.zst"), core::log_file::mode::truncate));
    for (int i = 0; i < 500; ++i) f.write("{\"n\":" + std::to_string(i) + "}\n");
    f.flush();
    auto flushed = slurp(dir.file("killed.zst"));  // what the file holds before the frame is ended
    f.close();
    spit(dir.file("killed.zst"), flushed);
  }
  core::line_reader k(dir.file("killed.zst"));
  auto got = read_all(k, 1000);
  CHECK(got.size() == 500);
  CHECK(got.back() == "{\"n\":499}");
  CHECK_FALSE(k.torn());
  CHECK(k.cut());
  CHECK(k.error().empty());
}

TEST_CASE("line reader: corrupt data inside a zstd stream is an error that says where", "[core][jsonl][zstd]") {
  test::temp_dir dir;
  auto lines = sample_lines(2000);
  write_log(dir.file("z.zst"), lines, 100);
  auto z = slurp(dir.file("z.zst"));
  auto bad = z;
  for (std::size_t i = z.size() / 2; i < z.size() / 2 + 64; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5A);
  spit(dir.file("bad.zst"), bad);
  core::line_reader r(dir.file("bad.zst"), 4096);
  auto got = read_all(r, 100000);
  CHECK_FALSE(r.error().empty());
  CHECK(r.error().find("zstd: ") == 0);
  CHECK(r.error().find("compressed bytes") != std::string::npos);
  CHECK(got.size() < expected(lines).size());
}

TEST_CASE("line reader: an empty .zst file and an empty zstd stream have no lines and no error", "[core][jsonl][zstd]") {
  test::temp_dir dir;
  spit(dir.file("empty.jsonl.zst"), "");
  core::line_reader e(dir.file("empty.jsonl.zst"));
  std::string_view line;
  REQUIRE(e.ok());
  CHECK_FALSE(e.next(line));
  CHECK(e.error().empty());
  write_log(dir.file("none.jsonl.zst"), {}, 0);
  CHECK(fs::file_size(dir.file("none.jsonl.zst")) > 0);  // a frame with no bytes in it
  core::line_reader n(dir.file("none.jsonl.zst"));
  CHECK(n.compressed());
  CHECK_FALSE(n.next(line));
  CHECK(n.error().empty());
  CHECK_FALSE(n.cut());
}

TEST_CASE("log_file: a plain file gets the bytes as written, appended or truncated", "[core][log]") {
  test::temp_dir dir;
  auto path = dir.file("p.jsonl");
  {
    core::log_file f;
    REQUIRE(f.open(path, core::log_file::mode::truncate));
    CHECK_FALSE(f.compressed());
    f.write("{\"a\":1}\n");
    CHECK(f.file_bytes() == 8);
  }
  {
    core::log_file f;
    REQUIRE(f.open(path, core::log_file::mode::append));
    CHECK(f.file_bytes() == 8);
    f.write("{\"a\":2}\n");
    f.flush();
    CHECK(slurp(path) == "{\"a\":1}\n{\"a\":2}\n");
  }
  core::log_file bad;
  CHECK_FALSE(bad.open(dir.file("no/such/dir/x.jsonl"), core::log_file::mode::truncate));
  CHECK_FALSE(bad.error().empty());
}
