#include "core/hash.hpp"

namespace stormgate::core {
namespace {
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t hash64(std::uint64_t seed, std::initializer_list<std::string_view> parts) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ mix(seed);
  auto eat = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (auto p : parts) {
    auto n = p.size();
    for (int i = 0; i < 8; ++i) eat(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : p) eat(static_cast<unsigned char>(c));
  }
  return mix(h);
}

double unit_interval(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

bool hits(std::uint64_t seed, std::string_view name, std::string_view key, double p) {
  if (p >= 1.0) return true;
  if (p <= 0.0) return false;
  return unit_interval(hash64(seed, {name, key})) < p;
}

std::uint64_t rng::next() {
  s_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = s_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double rng::uniform() { return unit_interval(next()); }
std::uint64_t rng::below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

}  // namespace stormgate::core
