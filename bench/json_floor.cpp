// The floor under `stormgate check`: reads a JSONL file as the checker does (128 KB reads, lines
// split at '\n') and validates every line with Boost.JSON's streaming parser and a handler that
// keeps nothing. No field is stored and no gate runs, so its records/s per core bound what the
// checker can reach with this parser. Exits 1 when a line is not valid JSON.
//   json_floor FILE.jsonl
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/src.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace json = boost::json;

namespace {

struct keeps_nothing {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: json_floor FILE.jsonl\n");
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
  json::basic_parser<keeps_nothing> parser(json::parse_options{});
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
