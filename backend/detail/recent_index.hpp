// The last `capacity` 64-bit hashes inserted, each with a value, the oldest evicted first: the
// ledger's idempotency keys and event ids. All its memory is allocated and written when it is made,
// so a backend's resident size does not grow while the index fills (a long soak sees a flat line
// from the start, not a ramp that looks like a leak for the first 200 000 writes).
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace stormgate::backend::detail {

class recent_index {
 public:
  explicit recent_index(std::size_t capacity) : order_(capacity, 0) {
    std::size_t n = 16;
    while (n < 2 * capacity) n *= 2;  // load factor <= 1/2: short probe runs
    slots_.assign(n, slot{});
    mask_ = n - 1;
  }

  // Inserts `hash` with `value` unless it is there; returns whether it was inserted. The oldest
  // hash goes when the index is full; `evicted` counts those.
  bool insert(std::uint64_t hash, std::uint64_t value) {
    hash = nonzero(hash);
    std::size_t i = hash & mask_;
    for (; slots_[i].hash; i = (i + 1) & mask_)
      if (slots_[i].hash == hash) return false;
    slots_[i] = {hash, value};
    if (size_ == order_.size()) {
      erase(order_[next_]);
      ++evicted_;
    } else {
      ++size_;
    }
    order_[next_] = hash;
    next_ = next_ + 1 == order_.size() ? 0 : next_ + 1;
    return true;
  }

  std::optional<std::uint64_t> find(std::uint64_t hash) const {
    hash = nonzero(hash);
    for (std::size_t i = hash & mask_; slots_[i].hash; i = (i + 1) & mask_)
      if (slots_[i].hash == hash) return slots_[i].value;
    return std::nullopt;
  }
  bool contains(std::uint64_t hash) const { return find(hash).has_value(); }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), slot{});
    std::fill(order_.begin(), order_.end(), 0);
    size_ = next_ = 0;
    evicted_ = 0;
  }
  std::size_t size() const { return size_; }
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct slot {
    std::uint64_t hash = 0;  // 0: empty
    std::uint64_t value = 0;
  };
  // 0 marks an empty slot: a hash 0 is kept as a constant no small or structured hash equals
  static std::uint64_t nonzero(std::uint64_t h) { return h ? h : 0x9e3779b97f4a7c15ULL; }

  // Linear probing's deletion by backward shift: later entries of the run move up, no tombstones.
  void erase(std::uint64_t hash) {
    std::size_t i = hash & mask_;
    for (; slots_[i].hash != hash; i = (i + 1) & mask_)
      if (!slots_[i].hash) return;
    for (std::size_t j = (i + 1) & mask_; slots_[j].hash; j = (j + 1) & mask_) {
      std::size_t home = slots_[j].hash & mask_;
      // j's entry may move to i when its home is not in (i, j] (cyclically)
      bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = slot{};
  }

  std::vector<slot> slots_;
  std::vector<std::uint64_t> order_;  // a ring: the hashes in insertion order
  std::size_t mask_ = 0, size_ = 0, next_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace stormgate::backend::detail
