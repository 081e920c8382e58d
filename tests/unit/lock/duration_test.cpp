#include "weft/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using weft::errc;
using weft::parse_duration;

TEST(duration, parses_each_unit) {
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("2m"), 2min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("250us"), 250us);
  EXPECT_EQ(*parse_duration("7ns"), 7ns);
}

TEST(duration, parses_compound_and_fractional_values) {
  EXPECT_EQ(*parse_duration("1m30s"), 90s);
  EXPECT_EQ(*parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration(".25s"), 250ms);
}

TEST(duration, accepts_zero_but_positive_variant_rejects_it) {
  EXPECT_EQ(*parse_duration("0"), 0ns);
  EXPECT_EQ(*parse_duration("0s"), 0ns);
  auto zero = weft::parse_positive_duration("0s");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code(), errc::invalid_argument);
  EXPECT_NE(zero.error().message().find("greater than zero"), std::string_view::npos);
}

TEST(duration, rejects_bad_input_with_a_clear_message) {
  for (const char* text : {"", "-1s", "+1s", "10", "s", "10x", "1.s", "abc", "1s-2s", "10 s", "1e3s"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code(), errc::invalid_argument) << text;
    EXPECT_NE(parsed.error().message().find("invalid duration"), std::string_view::npos) << text;
    EXPECT_NE(parsed.error().message().find("e.g. 500ms"), std::string_view::npos) << text;
  }
  EXPECT_NE(parse_duration("-5s").error().message().find("negative"), std::string_view::npos);
  EXPECT_NE(parse_duration("10").error().message().find("unit is missing"), std::string_view::npos);
  EXPECT_NE(parse_duration("3days").error().message().find("unknown unit"), std::string_view::npos);
}

TEST(duration, rejects_overflow) {
  for (const char* text : {"300y", "9999999999999999999999s", "2562048h", "18446744073709551615ns",
                           "9223372036854775807ns1ns", "106751991167301d"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code(), errc::invalid_argument);
  }
  EXPECT_NE(parse_duration("2562048h").error().message().find("too long"), std::string_view::npos);
  EXPECT_EQ(parse_duration("9223372036854775807ns")->count(), INT64_MAX);
}

TEST(duration, long_input_is_truncated_in_the_message) {
  std::string text(10000, '9');
  auto parsed = parse_duration(text);
  ASSERT_FALSE(parsed);
  EXPECT_LT(parsed.error().message().size(), 300u);
}

TEST(duration, formats_round_trip) {
  for (std::chrono::nanoseconds d : std::initializer_list<std::chrono::nanoseconds>{0ns, 7ns, 250us, 1500ms, 10s, 90s, 2min, 1h + 2min + 3s + 4ms, 1500us}) {
    auto text = weft::format_duration(d);
    auto back = parse_duration(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, d) << text;
  }
  EXPECT_EQ(weft::format_duration(1500ms), "1.5s");
  EXPECT_EQ(weft::format_duration(90s), "1m30s");
  EXPECT_EQ(weft::format_duration(500ms), "500ms");
}
