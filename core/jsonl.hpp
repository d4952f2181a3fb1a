// JSONL files: a line reader that knows file:line and a torn last line, and small JSON accessors.
#pragma once
#include "core/json_writer.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::core {

// Reads a file line by line, without a copy per line: file:line, a torn last line (a writer died
// mid-line), blank lines skipped, a trailing '\r' dropped. A line stays valid until the one after
// the next is read, so that a reader may keep one line ahead. A regular file is mapped a window at
// a time (no copy from the page cache); anything else (a pipe, an empty file, /proc) is read into a
// buffer. A file that grows while it is read is read to its new end.
// A zstd file (it starts with the zstd magic bytes 28 B5 2F FD, whatever its name) is decompressed
// into the buffer as it is read, with the same lines. Its stream may end mid-frame (a writer killed
// before it closed the file: cut()), the lines up to its last whole block are read; a line it cuts is
// torn. Corrupt data stops the reading: next() returns false and error() says what and where.
class line_reader {
 public:
  // `window`: the bytes mapped at a time, rounded up to pages (tests make it small)
  explicit line_reader(std::string path, std::size_t window = 4 << 20);
  ~line_reader();
  line_reader(line_reader const&) = delete;
  line_reader& operator=(line_reader const&) = delete;
  bool ok() const { return fd_ >= 0; }
  bool next(std::string_view& line);  // the next non-blank line; false at the end
  std::uint64_t line_no() const { return line_no_; }
  bool torn() const { return torn_; }  // the line just returned had no '\n' and ended the file
  std::string where() const { return path_ + ":" + std::to_string(line_no_); }
  std::string const& path() const { return path_; }
  bool mapped() const { return mapped_; }
  bool compressed() const { return dctx_ != nullptr; }
  // The file ends inside a zstd frame: what its writer had not flushed is lost (known at the end).
  bool cut() const { return cut_; }
  // Why the reading stopped before the end of the file ("" when it did not).
  std::string const& error() const { return error_; }
  // Whether addr lies in a window this reader has mapped (async-signal-safe: for its SIGBUS handler).
  bool maps(void const* addr) const;

 private:
  struct mapping {
    char* data = nullptr;
    std::size_t size = 0;
  };
  std::string path_;
  int fd_ = -1;
  // mapped: the window holds file bytes from map_off_ on; the window before stays mapped until the
  // next is, for the line just returned
  bool mapped_ = false;
  mapping map_, prev_;
  std::uint64_t map_off_ = 0;
  std::size_t window_ = 0;
  // read: a refill moves the unread rest to the spare buffer, so that the line before stays
  std::vector<char> buf_, spare_;
  std::size_t begin_ = 0, end_ = 0;  // the unread bytes, in the window or the buffer
  // a line was returned from the window or the buffer since it took the unread bytes (blank lines
  // are not returned): else the line just returned is elsewhere, and this one may be reused
  bool returned_ = false;
  bool eof_ = false, torn_ = false;
  std::uint64_t line_no_ = 0;
  // zstd: the compressed bytes read and not yet decompressed
  void* dctx_ = nullptr;  // ZSTD_DCtx
  std::vector<char> zin_;
  std::size_t zin_pos_ = 0, zin_end_ = 0;
  std::uint64_t zin_off_ = 0;  // the file offset of zin_[0]
  bool sniffed_ = false, frame_open_ = false, cut_ = false;
  std::string error_;
  bool start_zstd();
  bool inflate();
  bool read_more();
  char const* data() const { return mapped_ ? map_.data : buf_.data(); }
  bool fill();
  bool remap();
  void to_buffer();
  void retire_window();
};

// A handler for Boost.JSON's streaming parser (basic_parser) that keeps nothing: the parser then
// only validates.
struct json_accept_all {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using sv = boost::json::string_view;
  using ec = boost::json::error_code;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_key_part(sv, std::size_t, ec&) { return true; }
  bool on_key(sv, std::size_t, ec&) { return true; }
  bool on_string_part(sv, std::size_t, ec&) { return true; }
  bool on_string(sv, std::size_t, ec&) { return true; }
  bool on_number_part(sv, ec&) { return true; }
  bool on_int64(std::int64_t, sv, ec&) { return true; }
  bool on_uint64(std::uint64_t, sv, ec&) { return true; }
  bool on_double(double, sv, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(sv, ec&) { return true; }
  bool on_comment(sv, ec&) { return true; }
};
// Whether `text` is one JSON value (whitespace around it allowed), without building it.
bool is_json(std::string_view text);

// Parses one JSON value, at most `max_depth` deep (Boost.JSON's default); on error, `err` says what
// is wrong (no exception).
std::optional<boost::json::value> parse_json(std::string_view text, std::string& err, std::size_t max_depth = 32);
// As parse_json, but also accepts Python's non-JSON tokens NaN, Infinity and -Infinity
// (as written by json.dumps for non-finite floats); they become a double NaN / ±inf.
std::optional<boost::json::value> parse_json_lenient(std::string_view text, std::string& err, std::size_t max_depth = 32);
// How deep a log line may nest, for the checker: a record holds bodies that Boost.JSON's default
// limit accepted at the record's third or fourth level, and faults that append_json writes up to
// 256 deep (deeper is written null).
inline constexpr std::size_t log_max_depth = 320;

// Accessors that return nothing instead of throwing.
boost::json::value const* find(boost::json::value const& v, std::string_view key);
boost::json::value const* find_path(boost::json::value const& v, std::string_view dotted);  // "a.b.c"
std::optional<std::string_view> get_string(boost::json::value const& v, std::string_view key);
std::optional<double> get_number(boost::json::value const& v, std::string_view key);  // int or double
std::optional<std::int64_t> get_int(boost::json::value const& v, std::string_view key);
std::optional<bool> get_bool(boost::json::value const& v, std::string_view key);
std::optional<double> as_number(boost::json::value const& v);

// Serialises a JSON value on one line (no trailing newline), as append_json writes it.
std::string to_line(boost::json::value const& v);

// Appends `v` as compact JSON: the one writer of every log line. Numbers: integers as they are;
// a double that is an integer within ±2^53 as that integer (1800, not 1.8E3); any other double in
// the fewest digits that read back to the same double (std::to_chars), in fixed notation when its
// decimal exponent is in [-6, 20] (1.18, 0.0001; as JavaScript does), else as 1.5e300 / 5e-324; -0.0 as -0.0; NaN and
// infinities, which JSON cannot hold, as null. Strings as append_json_string writes them.
void append_json(std::string& out, boost::json::value const& v);
void append_json(std::string& out, boost::json::object const& o);
void append_json(std::string& out, boost::json::array const& a);
void append_json_number(std::string& out, double d);
std::string to_json(boost::json::object const& o);

}  // namespace stormgate::core
