// The traffic log's writer: one thread, whole lines, rotation by size (traffic.jsonl is the
// newest; rotated files are traffic.1.jsonl, traffic.2.jsonl, … oldest first; traffic.1.jsonl.zst,
// … for a zstd log).
#include "proxy/detail/traffic_log.hpp"

#include "core/jsonl.hpp"

#include <filesystem>

namespace stormgate::proxy::detail {

namespace json = boost::json;
namespace fs = std::filesystem;

traffic_log::traffic_log(std::string path, std::uint64_t rotate_bytes, std::size_t capacity)
    : path_(std::move(path)), rotate_bytes_(rotate_bytes), capacity_(capacity) {}

traffic_log::~traffic_log() { stop(); }

bool traffic_log::open(std::string& err) {
  if (path_.empty()) return true;
  for (int i = 0; i < 1000000 && fs::exists(core::rotated_path(path_, next_index_)); ++i) ++next_index_;
  // a zstd log whose last frame was never ended (a killed proxy): frames appended to it could not be
  // read, so it becomes the newest rotated file, read to its last whole block
  if (core::zst_path(path_) && !core::zst_whole_frames(path_)) {
    std::error_code ec;
    fs::rename(path_, core::rotated_path(path_, next_index_), ec);
    if (ec) {
      err = "traffic log ends inside a zstd frame and cannot be moved aside: " + ec.message();
      return false;
    }
    std::fprintf(stderr, "stormgate proxy: %s ends inside a zstd frame (its writer was stopped before it closed it): "
                         "moved to %s, a new log starts\n", path_.c_str(), core::rotated_path(path_, next_index_).c_str());
    ++next_index_;
  }
  if (!file_.open(path_, core::log_file::mode::append)) {
    err = "cannot open traffic log for appending: " + file_.error();
    return false;
  }
  flushed_ = std::chrono::steady_clock::now();
  writer_ = std::thread([this] { run(); });
  return true;
}

void traffic_log::push(json::object const& record) {
  if (path_.empty()) return;  // no log: nothing to serialise
  auto line = core::to_json(record);
  push(line);
}

void traffic_log::push(std::string& line) {
  if (path_.empty()) return;
  std::lock_guard lk(mu_);
  if (stopped_ || queue_.size() >= capacity_) {
    if (dropped_.fetch_add(1, std::memory_order_relaxed) == 0)
      std::fprintf(stderr, "stormgate proxy: traffic log queue full (%zu records): dropping records, counted as "
                           "'dropped' in /metrics and the stop record\n", capacity_);
    line.clear();
    return;
  }
  queue_.push_back(std::move(line));
  if (spare_.empty()) {
    line = std::string();
  } else {
    line = std::move(spare_.back());
    spare_.pop_back();
  }
  if (queue_.size() == capacity_ / 2) cv_.notify_one();
}

std::size_t traffic_log::queued() {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void traffic_log::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
  std::lock_guard lk(mu_);
  stopped_ = true;
  file_.close();
  if (!file_.error().empty() && !write_error_told_)
    std::fprintf(stderr, "stormgate proxy: traffic log %s: %s\n", path_.c_str(), file_.error().c_str());
}

// A plain file is flushed after every batch; a zstd stream once a second (each flush ends a block,
// and small blocks compress worse), so that a reader or a killed proxy loses at most about a second.
void traffic_log::flush_file() {
  auto t = std::chrono::steady_clock::now();
  if (file_.compressed() && t - flushed_ < std::chrono::seconds(1)) return;
  file_.flush();
  flushed_ = t;
  if (!file_.error().empty() && !write_error_told_) {
    write_error_told_ = true;
    std::fprintf(stderr, "stormgate proxy: traffic log %s: %s\n", path_.c_str(), file_.error().c_str());
  }
}

void traffic_log::run() {
  std::vector<std::string> batch;
  while (true) {
    bool stop = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(50), [this] { return !queue_.empty() || stopping_; });
      batch.swap(queue_);
      stop = stopping_ && batch.empty();
    }
    if (stop) break;
    for (auto const& line : batch) write_line(line);
    written_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (!batch.empty() || file_.compressed()) flush_file();
    {  // the written lines' buffers go back to the sessions, so that a record costs no allocation
      std::lock_guard lk(mu_);
      for (auto& line : batch) {
        if (spare_.size() >= spare_limit || line.capacity() > 64 * 1024) continue;
        line.clear();
        spare_.push_back(std::move(line));
      }
    }
    batch.clear();
  }
}

// A plain file rotates before the line that would take it past rotate_bytes; a zstd file, whose
// size is known only as its blocks are written, once it has reached rotate_bytes.
void traffic_log::write_line(std::string const& line) {
  auto size = file_.file_bytes();
  if (rotate_bytes_ > 0 && size > 0 &&
      (file_.compressed() ? size >= rotate_bytes_ : size + line.size() + 1 > rotate_bytes_))
    rotate();
  file_.write(line);
  file_.write("\n");
}

void traffic_log::rotate() {
  file_.close();
  std::error_code ec;
  fs::rename(path_, core::rotated_path(path_, next_index_++), ec);
  if (!file_.open(path_, core::log_file::mode::append) && !write_error_told_) {
    write_error_told_ = true;
    std::fprintf(stderr, "stormgate proxy: traffic log %s: cannot open after rotation: %s\n", path_.c_str(),
                 file_.error().c_str());
  }
  flushed_ = std::chrono::steady_clock::now();
}

}  // namespace stormgate::proxy::detail
