#include "core/jsonl.hpp"
#include "core/time.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <zstd.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace stormgate::core {

namespace json = boost::json;

namespace {

// A mapped file cut short while it is read faults on its pages past the new end (SIGBUS). Logs are
// rotated by renaming, which does not do that; should it happen, the process ends as on bad input
// (exit 65), naming the file. The reader that last mapped a window on this thread is known here: a
// fault outside its windows is not this, and takes the default action (the handler gives it back
// and returns, and the faulting access runs again).
thread_local line_reader const* mapping_reader = nullptr;

extern "C" void on_sigbus(int, siginfo_t* info, void*) {
  auto const* r = mapping_reader;
  if (!r || !r->maps(info->si_addr)) {
    ::signal(SIGBUS, SIG_DFL);
    return;
  }
  auto put = [](char const* t) { (void)!::write(2, t, std::strlen(t)); };
  put("stormgate: ");
  put(r->path().c_str());
  put(": the file was cut short while it was read\n");
  ::_exit(65);
}

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

// A zstd frame starts with 28 B5 2F FD.
bool zstd_magic(char const* p) {
  return static_cast<unsigned char>(p[0]) == 0x28 && static_cast<unsigned char>(p[1]) == 0xB5 &&
         static_cast<unsigned char>(p[2]) == 0x2F && static_cast<unsigned char>(p[3]) == 0xFD;
}

void catch_sigbus() {
  static bool const caught = [] {
    struct sigaction old {};
    if (::sigaction(SIGBUS, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) return false;  // someone else's
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    ::sigemptyset(&sa.sa_mask);
    return ::sigaction(SIGBUS, &sa, nullptr) == 0;
  }();
  (void)caught;
}

}  // namespace

// The buffer of unmapped files, 128 KB: a read lands in the core's L2 cache and is parsed from
// there (a larger buffer is not faster). Reading a mapped file skips the copy a read makes.
line_reader::line_reader(std::string path, std::size_t window) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return;
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  auto page = page_size();
  window_ = (std::max(window, page) + page - 1) / page * page;
  struct stat st {};
  // /proc and the like say 0 bytes and have more: only a regular file with bytes is mapped
  mapped_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  if (mapped_) {  // a regular file says what it is from its first bytes; anything else on its first read
    char head[4];
    sniffed_ = true;
    if (::pread(fd_, head, sizeof head, 0) == 4 && zstd_magic(head)) {
      mapped_ = false;
      start_zstd();
    }
  }
  if (!mapped_) buf_.resize(128 << 10);
  else catch_sigbus();
}

line_reader::~line_reader() {
  if (mapping_reader == this) mapping_reader = nullptr;
  for (auto m : {map_, prev_})
    if (m.data) ::munmap(m.data, m.size);
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
}

// Maps the window from the page of the first unread byte on, past what is mapped now; false when
// the file has no byte past it.
bool line_reader::remap() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return false;
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size <= map_off_ + end_) return false;
  std::uint64_t page = page_size();
  auto rest = map_off_ + begin_;  // the first unread byte
  auto off = rest / page * page;
  // the unread part has no '\n': a window at least twice as long as it, so that a long line fits
  auto need = 2 * (map_off_ + end_ - off);
  auto len = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(window_, need), file_size - off));
  void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, static_cast<off_t>(off));
  if (m == MAP_FAILED) {
    to_buffer();
    return fill();
  }
  retire_window();
  map_ = {static_cast<char*>(m), len};
  returned_ = false;
  mapping_reader = this;
  begin_ = static_cast<std::size_t>(rest - off);
  end_ = len;
  map_off_ = off;
  return true;
}

// Mapping failed: the unread bytes go to a buffer, and the file is read on from where they end.
void line_reader::to_buffer() {
  auto n = end_ - begin_;
  buf_.assign(map_.data + begin_, map_.data + end_);
  buf_.resize(std::max<std::size_t>(n * 2, 128 << 10));
  ::lseek(fd_, static_cast<off_t>(map_off_ + end_), SEEK_SET);
  begin_ = 0;
  end_ = n;
  mapped_ = false;
  retire_window();
  returned_ = false;
}

bool line_reader::maps(void const* addr) const {
  auto p = static_cast<char const*>(addr);
  auto in = [&](mapping const& m) { return m.data && p >= m.data && p < m.data + m.size; };
  return in(map_) || in(prev_);
}

// The window goes. The line just returned stays: the window it lies in stays mapped until the next
// one goes.
void line_reader::retire_window() {
  if (!returned_) {  // no line was returned from it: the line just returned is in the window before
    if (map_.data) ::munmap(map_.data, map_.size);
  } else {
    if (prev_.data) ::munmap(prev_.data, prev_.size);
    prev_ = map_;
  }
  map_ = {};
}

bool line_reader::fill() {
  if (eof_) return false;
  if (mapped_) {
    if (remap()) return true;
    eof_ = true;
    return false;
  }
  if (begin_ > 0) {
    if (returned_) {
      // the unread rest goes to the front of the spare buffer; the line just returned stays valid
      if (spare_.size() < buf_.size()) spare_.resize(buf_.size());
      std::memcpy(spare_.data(), buf_.data() + begin_, end_ - begin_);
      buf_.swap(spare_);
      returned_ = false;
    } else {
      // only blank lines were read from the buffer: the line just returned is in the spare one
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    }
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  return dctx_ ? inflate() : read_more();
}

// Reads file bytes into the buffer after its unread ones.
bool line_reader::read_more() {
  for (int tries = 0; tries < 1000; ++tries) {  // EINTR, and a pipe's first bytes: a few reads
    auto n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error_ = std::strerror(errno);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<std::size_t>(n);
    if (!sniffed_) {  // the first bytes of a pipe or of a file that was empty when it was opened
      if (end_ < 4) continue;
      sniffed_ = true;
      if (zstd_magic(buf_.data())) {
        start_zstd();
        return inflate();
      }
    }
    return true;
  }
  eof_ = true;
  return false;
}

// From now on the file is a zstd stream; what the buffer holds is its first bytes.
bool line_reader::start_zstd() {
  sniffed_ = true;
  dctx_ = ZSTD_createDCtx();
  if (!dctx_) {
    error_ = "zstd: cannot allocate a decompression context";
    eof_ = true;
    return false;
  }
  zin_.assign(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(end_));
  zin_.resize(std::max(end_, ZSTD_DStreamInSize()));
  zin_pos_ = 0;
  zin_end_ = end_;
  begin_ = end_ = 0;
  return true;
}

// Decompresses into the buffer after its unread bytes; false at the end of the file or on corrupt
// data (error_).
bool line_reader::inflate() {
  auto* d = static_cast<ZSTD_DCtx*>(dctx_);
  // each call takes compressed bytes or gives decompressed ones, and a read brings new ones: bounded
  // by the file's size; this bound is only a guard
  for (std::uint64_t calls = 0; calls < (std::uint64_t(1) << 40); ++calls) {
    ZSTD_inBuffer in{zin_.data(), zin_end_, zin_pos_};
    ZSTD_outBuffer out{buf_.data() + end_, buf_.size() - end_, 0};
    auto r = ZSTD_decompressStream(d, &out, &in);
    if (ZSTD_isError(r)) {
      error_ = std::string("zstd: ") + ZSTD_getErrorName(r) + " (compressed bytes " + std::to_string(zin_off_ + zin_pos_) +
               " to " + std::to_string(zin_off_ + zin_end_) + ")";
      eof_ = true;
      return false;
    }
    // 0: a frame is whole and all of it given out (a call with nothing to do says what the next
    // frame's header needs: that is no frame begun)
    if (in.pos > zin_pos_ || out.pos > 0) frame_open_ = r != 0;
    zin_pos_ = in.pos;
    if (out.pos > 0) {
      end_ += out.pos;
      return true;
    }
    if (zin_pos_ < zin_end_) continue;
    ssize_t n = ::read(fd_, zin_.data(), zin_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error_ = std::strerror(errno);
    if (n <= 0) {
      eof_ = true;
      cut_ = frame_open_;
      return false;
    }
    zin_off_ += zin_end_;
    zin_pos_ = 0;
    zin_end_ = static_cast<std::size_t>(n);
  }
  error_ = "zstd: the stream makes no progress";
  eof_ = true;
  return false;
}

bool line_reader::next(std::string_view& line) {
  for (;;) {
    char const* start = data() + begin_;
    auto nl = end_ > begin_ ? static_cast<char const*>(std::memchr(start, '\n', end_ - begin_)) : nullptr;
    std::size_t len;
    bool torn = false;
    if (nl) {
      len = static_cast<std::size_t>(nl - start);
    } else if (fill()) {
      continue;
    } else {
      if (begin_ == end_ || !error_.empty()) return false;  // after corrupt data, no torn line from it
      len = end_ - begin_;
      torn = true;
      start = data() + begin_;
    }
    ++line_no_;
    std::string_view l(start, len);
    begin_ += len + (torn ? 0 : 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    returned_ = true;
    torn_ = torn;
    line = l;
    return true;
  }
}

bool is_json(std::string_view text) {
  json::basic_parser<json_accept_all> p(json::parse_options{});
  json::error_code ec;
  auto n = p.write_some(false, text.data(), text.size(), ec);
  if (ec) return false;
  for (; n < text.size(); ++n)
    if (text[n] != ' ' && text[n] != '\t' && text[n] != '\n' && text[n] != '\r') return false;
  return true;
}

std::optional<json::value> parse_json(std::string_view text, std::string& err, std::size_t max_depth) {
  json::error_code ec;
  json::parse_options opt;
  opt.max_depth = max_depth;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opt);
  if (ec) {
    err = ec.message();
    return std::nullopt;
  }
  return v;
}

std::optional<json::value> parse_json_lenient(std::string_view text, std::string& err, std::size_t max_depth) {
  bool needs = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == 'N' || c == 'I') {
      needs = true;
      break;
    }
  }
  if (!needs) return parse_json(text, err, max_depth);
  // Rewrite the tokens outside strings to sentinel strings, then restore them as doubles.
  std::string out;
  out.reserve(text.size() + 16);
  bool in_str = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_str) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') {
      in_str = true;
      out += c;
    } else if (text.substr(i, 3) == "NaN") {
      out += "\"\\u0001NaN\"";
      i += 2;
    } else if (text.substr(i, 9) == "-Infinity") {
      out += "\"\\u0001-Inf\"";
      i += 8;
    } else if (text.substr(i, 8) == "Infinity") {
      out += "\"\\u0001+Inf\"";
      i += 7;
    } else {
      out += c;
    }
  }
  auto v = parse_json(out, err, max_depth);
  if (!v) return v;
  // restore sentinels
  auto fix = [](auto& self, json::value& x) -> void {
    if (x.is_string()) {
      auto s = x.get_string();
      if (s.size() > 1 && s[0] == '\x01') {
        std::string_view t(s.data() + 1, s.size() - 1);
        if (t == "NaN") x = std::numeric_limits<double>::quiet_NaN();
        else if (t == "-Inf") x = -std::numeric_limits<double>::infinity();
        else if (t == "+Inf") x = std::numeric_limits<double>::infinity();
      }
    } else if (x.is_array()) {
      for (auto& e : x.get_array()) self(self, e);
    } else if (x.is_object()) {
      for (auto& kv : x.get_object()) self(self, kv.value());
    }
  };
  fix(fix, *v);
  return v;
}

json::value const* find(json::value const& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  return v.get_object().if_contains(json::string_view(key.data(), key.size()));
}

json::value const* find_path(json::value const& v, std::string_view dotted) {
  json::value const* cur = &v;
  while (cur) {
    auto dot = dotted.find('.');
    cur = find(*cur, dotted.substr(0, dot));
    if (dot == std::string_view::npos) return cur;
    dotted.remove_prefix(dot + 1);
  }
  return nullptr;
}

std::optional<std::string_view> get_string(json::value const& v, std::string_view key) {
  auto p = find(v, key);
  if (!p || !p->is_string()) return std::nullopt;
  auto const& s = p->get_string();
  return std::string_view(s.data(), s.size());
}

std::optional<double> as_number(json::value const& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::optional<double> get_number(json::value const& v, std::string_view key) {
  auto p = find(v, key);
  return p ? as_number(*p) : std::nullopt;
}

std::optional<std::int64_t> get_int(json::value const& v, std::string_view key) {
  auto p = find(v, key);
  if (!p) return std::nullopt;
  if (p->is_int64()) return p->get_int64();
  if (p->is_uint64()) return static_cast<std::int64_t>(p->get_uint64());
  if (p->is_double() && std::floor(p->get_double()) == p->get_double()) return static_cast<std::int64_t>(p->get_double());
  return std::nullopt;
}

std::optional<bool> get_bool(json::value const& v, std::string_view key) {
  auto p = find(v, key);
  if (!p || !p->is_bool()) return std::nullopt;
  return p->get_bool();
}

std::string to_line(json::value const& v) {
  std::string out;
  append_json(out, v);
  return out;
}

std::string to_json(json::object const& o) {
  std::string out;
  append_json(out, o);
  return out;
}

void append_json_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  constexpr double exact = 9007199254740992.0;  // 2^53: every integer up to it is a double
  if (d == 0 && std::signbit(d)) {
    out += "-0.0";  // "-0" would read back as the integer 0
    return;
  }
  if (std::trunc(d) == d && std::fabs(d) <= exact) {
    out.append(buf, std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(d)).ptr);
    return;
  }
  // the shortest digits that round-trip, as d.ddde±XX: its exponent says which notation
  auto sci = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(sci.ptr - buf));
  auto e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp >= -6 && exp <= 20) {  // as JavaScript writes numbers
    char fixed[64];
    out.append(fixed, std::to_chars(fixed, fixed + sizeof fixed, d, std::chars_format::fixed).ptr);
    return;
  }
  out.append(s.substr(0, e + 1));  // mantissa and 'e'
  auto x = s.substr(e + 1);
  if (x[0] == '+') x.remove_prefix(1);
  bool neg = x[0] == '-';
  if (neg) x.remove_prefix(1);
  while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);  // e-07 -> e-7
  if (neg) out += '-';
  out.append(x);
}

namespace {
// Values come from Boost.JSON's parser (depth ≤ 32) or from code: deeper than this is written null.
constexpr int max_depth = 256;

void append_value(std::string& out, json::value const& v, int depth);

void append_object(std::string& out, json::object const& o, int depth) {
  out += '{';
  bool first = true;
  for (auto const& kv : o) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, std::string_view(kv.key().data(), kv.key().size()));
    out += ':';
    append_value(out, kv.value(), depth + 1);
  }
  out += '}';
}

void append_array(std::string& out, json::array const& a, int depth) {
  out += '[';
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) out += ',';
    append_value(out, a[i], depth + 1);
  }
  out += ']';
}

void append_value(std::string& out, json::value const& v, int depth) {
  char buf[24];
  if (depth > max_depth) {
    out += "null";
    return;
  }
  switch (v.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out.append(buf, std::to_chars(buf, buf + sizeof buf, v.get_int64()).ptr); break;
    case json::kind::uint64: out.append(buf, std::to_chars(buf, buf + sizeof buf, v.get_uint64()).ptr); break;
    case json::kind::double_: append_json_number(out, v.get_double()); break;
    case json::kind::string: append_json_string(out, std::string_view(v.get_string().data(), v.get_string().size())); break;
    case json::kind::array: append_array(out, v.get_array(), depth); break;
    case json::kind::object: append_object(out, v.get_object(), depth); break;
  }
}
}  // namespace

void append_json(std::string& out, json::value const& v) { append_value(out, v, 0); }
void append_json(std::string& out, json::object const& o) { append_object(out, o, 0); }
void append_json(std::string& out, json::array const& a) { append_array(out, a, 0); }

namespace {
// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates), 0 if none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90)) return 0;
    return 4;
  }
  return 0;
}
}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (auto n = utf8_length(s, i)) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + plain, i - plain);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          out.append(u, sizeof u);
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no UTF-8 sequence
        }
    }
    plain = ++i;
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

}  // namespace stormgate::core

namespace stormgate::core {

std::string& json_object_writer::key(std::string_view k) {
  if (!first_) out_->push_back(',');
  first_ = false;
  out_->push_back('"');
  out_->append(k);
  out_->append("\":", 2);
  return *out_;
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void put(json_object_writer& o, std::string_view k, sys_us t) {
  auto& out = o.key(k);
  out.push_back('"');
  append_rfc3339_us(out, t);
  out.push_back('"');
}

}  // namespace stormgate::core
