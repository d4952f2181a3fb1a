// Maps from strings, looked up without a copy, and their entries in key order.
#pragma once
#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stormgate::checks::detail {

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

}  // namespace stormgate::checks::detail
