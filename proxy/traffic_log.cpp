// The traffic log's writer: one thread, whole lines, rotation by size (traffic.jsonl is the
// newest; rotated files are traffic.1.jsonl, traffic.2.jsonl, … oldest first).
#include "proxy/detail/traffic_log.hpp"
#include "proxy/detail/sha256.hpp"

#include <boost/json.hpp>
#include <filesystem>

namespace stormgate::proxy::detail {

namespace json = boost::json;
namespace fs = std::filesystem;

traffic_log::traffic_log(std::string path, std::uint64_t rotate_bytes, std::size_t body_limit, std::size_t capacity)
    : path_(std::move(path)), rotate_bytes_(rotate_bytes), body_limit_(body_limit), capacity_(capacity) {}

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

void traffic_log::push(log_record r) {
  if (path_.empty()) return;
  std::lock_guard lk(mu_);
  if (stopped_ || queue_.size() >= capacity_) {
    if (dropped_.fetch_add(1, std::memory_order_relaxed) == 0)
      std::fprintf(stderr, "stormgate proxy: traffic log queue full (%zu records): dropping records, counted as "
                           "'dropped' in /metrics and the stop record\n", capacity_);
    return;
  }
  queue_.push_back(std::move(r));
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
  std::vector<log_record> batch;
  std::string line;
  while (true) {
    bool stop = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(50), [this] { return !queue_.empty() || stopping_; });
      batch.swap(queue_);
      stop = stopping_ && batch.empty();
    }
    if (stop) break;
    for (auto const& r : batch) {
      line = serialise(r);
      line += '\n';
      write_line(line);
    }
    written_.fetch_add(batch.size(), std::memory_order_relaxed);
    batch.clear();
    std::fflush(file_);
  }
}

void traffic_log::write_line(std::string const& line) {
  if (rotate_bytes_ > 0 && file_bytes_ > 0 && file_bytes_ + line.size() > rotate_bytes_) rotate();
  std::fwrite(line.data(), 1, line.size(), file_);
  file_bytes_ += line.size();
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

namespace {

json::value body_value(std::string const& raw, std::size_t limit) {
  if (raw.size() <= limit) {
    auto first = raw.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      char c = raw[first];
      if (c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
        json::error_code ec;
        auto v = json::parse(raw, ec);
        if (!ec) return v;
      }
    }
  }
  return json::object{{"bytes", raw.size()}, {"sha256", sha256_hex(raw)}};
}

}  // namespace

std::string traffic_log::serialise(log_record const& r) const {
  if (auto const* o = std::get_if<json::object>(&r)) return json::serialize(*o);
  auto const& x = std::get<exchange_record>(r);
  json::object o;
  o.reserve(18);
  o["v"] = 1;
  o["kind"] = "exchange";
  o["id"] = x.id;
  o["route"] = x.route;
  o["conn"] = x.conn;
  o["ts"] = core::rfc3339_us(x.ts);
  o["ts_end"] = core::rfc3339_us(x.ts_end);
  o["method"] = x.method;
  o["target"] = x.target;
  json::object req;
  json::object headers;
  for (auto const& [k, v] : x.req_headers) headers[k] = v;
  req["headers"] = std::move(headers);
  if (x.req_body) req["body"] = body_value(*x.req_body, body_limit_);
  o["req"] = std::move(req);
  o["faults"] = x.faults;
  json::array ups;
  json::value first_body;
  for (auto const& a : x.upstream) {
    json::object u{{"n", a.n}, {"status", a.status}, {"latency_us", a.latency_us}};
    if (!a.error.empty()) u["error"] = a.error;
    if (a.body) {
      u["body"] = body_value(*a.body, body_limit_);
      if (a.n == 1) first_body = u["body"];
    }
    ups.push_back(std::move(u));
  }
  o["upstream"] = std::move(ups);
  if (x.has_resp) {
    json::object resp{{"status", x.resp_status}};
    if (!x.resp_content_type.empty() || !x.resp_replayed.empty()) {
      json::object h;
      if (!x.resp_replayed.empty()) h["idempotent-replayed"] = x.resp_replayed;
      if (!x.resp_content_type.empty()) h["content-type"] = x.resp_content_type;
      resp["headers"] = std::move(h);
    }
    if (x.resp_is_upstream) {
      if (!first_body.is_null()) resp["body"] = std::move(first_body);
    } else if (x.resp_body) {
      resp["body"] = body_value(*x.resp_body, body_limit_);
    }
    o["resp"] = std::move(resp);
  }
  o["latency_us"] = x.latency_us;
  o["outcome"] = x.outcome;
  if (!x.error.empty()) o["error"] = x.error;
  return json::serialize(o);
}

}  // namespace stormgate::proxy::detail
