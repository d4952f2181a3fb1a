#include "backend/detail/recent_index.hpp"
#include "tests/support/catch.hpp"

#include <deque>
#include <random>
#include <unordered_map>

using stormgate::backend::detail::recent_index;

TEST_CASE("recent_index keeps exactly the last N hashes, as a map with FIFO eviction would", "[backend][recent_index]") {
  constexpr std::size_t cap = 1000;
  recent_index idx(cap);
  std::unordered_map<std::uint64_t, std::uint64_t> model;
  std::deque<std::uint64_t> order;
  std::mt19937_64 rng(7);
  std::uint64_t fresh_inserts = 0;
  // hashes from a small range repeat (re-inserts), and clustered ones make long probe runs whose
  // backward-shift deletions must keep every other entry findable
  for (std::uint64_t i = 0; i < 50'000; ++i) {
    std::uint64_t h = (i % 3 == 0) ? rng() % 4096 : (rng() % 64) * 2048 + (i & 7);
    bool fresh = !model.count(h);
    REQUIRE(idx.insert(h, i) == fresh);
    if (fresh) {
      ++fresh_inserts;
      model[h] = i;
      order.push_back(h);
      if (order.size() > cap) {
        model.erase(order.front());
        order.pop_front();
      }
    }
    if (i % 97 == 0)
      for (auto const& [k, v] : model) REQUIRE(idx.find(k) == v);
  }
  CHECK(idx.size() == cap);
  CHECK(idx.evicted() == fresh_inserts - cap);
  std::size_t found = 0;
  for (std::uint64_t h = 0; h < 64 * 2048 + 8; ++h)
    if (auto v = idx.find(h)) {
      ++found;
      REQUIRE(model.count(h));
      REQUIRE(*v == model[h]);
    }
  CHECK(found == model.size());
  idx.clear();
  CHECK(idx.size() == 0);
  CHECK_FALSE(idx.find(order.back()));
}

TEST_CASE("recent_index takes hash 0 like any other", "[backend][recent_index]") {
  recent_index idx(4);
  CHECK(idx.insert(0, 5));
  CHECK(idx.insert(1, 7));
  CHECK(idx.find(0) == 5u);
  CHECK(idx.find(1) == 7u);
  CHECK_FALSE(idx.insert(0, 6));
}
