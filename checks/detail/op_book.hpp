// Per-op state: a hash table of ops keyed by their hash, the window of the last minute's ops over
// it, and what gates A and B keep per op in one shared op_book.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stormgate::checks::detail {

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

}  // namespace stormgate::checks::detail
