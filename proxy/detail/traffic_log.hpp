// The traffic log: sessions push finished records, each one line already formatted, into a bounded
// queue; one writer thread writes whole lines (and compresses them, for a ".zst" path), rotates by
// size and flushes: a plain file after every batch, a zstd stream once a second, and at stop.
// Policy for a full queue: the record is dropped and counted (`dropped` in /metrics, /stats and
// the stop record), and the first drop is reported on stderr — never silently, never blocking.
#pragma once
#include "core/log_file.hpp"

#include <boost/json/object.hpp>
#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stormgate::proxy::detail {

class traffic_log {
 public:
  traffic_log(std::string path, std::uint64_t rotate_bytes, std::size_t capacity);
  ~traffic_log();
  bool open(std::string& err);   // opens (appends) and starts the writer; false with err on failure
  bool enabled() const { return !path_.empty(); }
  // One record, no newline; never blocks for I/O. Takes the line and leaves in `line` an empty
  // buffer (one the writer is done with, when there is one) for the caller's next record.
  void push(std::string& line);
  void push(boost::json::object const& record);
  void stop();                   // writes everything queued, flushes, closes; idempotent

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t queued();

 private:
  void run();
  void write_line(std::string const& line);
  void rotate();
  void flush_file();

  std::string path_;
  std::uint64_t rotate_bytes_;
  std::size_t capacity_;
  core::log_file file_;
  std::chrono::steady_clock::time_point flushed_{};
  bool write_error_told_ = false;
  int next_index_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> queue_;
  std::vector<std::string> spare_;  // written lines' buffers, for reuse
  static constexpr std::size_t spare_limit = 4096;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread writer_;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace stormgate::proxy::detail
