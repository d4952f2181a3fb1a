// The traffic log's writer: one thread, whole lines, rotation by size (traffic.jsonl is the
// newest; rotated files are traffic.1.jsonl, traffic.2.jsonl, … oldest first).
#include "proxy/detail/traffic_log.hpp"

#include <boost/json/serialize.hpp>
#include <filesystem>

namespace stormgate::proxy::detail {

namespace json = boost::json;
namespace fs = std::filesystem;

traffic_log::traffic_log(std::string path, std::uint64_t rotate_bytes, std::size_t capacity)
    : path_(std::move(path)), rotate_bytes_(rotate_bytes), capacity_(capacity) {}

traffic_log::~traffic_log() { stop(); }

namespace {
std::pair<std::string, std::string> split_ext(std::string const& path) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return {path, ""};
  return {path.substr(0, dot), path.substr(dot)};
}
}  // namespace

bool traffic_log::open(std::string& err) {
  if (path_.empty()) return true;
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) {
    err = "cannot open traffic log for appending";
    return false;
  }
  std::error_code ec;
  file_bytes_ = fs::file_size(path_, ec);
  auto [stem, ext] = split_ext(path_);
  while (fs::exists(stem + "." + std::to_string(next_index_) + ext)) ++next_index_;
  writer_ = std::thread([this] { run(); });
  return true;
}

void traffic_log::push(json::object const& record) {
  if (path_.empty()) return;  // no log: nothing to serialise
  auto line = json::serialize(record);
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
  if (file_) {
    std::fflush(file_);
    std::fclose(file_);
    file_ = nullptr;
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
    std::fflush(file_);
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

void traffic_log::write_line(std::string const& line) {
  if (rotate_bytes_ > 0 && file_bytes_ > 0 && file_bytes_ + line.size() + 1 > rotate_bytes_) rotate();
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fputc('\n', file_);
  file_bytes_ += line.size() + 1;
}

void traffic_log::rotate() {
  std::fflush(file_);
  std::fclose(file_);
  auto [stem, ext] = split_ext(path_);
  std::error_code ec;
  fs::rename(path_, stem + "." + std::to_string(next_index_++) + ext, ec);
  file_ = std::fopen(path_.c_str(), "ab");
  file_bytes_ = 0;
}

}  // namespace stormgate::proxy::detail
