// The servers scripts/services.sh started, as the tests see them: WEFT_TEST_*
// variables. A missing one fails the test, never skips it.
#pragma once

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace weft::test {

// The value of a WEFT_TEST_* variable; fails the test when it is absent.
inline std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) {
    ADD_FAILURE() << name << " is not set: run the tests through scripts/test.sh, or start the servers with "
                  << "`scripts/services.sh start DIR && source DIR/env`";
    return {};
  }
  return value;
}

}  // namespace weft::test
