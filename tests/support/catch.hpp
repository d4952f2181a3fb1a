// Include this instead of <catch2/catch.hpp>: adds printing of core::result / core::error.
#pragma once
#include "core/error.hpp"

#include <catch2/catch.hpp>

namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, stormgate::core::error>> {
  static std::string convert(boost::system::result<T, stormgate::core::error> const& r) {
    return r ? std::string("{value}") : "{error " + r.error().message() + "}";
  }
};
template <>
struct StringMaker<stormgate::core::error> {
  static std::string convert(stormgate::core::error const& e) { return e.message(); }
};
}  // namespace Catch
