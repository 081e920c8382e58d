#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "weft/ring/factory.hpp"
#include "weft/ring/node_list.hpp"

namespace {

using weft::cli::testing::read_all;
using weft::cli::testing::run_weft;
using weft::cli::testing::scratch_dir;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST(cli_ring, help_exits_zero_on_every_command) {
  for (const char* command : {"--help", "ring --help", "ring lookup --help", "ring plan --help", "ring stats --help"}) {
    const auto result = run_weft(command);
    EXPECT_EQ(result.exit_code, 0) << command;
    EXPECT_NE(result.out.find("Usage:"), std::string::npos) << command;
  }
  EXPECT_NE(run_weft("ring lookup --help").out.find("--table-size UINT=65537"), std::string::npos);
}

TEST(cli_ring, version_prints_the_project_version) {
  const auto result = run_weft("--version");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out.rfind("weft 0.", 0), 0U) << result.out;
}

TEST(cli_ring, lookup_writes_key_tab_node_as_the_library_does) {
  std::string input;
  for (int i = 0; i < 20'000; ++i) input += fmt::format("user:{}\n", i);
  for (const char* algorithm : {"ketama", "maglev", "memento", "rendezvous"}) {
    const std::string node_list = "a,b:11212,c:11300,d";
    const auto result = run_weft(fmt::format("ring lookup --algo {} --nodes {}", algorithm, node_list), input);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    auto ring = weft::ring::make(algorithm, *weft::ring::parse_node_list(node_list));
    ASSERT_TRUE(ring);
    const auto output = lines(result.out);
    ASSERT_EQ(output.size(), 20'000U);
    for (int i = 0; i < 20'000; ++i) {
      const std::string key = fmt::format("user:{}", i);
      ASSERT_EQ(output[static_cast<std::size_t>(i)], key + "\t" + (*ring)->locate(key).name) << algorithm;
    }
  }
}

TEST(cli_ring, lookup_keeps_crlf_free_keys_and_a_last_line_without_newline) {
  const auto result = run_weft("ring lookup --algo jump --nodes x,y", "one\r\ntwo\nthree");
  ASSERT_EQ(result.exit_code, 0);
  const auto output = lines(result.out);
  ASSERT_EQ(output.size(), 3U);
  EXPECT_EQ(output[0].substr(0, 4), "one\t");
  EXPECT_EQ(output[2].substr(0, 6), "three\t");
}

TEST(cli_ring, lookup_with_replicas_writes_distinct_nodes_in_preference_order) {
  const auto result = run_weft("ring lookup --algo ring --nodes a,b,c,d,e --replicas 3", "k1\nk2\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto ring = weft::ring::make("ring", *weft::ring::parse_node_list("a,b,c,d,e"));
  for (const auto& line : lines(result.out)) {
    const auto tab = line.find('\t');
    const std::string key = line.substr(0, tab);
    auto replicas = (*ring)->replicas(key, 3);
    ASSERT_TRUE(replicas);
    std::string expected;
    for (std::size_t index : *replicas) expected += (expected.empty() ? "" : ",") + (*ring)->nodes()[index].name;
    EXPECT_EQ(line.substr(tab + 1), expected);
  }
}

TEST(cli_ring, usage_errors_exit_64_with_what_happened_and_what_to_do) {
  for (const char* command : {"", "ring", "ring lookup", "ring lookup --nodes a --bogus", "ring lookup --nodes ''",
                              "ring lookup --nodes a,a", "ring lookup --nodes a=0", "ring lookup --algo nope --nodes a",
                              "ring lookup --nodes a,b --replicas 3", "ring lookup --algo maglev --nodes a --table-size 10",
                              "ring plan --nodes a,b", "ring stats --nodes a --hash crc"}) {
    const auto result = run_weft(command, "key\n");
    EXPECT_EQ(result.exit_code, 64) << command << ": " << result.err;
    EXPECT_EQ(result.err.rfind("weft: ", 0), 0U) << command << ": " << result.err;
    EXPECT_NE(result.err.find("; "), std::string::npos) << command << ": " << result.err;
  }
}

TEST(cli_ring, plan_reports_the_moved_fraction_against_the_ideal) {
  const auto result = run_weft("ring plan --algo rendezvous --nodes a,b,c,d --add e --keys 50000");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("ideal      0.200000"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("e:11211"), std::string::npos);
}

TEST(cli_ring, plan_json_and_svg_hold_the_same_figures) {
  scratch_dir dir;
  const auto svg = std::filesystem::path(dir.path()) / "plan.svg";
  const auto result =
      run_weft(fmt::format("ring plan --algo memento --nodes a,b,c,d,e --remove c --add f --json --svg '{}'", svg.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.rfind("{\"algorithm\":\"memento\"", 0), 0U) << result.out;
  EXPECT_NE(result.out.find("\"ideal_fraction\":0.2"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"name\":\"f:11211\""), std::string::npos);
  const std::string drawing = read_all(svg);
  EXPECT_EQ(drawing.rfind("<svg", 0), 0U);
  EXPECT_NE(drawing.find("f:11211"), std::string::npos);
}

TEST(cli_ring, plan_lists_moved_keys_of_a_keys_file) {
  scratch_dir dir;
  const auto keys = std::filesystem::path(dir.path()) / "keys";
  {
    std::ofstream file(keys);
    for (int i = 0; i < 1000; ++i) file << "k" << i << "\n";
  }
  const auto result = run_weft(fmt::format("ring plan --algo ring --nodes a,b,c --remove b --keys-file '{}' --moves", keys.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto section = result.out.find("key\tfrom\tto\n");
  ASSERT_NE(section, std::string::npos);
  for (const auto& line : lines(result.out.substr(section + 12))) EXPECT_NE(line.find("\tb:11211\t"), std::string::npos) << line;
}

TEST(cli_ring, plan_removing_an_unknown_node_is_a_data_error) {
  const auto result = run_weft("ring plan --nodes a,b --remove zz");
  EXPECT_EQ(result.exit_code, 65);
  EXPECT_NE(result.err.find("zz:11211"), std::string::npos);
}

TEST(cli_ring, stats_prints_balance_and_a_missing_keys_file_exits_66) {
  const auto result = run_weft("ring stats --algo maglev --nodes a,b,c --keys 30000 --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\"max_over_fair\":"), std::string::npos);
  EXPECT_NE(result.out.find("\"keys\":30000"), std::string::npos);
  const auto text = run_weft("ring stats --algo ketama --nodes a,b=2");
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("max/fair"), std::string::npos);
  const auto missing = run_weft("ring stats --nodes a --keys-file /nonexistent/keys");
  EXPECT_EQ(missing.exit_code, 66);
  EXPECT_EQ(missing.err.rfind("weft: cannot open keys file", 0), 0U) << missing.err;
}

TEST(cli_ring, stats_svg_draws_a_bar_per_node) {
  scratch_dir dir;
  const auto svg = std::filesystem::path(dir.path()) / "stats.svg";
  const auto result = run_weft(fmt::format("ring stats --algo jumpback --nodes a,b,c,d --svg '{}'", svg.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string drawing = read_all(svg);
  std::size_t bars = 0;
  for (auto at = drawing.find("<rect x="); at != std::string::npos; at = drawing.find("<rect x=", at + 1)) ++bars;
  EXPECT_GE(bars, 4U);
}

}  // namespace
