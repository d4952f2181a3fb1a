// Inside the checker: the small record structs one line becomes, the reader, and the gate folds.
// Records hold views into the line (or the parser's copies of its escaped strings): valid only
// during one step().
#pragma once
#include "checks/checks.hpp"
#include "checks/detail/line_shapes.hpp"
#include "config/config.hpp"
#include "core/jsonl.hpp"
#include "core/latency_histogram.hpp"

#include <boost/json.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stormgate::checks::detail {

using opt_num = std::optional<double>;

struct source {
  std::string const* file = nullptr;  // stable: owned by the reader's file list
  std::uint64_t line = 0;
};

// ---- records ---------------------------------------------------------------------------

// One entry of a `balances` answer ({agent: balance}); `value` is empty when it is not a number.
struct balance_entry {
  std::string_view agent;
  opt_num value;
};

// What an upstream answer's body says, or a history op's value.
struct reply {
  std::string_view event_id, karma, detail, state_digest, approval_id;
  std::uint64_t event_hash = 0;  // h64(event_id), hashed once for every gate that compares them
  opt_num balance_after, balance, awarded, requested, synergy_total, ci;
  bool balance_after_null = false, balance_null = false;
  std::optional<bool> anomaly_detected, capped;
  std::vector<balance_entry> const* balances = nullptr;  // a balances read, in the answer's key order
};

// An answer: one upstream attempt.
struct answer : reply {
  int status = 0;  // 0: no answer (reset, timeout, hang)
  bool has_body = false;
  bool replayed = false;  // Idempotent-Replayed: true
  std::string_view error;
};

struct fault_applied {
  std::string_view kind, path;
  opt_num value;
  bool applied = true;
};

struct exchange {
  std::string_view id, route, method, target, op_key, idem_key, outcome;
  std::uint64_t op_hash = 0;  // h64(op_key): the key of the gates' per-op state
  std::int64_t ts_us = 0, ts_end_us = 0, latency_us = -1;
  std::string_view f;         // the profile's op name ("consume", …), empty when unknown
  bool write = false, effect = false;  // is_write(f), is_effect_op(f): the reader tells them once per op class
  std::string_view path_id, path_agent;  // views into the classification cache
  std::string_view agent_id;
  opt_num amount;
  std::vector<fault_applied> faults;
  std::vector<answer> upstream;
};

struct control {
  std::int64_t ts_us = 0;
  std::string_view action, name, route, action_kind;  // action_kind: blackout / drop_response / delay / …
  bool total = true;  // no match and probability 1: every request of the route
  opt_num after_s, for_s;
  boost::json::array const* cleared = nullptr;
};

struct run_marker {  // traffic `run` or history `run`
  std::string_view action, mode, target, shard;
  std::int64_t ts_us = 0;
  opt_num planned_duration_s, duration_s, elapsed_s, concurrency, seed, rate, ops;
  bool interrupted = false;
  boost::json::value const* raw = nullptr;
};

struct hist_op : reply {
  std::string_view type, op, scenario, f, error;
  std::string_view cause;  // why it did not end ok (core/causes.hpp); empty for ok and for older histories
  std::int64_t ts_us = 0, latency_us = -1;
  int status = 0;
  int attempt = 1;
  std::string_view agent_id;
  opt_num amount;
};

struct hist_sample {
  std::int64_t ts_us = 0;
  opt_num rss_bytes;
  std::string_view scenario;
  std::string_view process = "backend";  // value.process; a sample without one is the backend's
  std::int64_t pid = 0;                  // value.pid; 0 = not known (sampled through the metrics op)
};

struct hist_scenario {
  std::string_view action, scenario, reason;
  std::int64_t ts_us = 0;
};

struct journal_event {
  std::string_view event_id, event_type, idem_key, correlation_id, causation_id, reason;
  bool correlation_null = false, causation_present = false;
  std::int64_t ts_us = 0;
  std::optional<std::int64_t> schema_version;
  bool schema_missing = false;
  std::string_view entity_id, request_id;
  opt_num amount, balance_after;
  bool balance_after_null = false;
  std::optional<bool> capped;
};

// summary: a documented record the checker does not need (the load's `stats`: latencies are computed
// from the ops themselves); ignored: a type this checker does not know, noted in the report.
enum class record_kind { exchange, control, traffic_run, op, sample, run, scenario, event, summary, ignored };

struct record {
  record_kind kind;
  source src;
  exchange const* x = nullptr;
  control const* c = nullptr;
  run_marker const* run = nullptr;
  hist_op const* h = nullptr;
  hist_sample const* s = nullptr;
  hist_scenario const* sc = nullptr;
  journal_event const* e = nullptr;
  std::string_view ignored_type;  // kind ignored: a record type this checker does not read (e.g. history `stats`)
};

// ---- helpers shared by the gates -------------------------------------------------------

struct evidence {
  std::vector<violation> list;
  std::uint64_t total = 0;
  void add(std::string_view op, source const& src, std::string why) {
    ++total;
    if (list.size() < violation_cap) list.push_back({std::string(op), src.file ? *src.file : std::string(), src.line, std::move(why)});
  }
};

// A gate's evidence from its lists, in the order given: every list's total counts, and the
// violations are kept, oldest list first, up to violation_cap. The lists are moved from.
inline void merge_evidence(gate_result& g, std::initializer_list<evidence*> lists) {
  for (auto* ev : lists) {
    g.total_violations += ev->total;
    for (auto& v : ev->list)
      if (g.violations.size() < violation_cap) g.violations.push_back(std::move(v));
  }
}

// Latencies: the one histogram of core/ (within 1/64, O(1) memory). The gates, scenarios and charts
// report a quantile as an upper bound: the top of the bucket holding it, in milliseconds.
using core::latency_histogram;
inline double quantile_ms(latency_histogram const& h, double q) { return static_cast<double>(h.percentile_upper(q)) / 1000.0; }

// Time-sliced histograms for the charts; slices double in width to stay under a cap.
class timeline {
 public:
  void add(std::int64_t ts_us, std::int64_t latency_us);
  void fill(series& out, std::int64_t origin_us) const;
  static constexpr std::int64_t max_slices = 240;
 private:
  std::int64_t start_us_ = -1;
  std::int64_t width_us_ = 1'000'000;
  std::vector<latency_histogram> slices_;
};

// A map from strings, looked up by string_view without a copy. Its order is the hash's: iterate
// it through `sorted` wherever the order shows in the output.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

// The value for `key`, default-constructed when new.
template <class V>
V& value_for(string_map<V>& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(std::string(key), V{}).first;
  return it->second;
}

// The entries of a map in key order.
template <class Map>
auto sorted(Map& m) {
  std::vector<decltype(&*m.begin())> v;
  v.reserve(m.size());
  for (auto& kv : m) v.push_back(&kv);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return v;
}

// Memory for the large op tables on transparent huge pages, where the system gives them on request:
// the tables are read at random, and with 4 KB pages nearly every probe also misses the TLB.
void* allocate_huge(std::size_t bytes);  // `bytes` rounded up to whole huge pages
void free_huge(void* p);
template <class T>
struct huge_page_allocator {
  using value_type = T;
  static constexpr std::size_t huge = std::size_t{2} << 20;
  huge_page_allocator() = default;
  template <class U>
  huge_page_allocator(huge_page_allocator<U> const&) {}
  T* allocate(std::size_t n) {
    if (n * sizeof(T) < huge) return std::allocator<T>{}.allocate(n);
    return static_cast<T*>(allocate_huge(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) < huge) std::allocator<T>{}.deallocate(p, n);
    else free_huge(p);
  }
  friend bool operator==(huge_page_allocator const&, huge_page_allocator const&) { return true; }
};

// Per-op state keyed by a 64-bit hash of the op id: open addressing with linear probing and
// backward-shift deletion, so that a lookup is one cache miss and eviction leaves no tombstones.
template <class V>
class op_table {
 public:
  op_table() : slots_(1024) {}
  V& get(std::uint64_t key, bool& fresh) {
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();
    auto i = home(key);
    while (slots_[i].used) {
      if (slots_[i].key == key) {
        fresh = false;
        return slots_[i].value;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i].used = true;
    slots_[i].key = key;
    slots_[i].value = V{};
    ++size_;
    fresh = true;
    return slots_[i].value;
  }
  V* find(std::uint64_t key) {
    auto i = home(key);
    while (slots_[i].used) {
      if (slots_[i].key == key) return &slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    return nullptr;
  }
  void erase(std::uint64_t key) {
    auto mask = slots_.size() - 1;
    auto i = home(key);
    while (slots_[i].used && slots_[i].key != key) i = (i + 1) & mask;
    if (!slots_[i].used) return;
    auto j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (!slots_[j].used) break;
      auto k = home(slots_[j].key);
      bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
    slots_[i].used = false;
    slots_[i].value = V{};
    --size_;
  }
  // Starts loading the lines of `slots` slots from the key's home: what a probe (or an erase's
  // shift) is likely to read. Inlined where it is used: GCC takes an out-of-line function holding
  // only prefetches for a pure one, and drops the calls.
  [[gnu::always_inline]] void prefetch(std::uint64_t key, std::size_t slots = 2) const {
    auto i = home(key);
    auto first = reinterpret_cast<std::uintptr_t>(&slots_[i]) & ~std::uintptr_t{63};
    auto last = reinterpret_cast<std::uintptr_t>(&slots_[std::min(i + slots, slots_.size()) - 1]) + sizeof(slot) - 1;
    for (auto line = first; line <= last; line += 64) __builtin_prefetch(reinterpret_cast<void const*>(line));
  }
  std::size_t size() const { return size_; }

 private:
  struct slot {
    std::uint64_t key = 0;
    bool used = false;
    V value{};
  };
  std::vector<slot, huge_page_allocator<slot>> slots_;
  std::size_t size_ = 0;
  std::size_t home(std::uint64_t key) const { return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & (slots_.size() - 1); }
  void grow() {
    std::vector<slot, huge_page_allocator<slot>> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (auto& s : old)
      if (s.used) {
        bool fresh;
        get(s.key, fresh) = std::move(s.value);
      }
  }
};

// The state of the ops seen in the last minute of log time (a retry of an op comes within a
// minute), in an op_table: ops are dropped in the order they came, once a minute has passed since
// their last exchange. `queued()` ops wait in that order; the caller decides when to evict.
template <class V>
class op_window {
 public:
  static constexpr std::int64_t window_us = 60'000'000;

  // The op's state, new (`fresh`) when it was not kept; its exchange ended at `ts_end_us`.
  V& touch(std::uint64_t key, std::int64_t ts_end_us, bool& fresh) {
    max_ts_ = std::max(max_ts_, ts_end_us);
    auto& e = ops_.get(key, fresh);
    e.last_us = ts_end_us;
    if (fresh) order_.emplace_back(ts_end_us, key);
    return e.state;
  }
  // Drops the queued ops whose minute has passed (every queued op when `all`), oldest first, each
  // after `drop(state)`. An op seen again within its minute stays, and waits again in the queue
  // from its last exchange on.
  template <class F>
  void evict(bool all, F&& drop) {
    auto cutoff = max_ts_ - window_us;
    while (!order_.empty() && (all || order_.front().first < cutoff)) {
      auto key = order_.front().second;
      if (auto* e = ops_.find(key)) {
        if (all || e->last_us < cutoff) {
          drop(e->state);
          ops_.erase(key);
        } else {
          order_.emplace_back(e->last_us, key);
        }
      }
      order_.pop_front();
      if (prefetched_) --prefetched_;
    }
  }
  std::size_t queued() const { return order_.size(); }
  // Starts loading the state of `key` (the next record's op), and that of the ops evicted next: the
  // first `evict_ahead` queued, each once. Both are cache misses otherwise, the table being large.
  // A few per call: an eviction may drop many ops at once, and a burst of prefetches stalls. The
  // queue's own entries were written a minute of log time ago: they are loaded ahead too.
  void prefetch(std::uint64_t key) {
    ops_.prefetch(key);
    for (int n = 0; n < 2 && prefetched_ < order_.size() && prefetched_ < evict_ahead; ++n, ++prefetched_) {
      ops_.prefetch(order_[prefetched_].second, 4);
      if (prefetched_ + evict_ahead < order_.size()) __builtin_prefetch(&order_[prefetched_ + evict_ahead]);
    }
  }

 private:
  struct entry {
    std::int64_t last_us = 0;
    V state{};
  };
  static constexpr std::size_t evict_ahead = 32;  // more than one eviction drops at once
  op_table<entry> ops_;
  std::deque<std::pair<std::int64_t, std::uint64_t>> order_;  // (ts_end when queued, op)
  std::int64_t max_ts_ = 0;
  std::size_t prefetched_ = 0;  // the first queued ops already prefetched
};

// What the gates that follow logical ops keep per op. Gates A and B read the same op on the same
// exchange, so its state lives in one op_window for both: one cache miss per record, not one per
// gate. Each gate reads and writes only its own part.
struct pending_unknown {  // an attempt of unknown outcome: its effect on an agent, if it took one
  std::string agent;
  double delta;
};
struct op_facts {
  struct effects_seen {  // gate A: the op's applied effects
    std::uint64_t first_effect = 0;  // hash of the first applied effect's event_id
    std::uint32_t effects = 0;
    bool reported = false;
  } a;
  struct balance_effect {  // gate B: the op's confirmed effect, and its attempts of unknown outcome
    std::uint64_t first_effect = 0;
    bool confirmed = false;
    std::unique_ptr<std::vector<pending_unknown>> unknown;  // rare: kept out of the op table's slots
  } b;
};
using op_book = op_window<op_facts>;

std::string fmt_num(double v, int prec = 2);
inline std::uint64_t h64(std::string_view s) { return std::hash<std::string_view>{}(s); }
inline bool is_write(std::string_view f) {
  return f == "create" || f == "add" || f == "consume" || f == "refund" || f == "synergy";
}
// An op that takes effect on the target: a write, or an approval's request or decision. These are
// the ops of the op book (gate B reads the writes among them).
inline bool is_effect_op(std::string_view f) {
  return is_write(f) || f == "request_approval" || f == "approve" || f == "deny";
}
inline bool ok2xx(int s) { return s >= 200 && s < 300; }
// "s1of2-credit_storm-000123" / "credit_storm-000123" -> "credit_storm"
std::string_view scenario_of_op(std::string_view op);
// Insufficient-credit answers (BRAiN: 400 "Insufficient credits: …") are the ledger saying no, not a block.
bool is_insufficient(answer const& a);

// What every gate may look at besides the records.
struct context {
  config::target_profile profile;
  bool has_journal = false;
  bool has_history = false;
  bool has_event_id() const { return !profile.fields.event_id.empty(); }
  bool has_idempotency() const { return !profile.idempotency_header.empty(); }
  double synergy_cap = 500.0;
};

// ---- gate folds --------------------------------------------------------------------------

struct gate_fold {
  virtual ~gate_fold() = default;
  virtual void step(record const& r) = 0;
  // An op leaves the shared op_book: a minute has passed since its last exchange, or the logs ended.
  virtual void retire(op_facts&) {}
  virtual gate_result finish() = 0;
};

std::unique_ptr<gate_fold> make_gate_a(context const& ctx, op_book& ops);
std::unique_ptr<gate_fold> make_gate_b(context const& ctx, op_book& ops);
std::unique_ptr<gate_fold> make_gate_c(context const& ctx);
std::unique_ptr<gate_fold> make_gate_d(context const& ctx, series* charts);
std::unique_ptr<gate_fold> make_gate_e(context const& ctx, series* charts);

// Scenario results: a fold over the history, finished with the gates' results.
struct scenario_fold {
  virtual ~scenario_fold() = default;
  virtual void step(record const& r) = 0;
  virtual std::vector<scenario_result> finish(std::map<std::string, gate_result> const& gates) = 0;
};
std::unique_ptr<scenario_fold> make_scenarios(context const& ctx, std::vector<scenario_entry> const& entries);

// Status of a gate from its sub-checks: FAIL if any, else WARN if any, else PASS if one passed, else SKIP.
status merge_checks(std::vector<sub_check> const& checks);

// The verdict (SPEC §5): fills overall_status, recommendation, verdict_reasons. GO needs each of the
// `scenarios` judged to PASS.
void decide(check_report& r, std::size_t scenarios);

// ---- reading ----------------------------------------------------------------------------

enum class log_kind { traffic, history, journal };

// Parses one line of a log into `out`; false + `err` when the line is not a valid record.
class record_parser {
 public:
  // `learn_shapes`: lines of a shape seen before are read from it (line_shapes); off, every line
  // goes through Boost.JSON's streaming parser (the tests compare the two).
  explicit record_parser(context const& ctx, bool learn_shapes = true);
  ~record_parser();
  bool parse(log_kind kind, std::string_view line, source src, record& out, std::string& err);
  std::uint64_t shape_hits() const { return shapes_[0].hits() + shapes_[1].hits() + shapes_[2].hits(); }
  std::uint64_t shape_skips() const { return shapes_[0].skips() + shapes_[1].skips() + shapes_[2].skips(); }
 private:
  class reader;  // the streaming parser's handler: keeps the fields the gates read
  std::unique_ptr<boost::json::basic_parser<reader>> stream_;
  std::array<line_shapes, 3> shapes_;  // by log_kind
  bool learn_shapes_ = true;
  std::optional<boost::json::value> doc_;  // control and run records, and lines only read leniently
  control c_;
  run_marker run_;
  bool read_document(log_kind kind, std::string_view line, std::string& err);
};

}  // namespace stormgate::checks::detail
