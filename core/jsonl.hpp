// JSONL files: a line reader that knows file:line and a torn last line, and small JSON accessors.
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::core {

// Reads a file line by line. `torn()` is true after the last line when it had no '\n'
// (a writer died mid-line). Memory: one line at a time.
class line_reader {
 public:
  explicit line_reader(std::string path);
  bool ok() const { return open_; }
  // Next non-empty line into `line`; false at the end.
  bool next(std::string& line);
  std::uint64_t line_no() const { return line_no_; }
  bool torn() const { return torn_; }
  std::string where() const { return path_ + ":" + std::to_string(line_no_); }
  std::string const& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  bool open_ = false;
  bool torn_ = false;
  std::uint64_t line_no_ = 0;
};

// Parses one JSON value; on error, `err` says what is wrong (no exception).
std::optional<boost::json::value> parse_json(std::string_view text, std::string& err);
// As parse_json, but also accepts Python's non-JSON tokens NaN, Infinity and -Infinity
// (as written by json.dumps for non-finite floats); they become a double NaN / ±inf.
std::optional<boost::json::value> parse_json_lenient(std::string_view text, std::string& err);

// Accessors that return nothing instead of throwing.
boost::json::value const* find(boost::json::value const& v, std::string_view key);
boost::json::value const* find_path(boost::json::value const& v, std::string_view dotted);  // "a.b.c"
std::optional<std::string_view> get_string(boost::json::value const& v, std::string_view key);
std::optional<double> get_number(boost::json::value const& v, std::string_view key);  // int or double
std::optional<std::int64_t> get_int(boost::json::value const& v, std::string_view key);
std::optional<bool> get_bool(boost::json::value const& v, std::string_view key);
std::optional<double> as_number(boost::json::value const& v);

// Serialises a JSON value on one line (no trailing newline).
std::string to_line(boost::json::value const& v);

// Appends `s` as a JSON string literal, escaped; bytes that are not UTF-8 become U+FFFD, so that
// whatever a peer sent, the line stays JSON that any parser reads.
void append_json_string(std::string& out, std::string_view s);

}  // namespace stormgate::core
