// The history file (SPEC §3): whole JSONL lines, buffered on the io thread, written in large
// chunks (compressed there when the path ends in ".zst"), flushed by the driver once a second, at
// the end and on SIGINT. Only the io thread calls it.
#pragma once
#include "core/error.hpp"
#include "core/json_writer.hpp"
#include "core/log_file.hpp"

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::load {

// core::rfc3339_us of now, the date and time part formatted once per second (the history's hot path).
std::string const& history_ts();

// One op's invocation or completion (docs/formats.md): the hot path of a throughput run. Written
// from its rows in core/record_fields.hpp (STORMGATE_HISTORY_OP_FIELDS), each named by `src` here.
struct op_line {
  static constexpr int v = 1;
  std::string_view type, op, scenario, f;
  int process = 0;
  std::string_view ts;
  std::optional<int> status;               // the answer's; none without one
  std::optional<std::int64_t> latency_us;  // a completion's
  core::raw_json value;
  std::optional<std::string_view> error, cause;
  std::optional<int> attempt;    // the second and later attempts of an op
  std::optional<bool> replayed;  // true: the answer carried Idempotent-Replayed: true
};

// Appends the op as one JSON object (no newline).
void format_op(std::string& out, op_line const& rec);

class history_writer {
 public:
  static core::result<history_writer*> open(std::string const& path);  // caller owns the pointer
  ~history_writer();
  history_writer(history_writer const&) = delete;
  history_writer& operator=(history_writer const&) = delete;

  // Appends one record (its `v` is set here) as one line.
  void write(boost::json::object const& record);
  // Appends one op as one line.
  void write(op_line const& op);
  // Writes what is buffered to the file (a zstd stream: ends the block, so the file holds it all).
  void flush();
  std::uint64_t records() const { return records_; }
  std::string const& path() const { return path_; }

 private:
  history_writer() = default;
  core::log_file file_;
  std::string path_;
  std::string buf_;  // the record being built
  std::uint64_t records_ = 0;
};

}  // namespace stormgate::load
