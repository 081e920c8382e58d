// Every public lock header compiles on its own and together.
#include "weft/duration.hpp"
#include "weft/lock/election.hpp"
#include "weft/lock/fence.hpp"
#include "weft/lock/lease.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/recipe_base.hpp"
#include "weft/lock/rw_mutex.hpp"
#include "weft/lock/semaphore.hpp"
#include "weft/lock/store.hpp"
#include "weft/lock/uri.hpp"

#include <gtest/gtest.h>

TEST(lock_headers, an_empty_lease_holds_nothing) {
  weft::lock::lease empty;
  EXPECT_FALSE(empty.held());
  EXPECT_EQ(empty.token(), 0u);
  EXPECT_TRUE(empty.is_lost());
  EXPECT_EQ(empty.name(), "");
}
