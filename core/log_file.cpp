#include "core/log_file.hpp"

#include <zstd.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace stormgate::core {

namespace {
constexpr std::size_t chunk = 128 << 10;  // bytes buffered before they are written or compressed
// ZSTD_compressStream2 makes progress on every call (it takes input or gives output); a stream
// that has not finished after this many calls is broken.
constexpr int max_calls = 1 << 20;

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}
}  // namespace

bool zst_path(std::string_view path) { return ends_with(path, ".zst"); }

std::string rotated_path(std::string const& path, int n) {
  auto slash = path.rfind('/');
  auto name_at = slash == std::string::npos ? 0 : slash + 1;
  std::string_view name(path.data() + name_at, path.size() - name_at);
  auto ext_len = [](std::string_view s) -> std::size_t {
    auto dot = s.rfind('.');
    return dot == std::string_view::npos || dot == 0 ? 0 : s.size() - dot;
  };
  std::size_t ext = ext_len(name);
  if (ext > 0 && zst_path(name)) ext += ext_len(name.substr(0, name.size() - ext));  // ".jsonl.zst"
  auto stem_end = path.size() - ext;
  return path.substr(0, stem_end) + "." + std::to_string(n) + path.substr(stem_end);
}

bool zst_whole_frames(std::string const& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  struct stat st {};
  bool whole = true;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    auto size = static_cast<std::size_t>(st.st_size);
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      whole = false;
    } else {
      // frame by frame, from block header to block header: only the headers' pages are read
      auto const* p = static_cast<char const*>(m);
      std::size_t off = 0;
      for (std::size_t frames = 0; off < size && frames < size; ++frames) {
        auto n = ZSTD_findFrameCompressedSize(p + off, size - off);
        if (ZSTD_isError(n) || n == 0) break;
        off += n;
      }
      whole = off == size;
      ::munmap(m, size);
    }
  }
  ::close(fd);
  return whole;
}

int zstd_level() {
  static int const level = [] {
    int l = 1;
    if (char const* e = std::getenv("STORMGATE_ZSTD_LEVEL")) {
      int v = 0;
      auto r = std::from_chars(e, e + std::strlen(e), v);
      if (r.ec == std::errc() && *r.ptr == '\0' && v >= 1 && v <= 19) l = v;
    }
    return l;
  }();
  return level;
}

log_file::~log_file() { close(); }

bool log_file::open(std::string path, mode m) {
  close();
  path_ = std::move(path);
  error_.clear();
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (m == mode::append ? O_APPEND : O_TRUNC);
  fd_ = ::open(path_.c_str(), flags, 0644);
  if (fd_ < 0) {
    error_ = std::strerror(errno);
    return false;
  }
  struct stat st {};
  file_bytes_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  line_bytes_ = 0;
  in_.reserve(chunk + 4096);
  if (zst_path(path_)) {
    auto* c = ZSTD_createCCtx();
    if (!c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, zstd_level())) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1))) {
      ZSTD_freeCCtx(c);
      error_ = "cannot set up zstd compression";
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    cctx_ = c;
    out_.resize(ZSTD_CStreamOutSize());
  }
  return true;
}

void log_file::write(std::string_view bytes) {
  if (fd_ < 0) return;
  in_.append(bytes);
  line_bytes_ += bytes.size();
  if (in_.size() >= chunk) drain(ZSTD_e_continue);
}

void log_file::flush() {
  if (fd_ >= 0) drain(ZSTD_e_flush);
}

void log_file::close() {
  if (fd_ < 0) return;
  drain(ZSTD_e_end);
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  cctx_ = nullptr;
  ::close(fd_);
  fd_ = -1;
}

void log_file::drain(int directive) {
  if (!cctx_) {
    put(in_.data(), in_.size());
    in_.clear();
    return;
  }
  auto* c = static_cast<ZSTD_CCtx*>(cctx_);
  auto end_op = static_cast<ZSTD_EndDirective>(directive);
  ZSTD_inBuffer in{in_.data(), in_.size(), 0};
  for (int calls = 0;; ++calls) {
    if (calls == max_calls) {
      if (error_.empty()) error_ = "zstd: the stream makes no progress";
      break;
    }
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    std::size_t left = ZSTD_compressStream2(c, &out, &in, end_op);
    if (ZSTD_isError(left)) {
      if (error_.empty()) error_ = std::string("zstd: ") + ZSTD_getErrorName(left);
      break;
    }
    put(out_.data(), out.pos);
    // continue: done when the input is taken; flush and end: when nothing is left to write out
    if (end_op == ZSTD_e_continue ? in.pos == in.size : left == 0) break;
  }
  in_.clear();
}

void log_file::put(char const* p, std::size_t n) {
  for (int tries = 0; n > 0 && fd_ >= 0 && tries < 1000; ++tries) {
    auto w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (error_.empty()) error_ = std::strerror(errno);
      return;  // the bytes are lost; the caller reports error()
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    file_bytes_ += static_cast<std::uint64_t>(w);
  }
}

}  // namespace stormgate::core
