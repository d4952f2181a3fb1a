// The checker's context for a target profile ("reference", "brain"), as run_check builds it.
#pragma once
#include "checks/detail/folds.hpp"

#include <string>

namespace stormgate::test {

inline checks::detail::context profile_context(std::string const& target = "reference") {
  checks::detail::context c;
  c.profile = *config::load_target(target);
  return c;
}

}  // namespace stormgate::test
