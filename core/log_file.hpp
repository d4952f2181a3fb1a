// A log file written as whole lines, plain or, when its path ends in ".zst", as one zstd stream.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::core {

// Whether a log path names a zstd file (it ends in ".zst").
bool zst_path(std::string_view path);

// The name of a log's rotated file n: "dir/traffic.jsonl" -> "dir/traffic.3.jsonl",
// "dir/traffic.jsonl.zst" -> "dir/traffic.3.jsonl.zst" (the number goes before the extensions).
std::string rotated_path(std::string const& path, int n);

// Whether a zstd file holds whole frames only (true also when it is missing or empty): false when
// its writer was killed before it ended the last one, and a frame appended to it would not be read.
bool zst_whole_frames(std::string const& path);

// The zstd level of compressed logs: STORMGATE_ZSTD_LEVEL (1 to 19) when set, else 1.
int zstd_level();

// Lines are buffered and written in large chunks. A ".zst" file is a zstd stream (frames with
// checksums): flush() ends the block in hand, so that everything written so far can be read back
// from the file (a reader sees whole blocks; a process killed between two flushes loses only what
// it wrote since the last one); close() ends the frame. A file opened for appending gets a new frame.
// One thread at a time.
class log_file {
 public:
  enum class mode { append, truncate };
  log_file() = default;
  ~log_file();
  log_file(log_file const&) = delete;
  log_file& operator=(log_file const&) = delete;

  bool open(std::string path, mode m);  // false: error() says why
  bool is_open() const { return fd_ >= 0; }
  bool compressed() const { return cctx_ != nullptr; }
  void write(std::string_view bytes);
  void flush();
  void close();  // flushes, ends the zstd frame, closes; idempotent
  // The bytes in the file, and of a plain file those still buffered (a zstd stream's own buffer,
  // up to a block, is not counted until it is flushed).
  std::uint64_t file_bytes() const { return file_bytes_ + (compressed() ? 0 : in_.size()); }
  std::uint64_t line_bytes() const { return line_bytes_; }  // the bytes given to write(), uncompressed
  std::string const& error() const { return error_; }       // the first failure ("" when none)
  std::string const& path() const { return path_; }

 private:
  void drain(int directive);  // the buffered bytes into the file (a ZSTD_EndDirective when compressed)
  void put(char const* p, std::size_t n);

  std::string path_;
  int fd_ = -1;
  void* cctx_ = nullptr;  // ZSTD_CCtx
  std::string in_;        // lines not yet written or compressed
  std::vector<char> out_;  // compressed bytes, written when full
  std::uint64_t file_bytes_ = 0, line_bytes_ = 0;
  std::string error_;
};

}  // namespace stormgate::core
