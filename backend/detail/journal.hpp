// The event journal: JSONL in BRAiN's envelope, one event per line, appended by a single writer thread
// (group commit) so that the io thread never waits for write() or fsync.
#pragma once
#include "backend/backend.hpp"
#include "core/error.hpp"

#include <boost/json/object.hpp>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stormgate::backend::detail {

using event_fn = std::function<void(std::uint64_t seq, boost::json::object&& event)>;
using warn_fn = std::function<void(std::string const& message)>;

struct scan_report {
  std::uint64_t lines = 0;      // sequence number of the last line read (1-based line numbers)
  std::uint64_t events = 0;     // lines that were events
  std::uint64_t bad_lines = 0;  // unparsable lines, reported and skipped
  std::uint64_t bytes = 0;      // bytes read
  bool torn = false;            // the last line had no '\n' and did not parse
  std::uint64_t torn_offset = 0;
  std::uint64_t torn_bytes = 0;
  bool unterminated = false;    // the last line had no '\n' but is a whole event
};

// Reads events from the file's start up to `max_lines` lines; missing file = empty journal.
core::result<scan_report> scan_journal(std::string const& path, event_fn const& on_event, warn_fn const& warn,
                                       std::uint64_t max_lines = UINT64_MAX);

class journal {
 public:
  using post_fn = std::function<void(std::function<void()>)>;  // runs a callback on the io thread
  static constexpr std::uint64_t index_every = 1024;             // a byte offset kept every N lines

  // Opens the journal (creating its folder and file), cuts off a torn last line (reported through
  // `warn`), feeds every event to `on_event`, then starts the writer thread.
  static core::result<std::unique_ptr<journal>> open(std::string path, fsync_policy policy, post_fn post,
                                                     event_fn const& on_event, warn_fn const& warn);
  ~journal();

  // io thread: queues whole lines (each without '\n'); their sequence numbers follow last_seq().
  // `done(ok)` is posted once they are written, and with fsync=always once they are durable.
  // An empty list is a barrier: done once everything queued before it is written.
  void submit(std::vector<std::string> lines, std::function<void(bool ok)> done);
  std::uint64_t last_seq() const { return next_seq_ - 1; }  // io thread
  std::uint64_t written_seq() const { return written_seq_.load(); }
  std::uint64_t file_bytes() const { return written_bytes_.load(); }
  std::string const& path() const { return path_; }
  fsync_policy policy() const { return policy_; }
  scan_report const& open_report() const { return open_report_; }

  // Lines with sequence number > after, at most `limit`, only lines already written.
  std::vector<std::string> read_lines(std::uint64_t after, std::uint64_t limit) const;
  // Re-reads every written event (for replay).
  core::result<scan_report> rescan(event_fn const& on_event, warn_fn const& warn) const;

  // Writes what is queued, fsyncs, stops the writer thread. Idempotent.
  void close();

 private:
  struct batch {
    std::uint64_t first_seq = 0;
    std::vector<std::string> lines;
    std::function<void(bool)> done;
  };
  journal() = default;
  void run_writer();

  std::string path_;
  fsync_policy policy_ = fsync_policy::always;
  post_fn post_;
  int fd_ = -1;
  scan_report open_report_;
  std::uint64_t next_seq_ = 1;  // io thread

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<batch> queue_;
  bool stop_ = false;
  std::vector<std::uint64_t> index_;  // byte offset of line 1 + k*index_every
  std::atomic<std::uint64_t> written_seq_{0};
  std::atomic<std::uint64_t> written_bytes_{0};
  std::thread writer_;
};

}  // namespace stormgate::backend::detail
