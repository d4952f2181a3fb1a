// Inside the checker: the small record structs one line becomes, the reader, and the gate folds.
// Records hold views into the line's parsed JSON: valid only during one step().
#pragma once
#include "checks/checks.hpp"
#include "config/config.hpp"
#include "core/jsonl.hpp"

#include <boost/json.hpp>
#include <array>
#include <cmath>
#include <cstdint>
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

// An answer: one upstream attempt, or what the client got.
struct answer {
  int status = 0;  // 0: no answer (reset, timeout, hang)
  bool has_body = false;
  bool replayed = false;  // Idempotent-Replayed: true
  std::string_view error, event_id, karma, detail, state_digest, approval_id, status_text;
  opt_num balance_after, balance, awarded, requested, synergy_total, ci;
  bool balance_after_null = false, balance_null = false;
  std::optional<bool> anomaly_detected, capped;
  boost::json::object const* balances = nullptr;  // {agent: balance} of a balances read
};

struct fault_applied {
  std::string_view kind, rule, path;
  opt_num original, value;
  bool applied = true;
};

struct exchange {
  std::string_view id, route, method, target, op_key, idem_key, correlation, causation, outcome;
  std::int64_t ts_us = 0, ts_end_us = 0, latency_us = -1;
  std::string_view f;         // the profile's op name ("consume", …), empty when unknown
  std::string_view path_id, path_agent;  // views into the classification cache
  std::string_view agent_id, team_id;
  opt_num amount;
  std::vector<fault_applied> faults;
  std::vector<answer> upstream;
  answer resp;
  bool has_resp = false;
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

struct hist_op {
  std::string_view type, op, scenario, f, error;
  std::int64_t ts_us = 0, latency_us = -1;
  int status = 0;
  int attempt = 1;
  std::string_view agent_id, event_id, approval_id, status_text, state_digest, karma, detail;
  opt_num amount, balance_after, balance, awarded, requested, synergy_total, ci;
  bool balance_after_null = false, balance_null = false;
  std::optional<bool> capped, anomaly_detected;
  boost::json::object const* balances = nullptr;
};

struct hist_sample {
  std::int64_t ts_us = 0;
  opt_num rss_bytes;
  std::string_view scenario;
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

// Latency histogram: 16 sub-buckets per power of two over microseconds, O(1) memory.
class histogram {
 public:
  void add(std::int64_t us);
  void merge(histogram const& o);
  std::uint64_t count() const { return n_; }
  double quantile_ms(double q) const;
 private:
  static constexpr int sub = 16;
  std::array<std::uint32_t, 40 * sub> b_{};
  std::uint64_t n_ = 0;
};

// Time-sliced histograms for the charts; slices double in width to stay under a cap.
class timeline {
 public:
  void add(std::int64_t ts_us, std::int64_t latency_us);
  void fill(series& out, std::int64_t origin_us) const;
 private:
  std::int64_t start_us_ = -1;
  std::int64_t width_us_ = 1'000'000;
  std::vector<histogram> slices_;
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
  std::size_t size() const { return size_; }

 private:
  struct slot {
    std::uint64_t key = 0;
    bool used = false;
    V value{};
  };
  std::vector<slot> slots_;
  std::size_t size_ = 0;
  std::size_t home(std::uint64_t key) const { return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & (slots_.size() - 1); }
  void grow() {
    std::vector<slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (auto& s : old)
      if (s.used) {
        bool fresh;
        get(s.key, fresh) = std::move(s.value);
      }
  }
};

std::string fmt_num(double v, int prec = 2);
inline bool is_write(std::string_view f) {
  return f == "create" || f == "add" || f == "consume" || f == "refund" || f == "synergy";
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
  virtual gate_result finish() = 0;
};

std::unique_ptr<gate_fold> make_gate_a(context const& ctx);
std::unique_ptr<gate_fold> make_gate_b(context const& ctx);
std::unique_ptr<gate_fold> make_gate_c(context const& ctx);
std::unique_ptr<gate_fold> make_gate_d(context const& ctx, series* charts);
std::unique_ptr<gate_fold> make_gate_e(context const& ctx, series* charts);

// Scenario results: a fold over the history, finished with the gates' results.
struct scenario_fold {
  virtual ~scenario_fold() = default;
  virtual void step(record const& r) = 0;
  virtual std::vector<scenario_result> finish(std::map<std::string, gate_result> const& gates) = 0;
};
std::unique_ptr<scenario_fold> make_scenarios(context const& ctx);

// Status of a gate from its sub-checks: FAIL if any, else WARN if any, else PASS if one passed, else SKIP.
status merge_checks(std::vector<sub_check> const& checks);

// The verdict (SPEC §5): fills overall_status, recommendation, verdict_reasons.
void decide(check_report& r);

// ---- reading ----------------------------------------------------------------------------

enum class log_kind { traffic, history, journal };

// Parses one line of a log into `out`; false + `err` when the line is not a valid record.
class record_parser {
 public:
  explicit record_parser(context const& ctx);
  bool parse(log_kind kind, std::string_view line, source src, record& out, std::string& err);
 private:
  context const& ctx_;
  boost::json::monotonic_resource mr_;
  boost::json::parser parser_;
  std::optional<boost::json::value> doc_;  // built on mr_: emplaced, never assigned (assignment would copy)
  std::string key_;
  exchange x_;
  control c_;
  run_marker run_;
  hist_op h_;
  hist_sample s_;
  hist_scenario sc_;
  journal_event e_;
  std::unordered_map<std::string, std::pair<std::string, config::op_match>> classify_cache_;
  bool parse_value(std::string_view line, bool lenient, std::string& err);
  bool fill_exchange(boost::json::object const& o, std::string& err);
  bool fill_journal(boost::json::object const& o, std::string& err);
};

// A buffered line reader over one file: file:line, a torn last line, blank lines skipped.
class line_source {
 public:
  explicit line_source(std::string const& path);
  ~line_source();
  bool ok() const { return fd_ >= 0; }
  bool next(std::string_view& line);  // false at the end
  std::uint64_t line_no() const { return line_no_; }
  bool last_torn() const { return torn_; }  // the line just returned had no '\n' and ended the file
 private:
  int fd_ = -1;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false, torn_ = false;
  std::uint64_t line_no_ = 0;
  bool fill();
};

}  // namespace stormgate::checks::detail
