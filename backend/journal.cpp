#include "backend/detail/journal.hpp"

#include "core/jsonl.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stormgate::backend::detail {

namespace json = boost::json;

namespace {

// Reads the file line by line with byte offsets; `on_line(seq, offset, text, terminated)`.
template <class OnLine>
bool for_each_line(std::string const& path, std::uint64_t max_lines, OnLine on_line) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char* buf = nullptr;
  std::size_t cap = 0;
  std::uint64_t offset = 0, seq = 0;
  ssize_t n;
  while (seq < max_lines && (n = ::getline(&buf, &cap, f)) > 0) {
    bool terminated = buf[n - 1] == '\n';
    std::string_view text(buf, static_cast<std::size_t>(terminated ? n - 1 : n));
    ++seq;
    on_line(seq, offset, text, terminated);
    offset += static_cast<std::uint64_t>(n);
  }
  std::free(buf);
  std::fclose(f);
  return true;
}

}  // namespace

core::result<scan_report> scan_journal(std::string const& path, event_fn const& on_event, warn_fn const& warn,
                                       std::uint64_t max_lines) {
  scan_report r;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return r;
  bool ok = for_each_line(path, max_lines, [&](std::uint64_t seq, std::uint64_t offset, std::string_view text,
                                               bool terminated) {
    r.lines = seq;
    r.bytes = offset + text.size() + (terminated ? 1 : 0);
    if (text.empty()) return;
    std::string err;
    auto v = core::parse_json_lenient(text, err);
    bool is_event = v && v->is_object();
    if (!terminated) {
      if (is_event) {
        r.unterminated = true;
      } else {
        r.torn = true;
        r.torn_offset = offset;
        r.torn_bytes = text.size();
        return;
      }
    }
    if (!is_event) {
      r.bad_lines++;
      if (warn) warn(path + ":" + std::to_string(seq) + ": not an event, skipped (" + (v ? "not an object" : err) + ")");
      return;
    }
    r.events++;
    if (on_event) on_event(seq, std::move(v->as_object()));
  });
  if (!ok) return core::data_error(path, "cannot read the journal");
  return r;
}

core::result<std::unique_ptr<journal>> journal::open(std::string path, fsync_policy policy, post_fn post,
                                                     event_fn const& on_event, warn_fn const& warn) {
  std::unique_ptr<journal> j(new journal);
  j->path_ = std::move(path);
  j->policy_ = policy;
  j->post_ = std::move(post);
  std::error_code ec;
  auto parent = std::filesystem::path(j->path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return core::usage_error(j->path_, "cannot create the journal's folder: " + ec.message());

  auto rep = scan_journal(j->path_, on_event, warn);
  if (!rep) return rep.error();
  j->fd_ = ::open(j->path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (j->fd_ < 0) return core::usage_error(j->path_, std::string("cannot open the journal: ") + std::strerror(errno));
  std::uint64_t end = rep->bytes;
  if (rep->torn) {
    // A crash mid-write left half a line: cut it off so the next event starts on a line of its own.
    if (warn)
      warn(j->path_ + ":" + std::to_string(rep->lines) + ": torn last line (" + std::to_string(rep->torn_bytes) +
           " bytes, no newline, not JSON) cut off");
    if (::ftruncate(j->fd_, static_cast<off_t>(rep->torn_offset)) != 0)
      return core::data_error(j->path_, std::string("cannot cut off the torn last line: ") + std::strerror(errno));
    end = rep->torn_offset;
    rep->lines -= 1;
    ::fsync(j->fd_);
  }
  if (::lseek(j->fd_, static_cast<off_t>(end), SEEK_SET) < 0)
    return core::data_error(j->path_, std::string("cannot seek: ") + std::strerror(errno));
  if (rep->unterminated) {
    // A whole event without its '\n': keep it, end its line.
    if (warn) warn(j->path_ + ":" + std::to_string(rep->lines) + ": last line had no newline; newline added");
    if (::write(j->fd_, "\n", 1) != 1) return core::data_error(j->path_, "cannot end the last line");
    end += 1;
    ::fsync(j->fd_);
  }
  // Sparse index of line offsets for GET /events.
  for_each_line(j->path_, rep->lines, [&](std::uint64_t seq, std::uint64_t offset, std::string_view, bool) {
    if ((seq - 1) % index_every == 0) j->index_.push_back(offset);
  });
  j->open_report_ = *rep;
  j->next_seq_ = rep->lines + 1;
  j->written_seq_ = rep->lines;
  j->written_bytes_ = end;
  j->writer_ = std::thread([p = j.get()] { p->run_writer(); });
  return j;
}

journal::~journal() { close(); }

void journal::submit(std::vector<std::string> lines, std::function<void(bool)> done) {
  batch b;
  b.first_seq = next_seq_;
  next_seq_ += lines.size();
  b.lines = std::move(lines);
  b.done = std::move(done);
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(b));
  }
  cv_.notify_one();
}

void journal::run_writer() {
  using clock = std::chrono::steady_clock;
  auto last_sync = clock::now();
  bool dirty = false;
  std::string buf;
  std::vector<std::uint64_t> new_index;
  for (;;) {
    std::deque<batch> work;
    bool stopping;
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (policy_ == fsync_policy::interval && dirty)
        cv_.wait_until(lk, last_sync + std::chrono::milliseconds(50), [&] { return stop_ || !queue_.empty(); });
      else
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      work.swap(queue_);
      stopping = stop_;
    }
    buf.clear();
    new_index.clear();
    std::uint64_t bytes = written_bytes_.load();
    std::uint64_t seq = written_seq_.load();
    for (auto const& b : work) {
      for (auto const& line : b.lines) {
        ++seq;
        if ((seq - 1) % index_every == 0) new_index.push_back(bytes + buf.size());
        buf += line;
        buf += '\n';
      }
    }
    bool ok = true;
    std::size_t off = 0;
    while (off < buf.size()) {
      auto n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        ok = false;
        std::fprintf(stderr, "stormgate backend: %s: write failed: %s\n", path_.c_str(), std::strerror(errno));
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    if (!buf.empty()) dirty = true;
    bool sync_now = dirty && (policy_ == fsync_policy::always || stopping ||
                              (policy_ == fsync_policy::interval && clock::now() - last_sync >= std::chrono::milliseconds(50)));
    if (sync_now) {
      if (::fdatasync(fd_) != 0) {
        ok = false;
        std::fprintf(stderr, "stormgate backend: %s: fsync failed: %s\n", path_.c_str(), std::strerror(errno));
      }
      last_sync = clock::now();
      dirty = false;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (auto o : new_index) index_.push_back(o);
    }
    written_bytes_ = bytes + off;
    written_seq_ = seq;
    for (auto& b : work)
      if (b.done) post_([done = std::move(b.done), ok] { done(ok); });
    if (stopping) {
      std::lock_guard<std::mutex> lk(mu_);
      if (queue_.empty()) break;
    }
  }
}

void journal::close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_ && !writer_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

std::vector<std::string> journal::read_lines(std::uint64_t after, std::uint64_t limit) const {
  std::vector<std::string> out;
  std::uint64_t last = written_seq_.load();
  if (after >= last || limit == 0) return out;
  std::uint64_t start_seq = 1, start_off = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::uint64_t k = after / index_every;  // line after+1 lies in block k
    if (k < index_.size()) {
      start_seq = k * index_every + 1;
      start_off = index_[k];
    } else if (!index_.empty()) {
      start_seq = (index_.size() - 1) * index_every + 1;
      start_off = index_.back();
    }
  }
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(start_off));
  std::string line;
  for (std::uint64_t seq = start_seq; seq <= last && std::getline(in, line); ++seq) {
    if (seq <= after) continue;
    out.push_back(line);
    if (out.size() >= limit) break;
  }
  return out;
}

core::result<scan_report> journal::rescan(event_fn const& on_event, warn_fn const& warn) const {
  return scan_journal(path_, on_event, warn, written_seq_.load());
}

}  // namespace stormgate::backend::detail
