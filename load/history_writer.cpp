#include "load/detail/history_writer.hpp"

#include "core/jsonl.hpp"
#include "core/record_fields.hpp"
#include "core/time.hpp"

#include <cstdio>

namespace stormgate::load {

core::result<history_writer*> history_writer::open(std::string const& path) {
  auto* w = new history_writer();
  w->path_ = path;
  if (!w->file_.open(path, core::log_file::mode::truncate)) {
    auto err = w->file_.error();
    delete w;
    return core::usage_error("--history " + path, err);
  }
  return w;
}

history_writer::~history_writer() {
  bool opened = file_.is_open();
  file_.close();
  if (opened && !file_.error().empty()) std::fprintf(stderr, "stormgate load: history %s: %s\n", path_.c_str(), file_.error().c_str());
}

void history_writer::write(boost::json::object const& record) {
  // `v` first, as every record in docs/formats.md shows it.
  buf_.assign("{\"v\":1");
  for (auto const& kv : record) {
    if (kv.key() == "v") continue;
    buf_ += ',';
    core::append_json_string(buf_, std::string_view(kv.key().data(), kv.key().size()));
    buf_ += ':';
    core::append_json(buf_, kv.value());
  }
  buf_ += "}\n";
  file_.write(buf_);
  ++records_;
}

void format_op(std::string& out, op_line const& rec) {
  core::json_object_writer o(out);
  STORMGATE_HISTORY_OP_FIELDS(STORMGATE_PUT_FIELD)
  o.close();
}

void history_writer::write(op_line const& op) {
  buf_.clear();
  format_op(buf_, op);
  buf_ += '\n';
  file_.write(buf_);
  ++records_;
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

void history_writer::flush() { file_.flush(); }

}  // namespace stormgate::load
