#include "load/detail/history_writer.hpp"

#include "core/time.hpp"

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace stormgate::load {

namespace {
constexpr std::size_t flush_at = 256 * 1024;
}

core::result<history_writer*> history_writer::open(std::string const& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return core::usage_error("--history " + path, std::strerror(errno));
  return new history_writer(fd, path);
}

history_writer::~history_writer() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

void history_writer::write(boost::json::object const& record) {
  // `v` first, as every record in docs/formats.md shows it.
  buf_ += "{\"v\":1";
  for (auto const& kv : record) {
    if (kv.key() == "v") continue;
    buf_ += ',';
    buf_ += boost::json::serialize(boost::json::string_view(kv.key()));
    buf_ += ':';
    buf_ += boost::json::serialize(kv.value());
  }
  buf_ += "}\n";
  ++records_;
  if (buf_.size() >= flush_at) flush();
}

void history_writer::write_line(std::string_view line) {
  buf_ += line;
  buf_ += '\n';
  ++records_;
  if (buf_.size() >= flush_at) flush();
}

std::string const& history_ts() {
  static thread_local std::int64_t cached_sec = -1;
  static thread_local std::string prefix;  // "2026-11-24T01:49:52."
  static thread_local std::string out;
  auto us = core::now_us().time_since_epoch().count();
  auto sec = us / 1'000'000;
  if (sec != cached_sec) {
    auto full = core::rfc3339_us(core::sys_us(std::chrono::microseconds(sec * 1'000'000)));
    prefix = full.substr(0, full.find('.') + 1);
    cached_sec = sec;
  }
  char frac[8];
  auto f = static_cast<unsigned>(us % 1'000'000);
  for (int i = 5; i >= 0; --i) {
    frac[i] = static_cast<char>('0' + f % 10);
    f /= 10;
  }
  frac[6] = 'Z';
  out.assign(prefix);
  out.append(frac, 7);
  return out;
}

void history_writer::flush() {
  std::size_t off = 0;
  while (off < buf_.size() && fd_ >= 0) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  buf_.clear();
}

}  // namespace stormgate::load
