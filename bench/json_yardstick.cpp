// A yardstick for `stormgate check`: reads a JSONL file as the checker does (128 KB reads, lines
// split at '\n') and validates every line with Boost.JSON's streaming parser and a handler that
// keeps nothing. No field is stored and no gate runs. Measured in the same run as the checker, it
// tells how fast this machine is at that moment; it was the bound of a checker that reads every
// line with Boost.JSON, which the checker no longer does (checks/line_shapes.cpp). Exits 1 when a
// line is not valid JSON.
//   json_yardstick FILE.jsonl
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/src.hpp>

#include "core/jsonl.hpp"  // json_accept_all, the handler the proxy validates bodies with

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace json = boost::json;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: json_yardstick FILE.jsonl\n");
    return 64;
  }
  int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[1]);
    return 66;
  }
  std::vector<char> buf(128 << 10);
  std::size_t have = 0;
  std::uint64_t lines = 0;
  json::basic_parser<stormgate::core::json_accept_all> parser(json::parse_options{});
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    auto n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    while (auto nl = static_cast<char const*>(std::memchr(buf.data() + pos, '\n', have - pos))) {
      auto len = static_cast<std::size_t>(nl - (buf.data() + pos));
      json::error_code ec;
      parser.reset();
      auto used = parser.write_some(false, buf.data() + pos, len, ec);
      if (ec || used != len) {
        std::fprintf(stderr, "%s:%llu: not valid JSON\n", argv[1], static_cast<unsigned long long>(lines + 1));
        return 1;
      }
      ++lines;
      pos += len + 1;
    }
    std::memmove(buf.data(), buf.data() + pos, have - pos);
    have -= pos;
  }
  std::printf("%llu lines\n", static_cast<unsigned long long>(lines));
  return 0;
}
