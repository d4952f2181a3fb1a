// One line of a traffic log, a history or a journal into the small record structs the gates fold
// over. Boost.JSON's streaming parser validates the whole line and hands each token to `reader`,
// which keeps the fields the gates read and drops the rest as it goes: no DOM, no allocation per
// line. As in a parsed JSON object, the last of duplicate keys wins. Most lines repeat the layout of
// one before them: those are read from its learnt shape (detail/line_shapes.hpp), which hands the
// reader the same tokens Boost.JSON would, without tokenizing. Control and run records (rare, and
// read whole) and lines that only parse leniently (NaN, Infinity) go through a DOM.
#include "checks/detail/folds.hpp"
#include "checks/detail/record_parser.hpp"
#include "core/jsonl.hpp"
#include "core/time.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cstring>
#include <deque>
#include <stdexcept>

namespace stormgate::checks::detail {

namespace json = boost::json;

// Every field the gates read, named as in the description (detail/records.hpp); a key of the line
// maps to one or more.
enum class record_field : std::uint8_t {
#define STORMGATE_FIELD_NAME(name, lv, key, how, target, member, src) STORMGATE_IF_READ_##how(name, )
  STORMGATE_RECORD_FIELDS(STORMGATE_FIELD_NAME)
#undef STORMGATE_FIELD_NAME
};

// The fields a key names: several when the profile names a field like another (at most one fixed
// name and the profile's agent_id, amount and balance_after share a level).
struct key_fields {
  std::uint64_t head = 0, tail = 0;
  std::size_t size = std::string_view::npos;  // npos: an empty slot
  std::uint8_t count = 0;
  std::array<record_field, 4> fields{};
};

namespace {

using field = record_field;
using level = field_level;

std::int64_t us_of(std::string_view rfc3339) {
  if (rfc3339.empty()) return 0;
  return core::parse_rfc3339_us(rfc3339).value_or(0);
}

// ---- DOM helpers (control and run records) ------------------------------------------------------

std::string_view sv(json::value const* v) {
  if (!v || !v->is_string()) return {};
  auto const& s = v->get_string();
  return {s.data(), s.size()};
}
json::value const* at(json::object const& o, std::string_view k) { return o.if_contains(json::string_view(k.data(), k.size())); }
std::string_view str(json::object const& o, std::string_view k) { return sv(at(o, k)); }
opt_num num(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  return v ? core::as_number(*v) : std::nullopt;
}
json::object const* obj(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
std::int64_t ts_of(json::object const& o, std::string_view k) { return us_of(str(o, k)); }

bool read_control(json::object const& o, control& c, std::string& err) {
  c = control{};
  c.ts_us = ts_of(o, "ts");
  c.action = str(o, "action");
  if (auto cl = at(o, "cleared"); cl && cl->is_array()) c.cleared = &cl->get_array();
  if (auto f = at(o, "fault")) {
    if (f->is_string()) {
      c.name = sv(f);
    } else if (f->is_object()) {
      auto const& fo = f->get_object();
      c.name = str(fo, "name");
      c.route = str(fo, "route");
      if (auto a = obj(fo, "action"); a && !a->empty()) c.action_kind = {a->begin()->key().data(), a->begin()->key().size()};
      auto p = num(fo, "probability");
      auto m = obj(fo, "match");
      c.total = (!p || *p >= 1.0) && (!m || m->empty()) && !obj(fo, "first_n") && !at(fo, "first_n");
      if (auto w = obj(fo, "window")) {
        c.after_s = num(*w, "after_s");
        c.for_s = num(*w, "for_s");
        if (at(*w, "first_n")) c.total = false;
      }
    }
  }
  if (c.action.empty()) {
    err = "control record without action";
    return false;
  }
  return true;
}

void read_run(json::value const& doc, log_kind kind, run_marker& r) {
  auto const& o = doc.get_object();
  r = run_marker{};
  r.action = str(o, "action");
  r.ts_us = ts_of(o, "ts");
  r.seed = num(o, "seed");
  r.raw = &doc;
  if (kind == log_kind::traffic) return;
  r.mode = str(o, "mode");
  r.target = str(o, "target");
  r.shard = str(o, "shard");
  r.planned_duration_s = num(o, "planned_duration_s");
  r.duration_s = num(o, "duration_s");
  r.elapsed_s = num(o, "elapsed_s");
  r.concurrency = num(o, "concurrency");
  r.rate = num(o, "rate");
  r.ops = num(o, "ops");
  auto i = at(o, "interrupted");
  r.interrupted = i && i->is_bool() && i->get_bool();
}

// ---- what the reader keeps ------------------------------------------------------------------

// The keys of one level, in a perfect hash table (built once, no two keys in one slot). Two
// machine words hold a key of up to 16 bytes whole (its first and last 8, or 4, bytes), so a
// lookup is a multiply and three compares, no memcmp.
class key_table {
 public:
  using entry = key_fields;
  void add(std::string_view key, field f) {
    std::size_t i = 0;
    while (i < keys_.size() && keys_[i].first != key) ++i;
    if (i == keys_.size()) keys_.push_back({std::string(key), {}});
    auto& e = keys_[i].second;
    if (e.count == e.fields.size()) throw std::logic_error("key_table: too many fields named " + std::string(key));
    auto [head, tail] = words(key);
    e.head = head, e.tail = tail, e.size = key.size();
    e.fields[e.count++] = f;
    build();
  }
  entry const* find(std::string_view key) const {
    auto [head, tail] = words(key);
    auto i = slot(head, tail, key.size());
    auto const& e = slots_[i];
    bool same = (e.head == head) & (e.tail == tail) & (e.size == key.size());  // one branch, not three
    return same && (key.size() <= 16 || long_keys_[i] == key) ? &e : nullptr;
  }

 private:
  std::vector<std::pair<std::string, entry>> keys_;
  std::vector<entry> slots_{16};
  std::vector<std::string> long_keys_{16};  // the keys of more than 16 bytes, by slot
  std::uint64_t mult_ = 1;
  int shift_ = 60;

  std::size_t slot(std::uint64_t head, std::uint64_t tail, std::size_t size) const {
    auto h = head * 0x9E3779B97F4A7C15ull ^ tail * 0xC2B2AE3D27D4EB4Full ^ size;
    return static_cast<std::size_t>((h * mult_) >> shift_);
  }
  // Tries multipliers (a fixed sequence: the table is the same on every run) until no two keys
  // share a slot, doubling the table now and then.
  void build() {
    std::uint64_t m = 0x2545F4914F6CDD1Dull;
    for (int bits = 4;; ++bits) {
      if ((std::size_t{1} << bits) < 2 * keys_.size()) continue;
      for (int attempt = 0; attempt < 256; ++attempt) {
        m = m * 6364136223846793005ull + 1442695040888963407ull;
        mult_ = m | 1;
        shift_ = 64 - bits;
        slots_.assign(std::size_t{1} << bits, entry{});
        long_keys_.assign(slots_.size(), std::string());
        bool clash = false;
        for (auto const& [key, e] : keys_) {
          auto i = slot(e.head, e.tail, e.size);
          if (slots_[i].count) {
            clash = true;
            break;
          }
          slots_[i] = e;
          if (key.size() > 16) long_keys_[i] = key;
        }
        if (!clash) return;
      }
    }
  }
  static std::pair<std::uint64_t, std::uint64_t> words(std::string_view k) {
    auto n = k.size();
    auto p = k.data();
    if (n >= 8) {
      std::uint64_t a, b;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n - 8, 8);
      return {a, b};
    }
    if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      return {a, b};
    }
    if (n == 0) return {0, 0};
    auto c = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
    return {c(0) | c(n / 2) << 8 | c(n - 1) << 16, 0};
  }
};

// One JSON value as the reader sees it; an object or array is entered afterwards, not held.
struct value_ref {
  enum class type : std::uint8_t { null, boolean, number, string, object, array } t = type::null;
  bool b = false;
  double n = 0;
  std::string_view s;
  std::string_view str() const { return t == type::string ? s : std::string_view{}; }
  opt_num num() const { return t == type::number ? opt_num(n) : std::nullopt; }
  std::optional<bool> boolean() const { return t == type::boolean ? std::optional<bool>(b) : std::nullopt; }
  bool is_null() const { return t == type::null; }
  bool is_object() const { return t == type::object; }
  bool is_array() const { return t == type::array; }
};
using vt = value_ref::type;

bool is_op_type(std::string_view t) { return t == "invoke" || t == "ok" || t == "fail" || t == "info"; }

// A value into a described member, as the member's type takes it.
void set(std::string_view& m, value_ref const& v) { m = v.str(); }
void set(opt_num& m, value_ref const& v) { m = v.num(); }
void set(std::optional<bool>& m, value_ref const& v) { m = v.boolean(); }

// &(obj->*m) when the member is an M and the object is there, else null.
template <class M, class T, class C, class V>
M* member_as(T* obj, V C::*m) {
  if constexpr (std::is_same_v<V, M>) return obj ? &(obj->*m) : nullptr;
  else return nullptr;
}

}  // namespace

// ---- reader: the streaming parser's handler -----------------------------------------------------

class record_parser::reader {
 public:
  // the limits of Boost.JSON's own DOM parser, so that a line fails here exactly when it fails there
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit reader(context const& ctx);

  // Before a line: `stable` when its strings outlive the record (a DOM), else they are kept here.
  void start(log_kind kind, std::string_view line, bool stable);
  bool top_is_object() const { return top_object_; }
  // Whether the keys (or elements) of the object or array just entered are read, and whether the
  // value of the key just read is: line_shapes leaves all the rest out.
  bool reading_keys() const { return at_.lv != level::skip; }
  bool wanted() const { return pending_ || pending_entry_; }
  // What the key just read named, for line_shapes to hand back with the value of the same key of a
  // line of the same shape, in place of looking it up again; null where the key did more (a
  // balances entry).
  key_fields const* key_found() const { return at_.lv == level::balances ? nullptr : pending_; }
  // Where the value of such a key goes when the reader only stores it there, a string (or a
  // number) in a member of the record being read, not in an answer or fault, which move: line_shapes
  // then stores it straight. Null for every other key.
  std::string_view* string_member(key_fields const* e) { return e->count == 1 ? string_member(e->fields[0]) : nullptr; }
  opt_num* number_member(key_fields const* e) { return e->count == 1 ? number_member(e->fields[0]) : nullptr; }
  // The value of such a key, in a line read from a shape: a string is in the line.
  void on_found_string(key_fields const* e, std::string_view s) { take_found(e, {vt::string, false, 0, s}); }
  void on_found_number(key_fields const* e, double d) { take_found(e, {vt::number, false, d}); }
  void on_found_bool(key_fields const* e, bool b) { take_found(e, {vt::boolean, b}); }
  void on_found_null(key_fields const* e) { take_found(e, {vt::null}); }
  void on_found_object(key_fields const* e) { push(take_found(e, {vt::object})); }
  void on_found_array(key_fields const* e) { push(take_found(e, {vt::array})); }
  // After the line: fills `out`; control and run records are left to the DOM (only their kind set).
  bool finish(log_kind kind, record& out, std::string& err);

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return enter(vt::object); }
  bool on_object_end(std::size_t, json::error_code&) { return leave(); }
  bool on_array_begin(json::error_code&) { return enter(vt::array); }
  bool on_array_end(std::size_t, json::error_code&) { return leave(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (reading_keys()) key_parts_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (at_.lv == level::skip) return true;
    if (at_.lv == level::balances || !key_parts_.empty()) return key_slow({s.data(), s.size()});
    pending_ = keys_[static_cast<std::size_t>(at_.lv)].find({s.data(), s.size()});
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (wanted()) {
      if (!string_open_) string_start_ = arena_.size();
      string_open_ = true;
      append({s.data(), s.size()});
    }
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    if (wanted()) string_value({s.data(), s.size()});
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) { return number(static_cast<double>(i)); }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) { return number(static_cast<double>(u)); }
  bool on_double(double d, json::string_view, json::error_code&) { return number(d); }
  bool on_bool(bool b, json::error_code&) {
    if (wanted()) take({vt::boolean, b});
    return true;
  }
  bool on_null(json::error_code&) {
    if (wanted()) take({vt::null});
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  // An object or array being read: its level and the record part its keys fill.
  struct frame {
    level lv = level::skip;
    answer* a = nullptr;
    reply* r = nullptr;
  };

  context const& ctx_;
  std::array<key_table, static_cast<std::size_t>(level::count)> keys_;
  level top_ = level::traffic;  // the level of the record itself
  frame at_;                    // the innermost open object or array
  std::array<frame, core::log_max_depth> outer_;  // the ones around it; the parser's depth limit: never full
  std::size_t depth_ = 0;        // open objects and arrays
  key_table::entry const* pending_ = nullptr;  // the fields the next value goes to
  std::size_t pending_entry_ = 0;              // in a balances object: 1 + the entry the next value goes to
  bool top_object_ = false;

  // strings: views into the line when they are in it, else copies here (escaped strings); the arena
  // is reserved to the line's size, which bounds what it holds, so it never moves during a line
  std::string_view line_;
  bool stable_ = false;
  std::string arena_;
  std::string key_parts_;
  std::size_t string_start_ = 0;
  bool string_open_ = false;

  // the records, reused line after line
  exchange x_;
  hist_op h_;
  hist_sample s_;
  hist_scenario sc_;
  journal_event e_;
  std::deque<std::vector<balance_entry>> balance_lists_;  // a deque: a list stays put while others are added
  std::size_t balance_lists_used_ = 0;
  std::vector<balance_entry>* balances_ = nullptr;  // the balances object being read
  line_fields held_;  // read before the record's kind is known, or combined at the end
  // the second of the last time stamp parsed, in the proxy's format (see time_of)
  std::array<char, 19> second_{};
  std::int64_t second_us_ = 0;
  bool has_second_ = false;
  // method + target -> the profile's op, in a direct-mapped cache: targets repeat, and a miss
  // only costs a classification (an empty slot matches nothing: an exchange has a target)
  struct op_class {
    std::uint64_t hash = 0;
    std::string method, target;
    std::string f, path_id, path_agent;
    bool write = false, effect = false;
  };
  std::vector<op_class> classes_ = std::vector<op_class>(4096);
  op_class const& classify(std::string_view method, std::string_view target);

  void append(std::string_view s) { arena_.append(s); }
  std::string_view keep(std::string_view s) {
    if (stable_ || (s.data() >= line_.data() && s.data() + s.size() <= line_.data() + line_.size())) return s;
    auto at = arena_.size();
    arena_.append(s);
    return std::string_view(arena_).substr(at);
  }
  bool number(double d) {
    if (wanted()) take({vt::number, false, d});
    return true;
  }
  bool enter(vt t) {
    if (depth_ == 0 || wanted() || at_.lv == level::faults || at_.lv == level::upstream) return open(t);
    push({});  // a value no field reads: dropped with all it holds
    return true;
  }
  void push(frame f) {
    if (depth_ < outer_.size()) outer_[depth_] = at_;
    ++depth_;
    at_ = f;
  }
  bool open(vt t);
  bool key_slow(std::string_view k);
  void string_value(std::string_view s);
  bool leave() {
    if (--depth_ < outer_.size()) at_ = outer_[depth_];
    return true;
  }
  // The value of the key just read goes to the fields it names; returns where an object or array
  // value is read (skip when none of them looks inside).
  frame take(value_ref const& v) {
    if (pending_entry_) {
      (*balances_)[pending_entry_ - 1].value = v.num();
      pending_entry_ = 0;
      return {};
    }
    return take_found(std::exchange(pending_, nullptr), v);
  }
  frame take_found(key_table::entry const* e, value_ref const& v) {
    if (e->count == 1) return assign(e->fields[0], v);
    frame next;
    for (std::size_t i = 0; i < e->count; ++i)
      if (auto f = assign(e->fields[i], v); f.lv != level::skip) next = f;
    return next;
  }
  frame assign(field fd, value_ref const& v);
  frame assign_by_hand(field fd, value_ref const& v);
  std::string_view* string_member(field fd);
  opt_num* number_member(field fd);
  template <class M>
  M* member_of(field fd);
  // The record (or the part of it) each target of the description names; fixed_: null for a part
  // that moves (an answer, a fault), whose members line_shapes may not store to straight.
  exchange& in_x() { return x_; }
  hist_op& in_h() { return h_; }
  journal_event& in_e() { return e_; }
  line_fields& in_line() { return held_; }
  reply& in_r() { return *at_.r; }
  answer& in_a() { return *at_.a; }
  fault_applied& in_fault() { return x_.faults.back(); }
  exchange* fixed_x() { return &x_; }
  hist_op* fixed_h() { return &h_; }
  journal_event* fixed_e() { return &e_; }
  line_fields* fixed_line() { return &held_; }
  reply* fixed_r() { return nullptr; }
  answer* fixed_a() { return nullptr; }
  fault_applied* fixed_fault() { return nullptr; }
  std::vector<balance_entry>* new_balance_list();
  void reset_reply(reply& r) { r = reply{}; }
  void reset_exchange();
  std::int64_t time_of(std::string_view rfc3339);
  bool finish_exchange(record& out, std::string& err);
  bool finish_history(record& out, std::string& err);
  bool finish_event(record& out, std::string& err);
};

record_parser::reader::reader(context const& ctx) : ctx_(ctx) {
  auto const& p = ctx.profile.fields;
  auto add = [&](level lv, std::optional<std::string_view> key, field f) {
    if (key) keys_[static_cast<std::size_t>(lv)].add(*key, f);
  };
#define STORMGATE_FIELD_KEY(name, lv, key, how, target, member, src) \
  STORMGATE_IF_READ_##how(add(level::lv, key, field::name);)
  STORMGATE_RECORD_FIELDS(STORMGATE_FIELD_KEY)
#undef STORMGATE_FIELD_KEY
}

void record_parser::reader::start(log_kind kind, std::string_view line, bool stable) {
  line_ = line;
  stable_ = stable;
  arena_.clear();
  if (arena_.capacity() < line.size()) arena_.reserve(line.size());
  key_parts_.clear();
  string_open_ = false;
  depth_ = 0;
  at_ = {};
  pending_ = nullptr;
  pending_entry_ = 0;
  top_object_ = false;
  balance_lists_used_ = 0;
  balances_ = nullptr;
  held_ = line_fields{};
  switch (kind) {
    case log_kind::traffic: reset_exchange(); break;
    case log_kind::history: h_ = hist_op{}; break;
    case log_kind::journal:
      e_ = journal_event{};
      e_.correlation_null = true;  // absent counts as null
      e_.schema_missing = true;
      break;
  }
  top_ = kind == log_kind::traffic ? level::traffic : kind == log_kind::history ? level::history : level::journal;
}

void record_parser::reader::reset_exchange() {
  auto faults = std::move(x_.faults);
  auto upstream = std::move(x_.upstream);
  faults.clear();
  upstream.clear();
  x_ = exchange{};
  x_.faults = std::move(faults);
  x_.upstream = std::move(upstream);
}

bool record_parser::reader::open(vt t) {
  frame next;
  if (depth_ == 0) {
    top_object_ = t == vt::object;
    if (top_object_) next.lv = top_;
  } else if (at_.lv == level::faults || at_.lv == level::upstream) {
    // an array the gates read: each object in it is one fault / one answer
    if (t == vt::object && at_.lv == level::faults) {
      x_.faults.emplace_back();
      next.lv = level::fault;
    } else if (t == vt::object) {
      x_.upstream.emplace_back();
      next = {level::answer, &x_.upstream.back()};
    }
  } else {
    next = take({t});
  }
  push(next);
  return true;
}

// A key in parts (escaped), or a key of a balances object.
bool record_parser::reader::key_slow(std::string_view k) {
  if (!key_parts_.empty()) {
    key_parts_.append(k);
    k = key_parts_;
  }
  if (at_.lv == level::balances) {
    // a JSON object keeps the first position of a duplicate key and its last value
    auto agent = keep(k);
    std::size_t i = 0;
    while (i < balances_->size() && (*balances_)[i].agent != agent) ++i;
    if (i == balances_->size()) balances_->push_back({agent, std::nullopt});
    pending_entry_ = i + 1;
  } else {
    pending_ = keys_[static_cast<std::size_t>(at_.lv)].find(k);
  }
  key_parts_.clear();
  return true;
}

void record_parser::reader::string_value(std::string_view s) {
  std::string_view v;
  if (string_open_) {
    append(s);
    v = std::string_view(arena_).substr(string_start_);
    string_open_ = false;
  } else {
    v = keep(s);
  }
  take({vt::string, false, 0, v});
}

std::vector<balance_entry>* record_parser::reader::new_balance_list() {
  if (balance_lists_used_ == balance_lists_.size()) balance_lists_.emplace_back();
  auto& l = balance_lists_[balance_lists_used_++];
  l.clear();
  return &l;
}

// Each case sets its field from the value alone, whatever it held before: a duplicate key's last
// value wins, as in a DOM. The stores are the description's (detail/records.hpp); every other field
// is read here by hand, by name (the switch names every field: -Wswitch tells one left out).
#define STORMGATE_ASSIGN_store(name, target, member) \
  case field::name: set(in_##target().member, v); return next;
#define STORMGATE_ASSIGN_store_or_null(name, target, member) \
  case field::name: {                                        \
    auto& t = in_##target();                                 \
    set(t.member, v);                                        \
    t.member##_null = v.is_null();                           \
    return next;                                             \
  }
#define STORMGATE_ASSIGN_string(name, target, member)
#define STORMGATE_ASSIGN_number(name, target, member)
#define STORMGATE_ASSIGN_boolean(name, target, member)
#define STORMGATE_ASSIGN_object(name, target, member)
#define STORMGATE_ASSIGN_array(name, target, member)
#define STORMGATE_ASSIGN_skip(name, target, member)
#define STORMGATE_FIELD_ASSIGN(name, lv, key, how, target, member, src) STORMGATE_ASSIGN_##how(name, target, member)

record_parser::reader::frame record_parser::reader::assign(field fd, value_ref const& v) {
  frame next;
  auto& x = x_;
  auto const& at = at_;
  switch (fd) {
    STORMGATE_RECORD_FIELDS(STORMGATE_FIELD_ASSIGN)
    // traffic record
    case field::req:
      x.op_key = x.idem_key = x.agent_id = {};
      x.amount.reset();
      if (v.is_object()) next.lv = level::req;
      break;
    case field::faults:
      x.faults.clear();
      if (v.is_array()) next.lv = level::faults;
      break;
    case field::upstream:
      x.upstream.clear();
      if (v.is_array()) next.lv = level::upstream;
      break;
    // exchange.req
    case field::req_headers:
      x.op_key = x.idem_key = {};
      if (v.is_object()) next.lv = level::req_headers;
      break;
    case field::req_body:
      x.agent_id = {};
      x.amount.reset();
      if (v.is_object()) next.lv = level::req_body;
      break;
    // exchange.faults[]: the one being read is the last
    case field::fault_applied: x.faults.back().applied = v.boolean().value_or(true); break;
    // an answer
    case field::answer_status: at.a->status = v.num() ? static_cast<int>(*v.num()) : 0; break;
    case field::answer_body:
      if (at.a->has_body) reset_reply(*at.a);  // else its reply holds nothing yet
      at.a->has_body = v.is_object();
      if (v.is_object()) next = {level::reply, at.a, at.a};
      break;
    case field::answer_headers:
      at.a->replayed = false;
      if (v.is_object()) next = {level::answer_headers, at.a};
      break;
    case field::replayed: {
      auto r = v.str();
      at.a->replayed = r == "true" || r == "True" || r == "1";
      break;
    }
    // an answer's body, a history op's value
    case field::reply_event_id:
    case field::value_event_id:
      at.r->event_id = v.str();
      at.r->event_hash = at.r->event_id.empty() ? 0 : h64(at.r->event_id);
      break;
    case field::reply_balances:
    case field::value_balances:
      at.r->balances = nullptr;
      if (v.is_object()) {
        at.r->balances = balances_ = new_balance_list();
        next = {level::balances, at.a, at.r};
      }
      break;
    case field::reply_metadata:
    case field::value_metadata:
      at.r->ci.reset();
      at.r->karma = {};
      at.r->anomaly_detected.reset();
      if (v.is_object()) next = {level::metadata, at.a, at.r};
      break;
    // history record
    case field::value:
      reset_reply(h_);
      h_.agent_id = {};
      h_.amount.reset();
      held_.rss.reset();
      held_.pid.reset();
      held_.sample_process = {};
      if (v.is_object()) next = {level::value, nullptr, &h_};
      break;
    // journal event
    case field::correlation_id:
      e_.correlation_id = v.str();
      e_.correlation_null = v.is_null();
      break;
    case field::causation_id:
      e_.causation_id = v.str();
      e_.causation_present = !v.is_null();
      break;
    case field::schema_version:
      e_.schema_version.reset();
      if (auto n = v.num()) e_.schema_version = static_cast<std::int64_t>(*n);
      e_.schema_missing = !v.num();
      break;
    case field::payload:
      held_.entity_id = held_.payload_agent = held_.request_id = held_.payload_approval = {};
      held_.payload_amount.reset();
      held_.payload_awarded.reset();
      e_.balance_after.reset();
      e_.balance_after_null = false;
      e_.reason = {};
      e_.capped.reset();
      if (v.is_object()) next.lv = level::payload;
      break;
  }
  return next;
}

#undef STORMGATE_FIELD_ASSIGN
#undef STORMGATE_ASSIGN_store
#undef STORMGATE_ASSIGN_store_or_null
#undef STORMGATE_ASSIGN_string
#undef STORMGATE_ASSIGN_number
#undef STORMGATE_ASSIGN_boolean
#undef STORMGATE_ASSIGN_object
#undef STORMGATE_ASSIGN_array
#undef STORMGATE_ASSIGN_skip

// Where a field whose value is only stored goes, as an M (string or number), when it is a member
// of the record being read, not of a part that moves: line_shapes stores it there straight.
#define STORMGATE_MEMBER_store(name, target, member) \
  case field::name: return member_as<M>(fixed_##target(), &fill::target::member);
#define STORMGATE_MEMBER_store_or_null(name, target, member)
#define STORMGATE_MEMBER_string(name, target, member)
#define STORMGATE_MEMBER_number(name, target, member)
#define STORMGATE_MEMBER_boolean(name, target, member)
#define STORMGATE_MEMBER_object(name, target, member)
#define STORMGATE_MEMBER_array(name, target, member)
#define STORMGATE_MEMBER_skip(name, target, member)
#define STORMGATE_FIELD_MEMBER(name, lv, key, how, target, member, src) STORMGATE_MEMBER_##how(name, target, member)

template <class M>
M* record_parser::reader::member_of(field fd) {
  switch (fd) {
    STORMGATE_RECORD_FIELDS(STORMGATE_FIELD_MEMBER)
    default: return nullptr;
  }
}

#undef STORMGATE_FIELD_MEMBER
#undef STORMGATE_MEMBER_store
#undef STORMGATE_MEMBER_store_or_null
#undef STORMGATE_MEMBER_string
#undef STORMGATE_MEMBER_number
#undef STORMGATE_MEMBER_boolean
#undef STORMGATE_MEMBER_object
#undef STORMGATE_MEMBER_array
#undef STORMGATE_MEMBER_skip

std::string_view* record_parser::reader::string_member(field fd) { return member_of<std::string_view>(fd); }
opt_num* record_parser::reader::number_member(field fd) { return member_of<opt_num>(fd); }

bool record_parser::reader::finish(log_kind kind, record& out, std::string& err) {
  switch (kind) {
    case log_kind::traffic:
      if (held_.kind == "exchange") return finish_exchange(out, err);
      if (held_.kind == "control") {
        out.kind = record_kind::control;
        return true;
      }
      if (held_.kind == "run") {
        out.kind = record_kind::traffic_run;
        return true;
      }
      if (held_.kind.empty()) {
        err = "record without kind";
        return false;
      }
      out.kind = record_kind::ignored;
      out.ignored_type = held_.kind;
      return true;
    case log_kind::history: return finish_history(out, err);
    case log_kind::journal: return finish_event(out, err);
  }
  return false;
}

// The proxy and the load client write "YYYY-MM-DDTHH:MM:SS.ffffffZ", and the records of one second
// share all but the fraction: that part is parsed (core::parse_rfc3339_us) once per second, and a
// time stamp of the same second is that second plus its six fraction digits.
std::int64_t record_parser::reader::time_of(std::string_view rfc3339) {
  auto const& s = rfc3339;
  bool usual = s.size() == 27 && s[19] == '.' && s[26] == 'Z';
  std::int64_t frac = 0;
  for (std::size_t i = 20; usual && i < 26; ++i) {
    usual = s[i] >= '0' && s[i] <= '9';
    frac = frac * 10 + (s[i] - '0');
  }
  if (usual && has_second_ && std::memcmp(s.data(), second_.data(), second_.size()) == 0) return second_us_ + frac;
  auto t = core::parse_rfc3339_us(s);
  if (!t) return 0;
  if (usual) {
    std::memcpy(second_.data(), s.data(), second_.size());
    second_us_ = *t - frac;
    has_second_ = true;
  }
  return *t;
}

record_parser::reader::op_class const& record_parser::reader::classify(std::string_view method, std::string_view target) {
  // the method is one of a few short words: its length and first two letters tell them apart
  std::uint64_t m = method.size() | (method.empty() ? 0 : static_cast<unsigned char>(method[0])) << 8 |
                    (method.size() < 2 ? 0 : static_cast<unsigned char>(method[1])) << 16;
  auto h = h64(target) ^ m * 0x9E3779B97F4A7C15ull;
  auto& c = classes_[h & (classes_.size() - 1)];
  if (c.hash == h && c.target == target && c.method == method) return c;
  c.hash = h;
  c.method = method;
  c.target = target;
  c.f.clear();
  c.path_id.clear();
  c.path_agent.clear();
  c.write = c.effect = false;
  if (auto m = config::classify(ctx_.profile, method, target)) {
    c.f = m->op;
    c.write = is_write(c.f);
    c.effect = is_effect_op(c.f);
    if (auto pi = m->params.find("id"); pi != m->params.end()) c.path_id = pi->second;
    if (auto pa = m->params.find("agent_id"); pa != m->params.end()) c.path_agent = pa->second;
  }
  return c;
}

bool record_parser::reader::finish_exchange(record& out, std::string& err) {
  auto& x = x_;
  x.ts_us = time_of(held_.ts);
  x.ts_end_us = time_of(held_.ts_end);
  if (!x.ts_end_us) x.ts_end_us = x.ts_us;
  x.latency_us = held_.latency ? static_cast<std::int64_t>(*held_.latency) : -1;
  if (x.method.empty() || x.target.empty()) {
    err = "exchange without method or target";
    return false;
  }
  if (x.op_key.empty()) x.op_key = x.idem_key;
  if (!x.op_key.empty()) x.op_hash = h64(x.op_key);
  auto const& c = classify(x.method, x.target);
  x.f = c.f;
  x.write = c.write;
  x.effect = c.effect;
  x.path_id = c.path_id;
  x.path_agent = c.path_agent;
  if (x.agent_id.empty() && !x.path_agent.empty()) x.agent_id = x.path_agent;
  out.kind = record_kind::exchange;
  out.x = &x;
  return true;
}

bool record_parser::reader::finish_history(record& out, std::string& err) {
  auto type = h_.type;
  if (is_op_type(type)) {
    h_.ts_us = time_of(held_.ts);
    if (held_.latency) h_.latency_us = static_cast<std::int64_t>(*held_.latency);
    if (held_.status) h_.status = static_cast<int>(*held_.status);
    if (held_.attempt) h_.attempt = static_cast<int>(*held_.attempt);
    if (h_.op.empty()) {
      err = "op record without op";
      return false;
    }
    out.kind = record_kind::op;
    out.h = &h_;
    return true;
  }
  if (type == "sample") {
    s_ = hist_sample{time_of(held_.ts), held_.rss, h_.scenario,
                     held_.sample_process.empty() ? std::string_view("backend") : held_.sample_process,
                     held_.pid ? static_cast<std::int64_t>(*held_.pid) : 0};
    out.kind = record_kind::sample;
    out.s = &s_;
    return true;
  }
  if (type == "run") {
    out.kind = record_kind::run;
    return true;
  }
  if (type == "scenario") {
    sc_ = hist_scenario{held_.action, h_.scenario, held_.reason, time_of(held_.ts)};
    out.kind = record_kind::scenario;
    out.sc = &sc_;
    return true;
  }
  if (type.empty()) {
    err = "history record without type";
    return false;
  }
  out.kind = type == "stats" ? record_kind::summary : record_kind::ignored;
  if (out.kind == record_kind::ignored) out.ignored_type = type;
  return true;
}

bool record_parser::reader::finish_event(record& out, std::string& err) {
  auto& e = e_;
  if (e.event_type.empty()) {
    err = "journal event without event_type";
    return false;
  }
  e.ts_us = time_of(held_.ts);
  e.entity_id = held_.entity_id.empty() ? held_.payload_agent : held_.entity_id;
  e.amount = held_.payload_amount ? held_.payload_amount : held_.payload_awarded;
  e.request_id = held_.request_id.empty() ? held_.payload_approval : held_.request_id;
  out.kind = record_kind::event;
  out.e = &e;
  return true;
}

namespace {

// Feeds a parsed value to the reader token by token, as the streaming parser would.
template <class Handler>
void replay(json::value const& v, Handler& h) {
  json::error_code ec;
  switch (v.kind()) {
    case json::kind::object:
      h.on_object_begin(ec);
      for (auto const& kv : v.get_object()) {
        h.on_key(kv.key(), kv.key().size(), ec);
        replay(kv.value(), h);
      }
      h.on_object_end(v.get_object().size(), ec);
      break;
    case json::kind::array:
      h.on_array_begin(ec);
      for (auto const& e : v.get_array()) replay(e, h);
      h.on_array_end(v.get_array().size(), ec);
      break;
    case json::kind::string: h.on_string(v.get_string(), v.get_string().size(), ec); break;
    case json::kind::int64: h.on_int64(v.get_int64(), {}, ec); break;
    case json::kind::uint64: h.on_uint64(v.get_uint64(), {}, ec); break;
    case json::kind::double_: h.on_double(v.get_double(), {}, ec); break;
    case json::kind::bool_: h.on_bool(v.get_bool(), ec); break;
    case json::kind::null: h.on_null(ec); break;
  }
}

}  // namespace

// ---- record_parser ---------------------------------------------------------------------------

namespace {
json::parse_options log_options() {
  json::parse_options o;
  o.max_depth = core::log_max_depth;
  return o;
}
}  // namespace

record_parser::record_parser(context const& ctx, bool learn_shapes)
    : stream_(std::make_unique<json::basic_parser<reader>>(log_options(), ctx)), learn_shapes_(learn_shapes) {}

record_parser::~record_parser() = default;

// Streams `line` into the reader; a line that is not strict JSON is read from a lenient DOM instead.
bool record_parser::read_document(log_kind kind, std::string_view line, std::string& err) {
  auto& rd = stream_->handler();
  auto begin = [&] { rd.start(kind, line, false); };
  auto* shapes = learn_shapes_ ? &shapes_[static_cast<std::size_t>(kind)] : nullptr;
  if (shapes && shapes->read(line, rd, begin)) return true;
  begin();
  json::error_code ec;
  stream_->reset();
  auto n = stream_->write_some(false, line.data(), line.size(), ec);
  if (!ec && n < line.size()) ec = json::error::extra_data;  // as json::parser::write
  if (!ec) {
    if (shapes && !shapes->learn(line, rd, begin)) {
      // the reader was fed the shape's tokens, not the line's: the line is read again
      begin();
      stream_->reset();
      stream_->write_some(false, line.data(), line.size(), ec);
    }
    return true;
  }
  // Python writes NaN/Infinity into journals; our own logs may carry them only when a peer sent them.
  std::string lenient_err;
  auto v = core::parse_json_lenient(line, lenient_err, core::log_max_depth);
  if (!v) {
    err = "not valid JSON (" + ec.message() + ")";
    return false;
  }
  doc_.emplace(std::move(*v));
  rd.start(kind, line, true);
  replay(*doc_, rd);
  return true;
}

bool record_parser::parse(log_kind kind, std::string_view line, source src, record& out, std::string& err) {
  doc_.reset();
  if (!read_document(kind, line, err)) return false;
  auto& rd = stream_->handler();
  if (!rd.top_is_object()) {
    err = "a record must be a JSON object";
    return false;
  }
  out = record{};
  out.src = src;
  if (!rd.finish(kind, out, err)) return false;
  if (out.kind != record_kind::control && out.kind != record_kind::traffic_run && out.kind != record_kind::run) return true;
  // read whole: a run record's settings go to the report, a control record's fault is any fault JSON
  if (!doc_) doc_ = core::parse_json(line, err, core::log_max_depth);
  if (!doc_) return false;
  if (out.kind == record_kind::control) {
    out.c = &c_;
    return read_control(doc_->get_object(), c_, err);
  }
  read_run(*doc_, kind, run_);
  out.run = &run_;
  return true;
}

}  // namespace stormgate::checks::detail
