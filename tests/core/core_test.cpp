#include "core/hash.hpp"
#include "core/jsonl.hpp"
#include "core/subprocess.hpp"
#include "core/time.hpp"
#include "net/net.hpp"
#include "tests/support/process.hpp"
#include "tests/support/records.hpp"

#include "tests/support/catch.hpp"

#include <cmath>
#include <fstream>
#include <future>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

using namespace stormgate;

TEST_CASE("rfc3339 round trip with microseconds", "[core][time]") {
  auto t = core::sys_us(std::chrono::microseconds(1795479784418024));
  auto s = core::rfc3339_us(t);
  CHECK(s == "2026-11-24T00:23:04.418024Z");
  CHECK(core::parse_rfc3339_us(s) == 1795479784418024);
  CHECK(core::parse_rfc3339_us("2026-11-24T00:23:04.418024+00:00") == 1795479784418024);
  CHECK(core::parse_rfc3339_us("2026-11-24T01:23:04.418024+01:00") == 1795479784418024);
  CHECK(core::parse_rfc3339_us("2026-11-24T00:23:04Z") == 1795479784000000);
  CHECK_FALSE(core::parse_rfc3339_us("2026-11-24 garbage"));
  CHECK_FALSE(core::parse_rfc3339_us("2026-13-24T00:23:04Z"));
}

TEST_CASE("rfc3339 formatting agrees with the parser over leap days, centuries and pre-1970 times", "[core][time]") {
  CHECK(core::rfc3339_us(core::sys_us(std::chrono::microseconds(0))) == "1970-01-01T00:00:00.000000Z");
  CHECK(core::rfc3339_us(core::sys_us(std::chrono::microseconds(-1))) == "1969-12-31T23:59:59.999999Z");
  CHECK(core::rfc3339_us(core::sys_us(std::chrono::microseconds(951782400000000))) == "2000-02-29T00:00:00.000000Z");
  CHECK(core::rfc3339_us(core::sys_us(std::chrono::microseconds(4107542399999999))) == "2100-02-28T23:59:59.999999Z");
  std::string appended = "x";
  core::append_rfc3339_us(appended, core::sys_us(std::chrono::microseconds(1795479784418024)));
  CHECK(appended == "x2026-11-24T00:23:04.418024Z");
  std::uint64_t x = 88172645463325252ull;  // xorshift: times from 1901 to 2104, bounded count
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    auto us = static_cast<std::int64_t>(x % 6'400'000'000'000'000ull) - 2'150'000'000'000'000;
    auto s = core::rfc3339_us(core::sys_us(std::chrono::microseconds(us)));
    REQUIRE(core::parse_rfc3339_us(s) == us);
  }
}

TEST_CASE("fault decisions depend only on seed, name and key", "[core][hash]") {
  CHECK(core::hash64(42, {"a", "b"}) == core::hash64(42, {"a", "b"}));
  CHECK(core::hash64(42, {"a", "b"}) != core::hash64(43, {"a", "b"}));
  CHECK(core::hash64(42, {"ab", ""}) != core::hash64(42, {"a", "b"}));  // parts are length-prefixed
  int hit = 0;
  for (int i = 0; i < 10000; ++i) hit += core::hits(7, "drop", "op-" + std::to_string(i), 0.1);
  CHECK(hit > 850);
  CHECK(hit < 1150);
  CHECK(core::hits(7, "x", "k", 1.0));
  CHECK_FALSE(core::hits(7, "x", "k", 0.0));
  core::rng a(5), b(5);
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
}

TEST_CASE("lenient JSON accepts Python's NaN and Infinity outside strings only", "[core][json]") {
  std::string err;
  auto v = core::parse_json_lenient(R"({"a":NaN,"b":-Infinity,"c":Infinity,"s":"NaN Infinity"})", err);
  REQUIRE(v);
  CHECK(std::isnan(core::get_number(*v, "a").value()));
  CHECK(core::get_number(*v, "b").value() == -INFINITY);
  CHECK(core::get_number(*v, "c").value() == INFINITY);
  CHECK(core::get_string(*v, "s").value() == "NaN Infinity");
  CHECK_FALSE(core::parse_json(R"({"a":NaN})", err));
  CHECK_FALSE(err.empty());
}

TEST_CASE("is_json: one JSON value, whitespace around it allowed", "[core][jsonl]") {
  CHECK(core::is_json(R"({"a":[1,2.5,"x",null,true]})"));
  CHECK(core::is_json(" \r\n[0.0]\t\n"));
  CHECK_FALSE(core::is_json(R"({"a":1)"));   // torn
  CHECK_FALSE(core::is_json(R"({"a":1} x)"));  // more after the value
  CHECK_FALSE(core::is_json("{\"a\":NaN}"));
  CHECK_FALSE(core::is_json("\"\xff\""));  // not UTF-8
  CHECK_FALSE(core::is_json(""));
}

TEST_CASE("line reader counts lines and notices a torn last line", "[core][jsonl]") {
  test::temp_dir dir;
  auto path = dir.file("x.jsonl");
  {
    std::ofstream(path) << "{\"a\":1}\n\n{\"a\":2}\n{\"a\":";
  }
  core::line_reader r(path);
  REQUIRE(r.ok());
  std::string_view line;
  REQUIRE(r.next(line));
  CHECK(r.line_no() == 1);
  REQUIRE(r.next(line));
  CHECK(r.line_no() == 3);
  CHECK_FALSE(r.torn());
  REQUIRE(r.next(line));
  CHECK(line == "{\"a\":");
  CHECK(r.torn());
  CHECK(r.where() == path + ":4");
  CHECK_FALSE(r.next(line));
}

TEST_CASE("line reader: a line stays valid while the next one is read", "[core][jsonl]") {
  test::temp_dir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) lines.push_back(std::string(static_cast<std::size_t>(1000 + i * 997), static_cast<char>('a' + i % 26)));
  test::write_lines(dir.file("l.jsonl"), lines);
  core::line_reader src(dir.file("l.jsonl"));
  REQUIRE(src.ok());
  std::string_view prev, line;
  std::size_t n = 0;
  while (n < lines.size() + 1 && src.next(line)) {
    REQUIRE(line == lines[n]);
    if (n > 0) CHECK(prev == lines[n - 1]);  // the buffer was refilled meanwhile, now and then
    prev = line;
    ++n;
  }
  CHECK(n == lines.size());
}

// Reads every line of `r`, checking that the line before is still what it was.
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

TEST_CASE("line reader: a mapped file reads as the same lines across windows, long lines and a torn end", "[core][jsonl]") {
  test::temp_dir dir;
  std::vector<std::string> lines;
  std::string expect_last;
  // short lines, lines longer than a window (one 4 KB page), blank lines and a '\r' now and then
  for (int i = 0; i < 300; ++i) {
    auto len = static_cast<std::size_t>(i % 50 == 7 ? 9000 + i * 13 : 1 + (i * 37) % 700);
    lines.push_back(std::string(len, static_cast<char>('a' + i % 26)) + (i % 9 == 0 ? "\r" : ""));
    if (i % 31 == 0) lines.push_back("  ");
  }
  lines.push_back("{\"torn\":");
  test::write_lines(dir.file("m.jsonl"), lines, false);
  std::vector<std::string> want;
  for (auto l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.find_first_not_of(" \t") != std::string::npos) want.push_back(l);
  }
  core::line_reader small(dir.file("m.jsonl"), 4096);
  REQUIRE(small.ok());
  CHECK(small.mapped());
  auto got = read_all(small, 1000);
  CHECK(got == want);
  CHECK(small.torn());
  CHECK(small.line_no() == lines.size());
  // the same through the default window
  core::line_reader whole(dir.file("m.jsonl"));
  CHECK(read_all(whole, 1000) == want);
}

TEST_CASE("line reader: the line before stays valid across more blank lines than a window or buffer holds", "[core][jsonl]") {
  test::temp_dir dir;
  // a line, blank lines to fill several 4 KB windows or 128 KB buffers, and another line
  std::string const first(100000, 'a'), second(200000, 'b');
  auto text = first + "\n" + std::string(600000, '\n') + second + "\n";
  {
    std::ofstream(dir.file("blank.jsonl"), std::ios::binary) << text;
  }
  auto check = [&](core::line_reader& r) {
    std::string_view one, two;
    REQUIRE(r.next(one));
    REQUIRE(one == first);
    REQUIRE(r.next(two));
    CHECK(two == second);
    CHECK(one == first);  // still there: the reader may keep one line ahead
    CHECK(r.line_no() == 600002);
    std::string_view none;
    CHECK_FALSE(r.next(none));
    CHECK(two == second);
  };
  core::line_reader mapped(dir.file("blank.jsonl"), 4096);
  REQUIRE(mapped.mapped());
  check(mapped);
  auto fifo = dir.file("blank.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto writer = std::async(std::launch::async, [&] { std::ofstream(fifo, std::ios::binary) << text; });
  core::line_reader piped(fifo);
  REQUIRE_FALSE(piped.mapped());
  check(piped);
  writer.get();
}

TEST_CASE("line reader: what is not a regular file with bytes is read, not mapped", "[core][jsonl]") {
  test::temp_dir dir;
  test::write_lines(dir.file("empty.jsonl"), {}, false);
  core::line_reader empty(dir.file("empty.jsonl"));
  REQUIRE(empty.ok());
  CHECK_FALSE(empty.mapped());
  std::string_view line;
  CHECK_FALSE(empty.next(line));
  auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto writer = std::async(std::launch::async, [&] {
    std::ofstream(fifo) << "{\"a\":1}\n{\"a\":2}\n";
  });
  core::line_reader pipe(fifo);
  REQUIRE(pipe.ok());
  CHECK_FALSE(pipe.mapped());
  auto got = read_all(pipe, 10);
  writer.get();
  CHECK(got == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"});
}

TEST_CASE("line reader: a mapped file that grows while it is read is read to its new end", "[core][jsonl]") {
  test::temp_dir dir;
  auto path = dir.file("g.jsonl");
  test::write_lines(path, {std::string(5000, 'x'), "{\"a\":1}"});
  core::line_reader r(path, 4096);
  std::string_view line;
  REQUIRE(r.next(line));
  CHECK(line.size() == 5000);
  {
    std::ofstream(path, std::ios::app) << "{\"a\":2}\n" << std::string(10000, 'y') << "\n";
  }
  REQUIRE(r.next(line));
  CHECK(line == "{\"a\":1}");
  REQUIRE(r.next(line));
  CHECK(line == "{\"a\":2}");
  REQUIRE(r.next(line));
  CHECK(line == std::string(10000, 'y'));
  CHECK_FALSE(r.next(line));
  CHECK(r.line_no() == 4);
}

TEST_CASE("line reader: a SIGBUS that is not a mapped input's keeps its default action", "[core][jsonl]") {
  test::temp_dir dir;
  auto input = dir.file("in.jsonl"), other = dir.file("other.bin");
  test::write_lines(input, {"{\"a\":1}", "{\"a\":2}"});
  test::write_lines(other, {std::string(8192, 'o')});
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // the death below leaves no core file
    core::line_reader r(input);  // maps its window: the handler is in place
    std::string_view line;
    if (!r.next(line)) ::_exit(3);
    // a mapping of another file, cut short, then read past its new end
    int fd = ::open(other.c_str(), O_RDWR);
    auto* m = static_cast<char volatile*>(::mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0));
    if (m == MAP_FAILED || ::ftruncate(fd, 0) != 0) ::_exit(4);
    char c = m[4096];
    (void)c;
    ::_exit(5);  // not reached
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGBUS);
}

TEST_CASE("line reader: where a file cannot be mapped, it is read", "[core][jsonl]") {
  test::temp_dir dir;
  auto path = dir.file("nomap.jsonl");
  std::vector<std::string> lines;
  // 3 MB: more than the child has room for
  for (int i = 0; i < 10000; ++i) lines.push_back("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(static_cast<std::size_t>(i % 600), 'p') + "\"}");
  test::write_lines(path, lines);
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // in a child: an address space with room for a read buffer but not for a 4 MB window
    std::ifstream statm("/proc/self/statm");
    unsigned long pages = 0;
    statm >> pages;
    auto limit = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (3u << 20) / 2;
    rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(3);
    core::line_reader r(path);
    if (!r.mapped()) ::_exit(4);  // mapped until the window is asked for
    std::string_view line;
    std::size_t n = 0;
    while (n < lines.size() + 1 && r.next(line)) {
      if (line != lines[n]) ::_exit(5);
      ++n;
    }
    if (n != lines.size()) ::_exit(6);
    ::_exit(r.mapped() ? 7 : 0);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("line reader: a mapped file cut short while it is read ends the process as bad input, naming it", "[core][jsonl]") {
  test::temp_dir dir;
  auto path = dir.file("cut.jsonl");
  std::vector<std::string> lines(64, std::string(1000, 'z'));
  test::write_lines(path, lines);
  int err[2];
  REQUIRE(::pipe(err) == 0);
  auto pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(err[1], 2);
    core::line_reader r(path, 64 << 10);
    std::string_view line;
    if (!r.next(line)) ::_exit(3);
    if (::truncate(path.c_str(), 0) != 0) ::_exit(4);
    while (r.next(line)) {
    }
    ::_exit(5);  // not reached: the pages past the new end fault
  }
  ::close(err[1]);
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 65);
  CHECK(text == "stormgate: " + path + ": the file was cut short while it was read\n");
}

TEST_CASE("listen addresses and URLs are parsed or refused with the field named", "[core][net]") {
  auto ep = net::parse_listen("127.0.0.1:0", "--listen");
  REQUIRE(ep);
  CHECK(ep->port() == 0);
  auto bad = net::parse_listen("127.0.0.1:99999", "--listen");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().where == "--listen");
  auto u = net::parse_url("http://localhost:8474/base", "--admin-url");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "8474");
  CHECK(net::join_target(*u, "/faults") == "/base/faults");
  CHECK_FALSE(net::parse_url("https://x:1/", "--base-url"));
}

TEST_CASE("child processes announce their listeners and are stopped within bounds", "[core][subprocess]") {
  core::child_process sh("/bin/sh", {"-c", "echo listening x http://127.0.0.1:1234; echo oops >&2; exit 3"});
  auto url = sh.listening("x", std::chrono::seconds(5));
  REQUIRE(url);
  CHECK(*url == "http://127.0.0.1:1234");
  CHECK(sh.wait_exit(std::chrono::seconds(5)) == 3);
  CHECK(sh.stderr_text() == "oops\n");
  core::child_process sleeper("/bin/sh", {"-c", "trap '' TERM; echo ready; sleep 30"});
  REQUIRE(sleeper.wait_line("ready", std::chrono::seconds(5)));
  auto t0 = std::chrono::steady_clock::now();
  int code = sleeper.stop(std::chrono::milliseconds(200));
  CHECK(code == 128 + 9);  // ignored SIGTERM, so SIGKILL
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(4));
  CHECK_FALSE(sleeper.listening("x", std::chrono::milliseconds(50)));
}

TEST_CASE("append_json_string: escapes, keeps UTF-8, replaces bytes that are not UTF-8", "[core][json]") {
  auto lit = [](std::string_view s) {
    std::string out;
    core::append_json_string(out, s);
    return out;
  };
  CHECK(lit("plain") == "\"plain\"");
  CHECK(lit("a\"b\\c\nd\te\r") == R"("a\"b\\c\nd\te\r")");
  CHECK(lit(std::string_view("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(lit("Gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80") == "\"Gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  CHECK(lit("a\xFF" "b") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(lit("\xC3") == "\"\xEF\xBF\xBD\"");              // cut short
  CHECK(lit("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  CHECK(lit("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string err;
  auto back = core::parse_json(lit(all), err);
  REQUIRE(back);
  CHECK(back->as_string().subview(0, 128) == all.substr(0, 128));
}
