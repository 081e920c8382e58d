#include "weft/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace weft {
namespace {

result<int> parse_positive(int v) {
  if (v <= 0) return fail(errc::invalid_argument, "must be positive");
  return v;
}

TEST(result, holds_a_value_on_success) {
  auto r = parse_positive(7);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(r.value(), 7);
}

TEST(result, holds_an_error_with_its_message_on_failure) {
  auto r = parse_positive(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_EQ(r.error().message(), "must be positive");
  EXPECT_THROW((void)r.value(), bad_result_access);
}

TEST(result, error_without_message_reports_its_code_name) {
  error e(errc::lease_lost);
  EXPECT_EQ(e.message(), "lease_lost");
  EXPECT_EQ(e.error_code(), make_error_code(errc::lease_lost));
  EXPECT_EQ(std::error_code(errc::timeout).message(), "timeout");
}

TEST(result, moves_move_only_values) {
  result<std::unique_ptr<int>> r = std::make_unique<int>(3);
  auto moved = std::move(r);
  ASSERT_TRUE(moved);
  EXPECT_EQ(**moved, 3);
  auto owned = std::move(moved).value();
  EXPECT_EQ(*owned, 3);
}

TEST(result, void_result_is_success_by_default) {
  result<void> ok;
  EXPECT_TRUE(ok);
  result<void> bad = fail(errc::closed);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::closed);
}

TEST(result, value_or_gives_the_fallback_on_error) {
  EXPECT_EQ(parse_positive(-5).value_or(42), 42);
  EXPECT_EQ(parse_positive(5).value_or(42), 5);
}

}  // namespace
}  // namespace weft
