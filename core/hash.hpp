// Seeded, stable hashing: the only source of fault decisions and of seeded choices.
// Same inputs give the same value on every run and machine (no std::hash, no global RNG).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace stormgate::core {

// 64-bit FNV-1a over the parts (each part length-prefixed), finished with a splitmix64 mix.
std::uint64_t hash64(std::uint64_t seed, std::initializer_list<std::string_view> parts);
// Maps a hash onto [0, 1) with 53 bits of precision.
double unit_interval(std::uint64_t h);
// true when the draw for (seed, name, key) falls below p: the per-request fault decision.
bool hits(std::uint64_t seed, std::string_view name, std::string_view key, double p);

// A small seeded generator (splitmix64) for load shapes: deterministic from its seed.
class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next();
  double uniform();                                      // [0, 1)
  std::uint64_t below(std::uint64_t n);                  // [0, n)
  double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }

 private:
  std::uint64_t s_;
};

}  // namespace stormgate::core
