// The fault checker on hand-written histories: a safe history passes, and
// each kind of violation is reported.
#include <gtest/gtest.h>

#include "history.hpp"

namespace {

using weft::fault::check;
using weft::fault::history;
using weft::fault::session_record;
using weft::fault::write_record;

constexpr std::int64_t ms = 1'000'000;

history two_clean_sessions() {
  history h;
  h.sessions = {{0, 1, 0, 10 * ms, -1}, {1, 2, 11 * ms, 20 * ms, -1}};
  h.writes = {{0, 1, 1 * ms, 1 * ms, true, true},
              {0, 1, 5 * ms, 5 * ms, true, true},
              {1, 2, 12 * ms, 12 * ms, true, true},
              {1, 2, 15 * ms, 15 * ms, true, true}};
  return h;
}

bool mentions(const weft::fault::check_report& r, const std::string& what) {
  for (auto& v : r.violations)
    if (v.find(what) != std::string::npos) return true;
  return false;
}

TEST(fault_checker, a_safe_history_has_no_violation) {
  auto r = check(two_clean_sessions(), 1000 * ms, 30 * ms);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front();
  EXPECT_EQ(r.acquisitions, 2u);
  EXPECT_EQ(r.accepted_writes, 4u);
}

TEST(fault_checker, interleaved_writes_of_two_holders_are_overlap) {
  history h = two_clean_sessions();
  h.writes.push_back({0, 1, 16 * ms, 16 * ms, true, true});  // client 0 wrote after client 1
  h.tokened = false;
  EXPECT_TRUE(mentions(check(h, 1000 * ms, 30 * ms), "overlapping holders"));
}

TEST(fault_checker, a_stale_token_accepted_is_reported_and_a_rejected_one_counted) {
  history h = two_clean_sessions();
  h.writes.push_back({0, 1, 16 * ms, 16 * ms, false, true});
  auto fine = check(h, 1000 * ms, 30 * ms);
  EXPECT_TRUE(fine.violations.empty());
  EXPECT_EQ(fine.rejected_writes, 1u);
  h.writes.back().accepted = true;
  EXPECT_TRUE(mentions(check(h, 1000 * ms, 30 * ms), "stale write accepted"));
}

TEST(fault_checker, a_token_below_a_released_one_went_backwards) {
  history h = two_clean_sessions();
  h.sessions.push_back({2, 2, 25 * ms, 26 * ms, -1});
  EXPECT_TRUE(mentions(check(h, 1000 * ms, 30 * ms), "token went backwards"));
}

TEST(fault_checker, writing_as_holder_after_lost_fired_is_reported) {
  history h = two_clean_sessions();
  h.sessions[0].lost = 3 * ms;
  EXPECT_TRUE(mentions(check(h, 1000 * ms, 30 * ms), "after its lost() fired"));
}

TEST(fault_checker, no_progress_after_a_fault_healed_is_reported) {
  history h = two_clean_sessions();
  h.faults.push_back({"kill", 42, 16 * ms, 17 * ms});
  auto r = check(h, 100 * ms, 10'000 * ms);
  EXPECT_TRUE(mentions(r, "no progress within"));
  EXPECT_GE(r.longest_unavailability_ns, 9'000 * ms);
}

// Client 0 holds token 1 and is cut off at 3 ms; client 1 is granted token 2
// at 11 ms; client 0 keeps writing through the cut (rejected after 12 ms).
history a_cut_holder(std::int64_t lost) {
  history h = two_clean_sessions();
  h.sessions[0].lost = lost;
  h.sessions[0].ended = 30 * ms;
  h.writes.push_back({0, 1, 13 * ms, 13 * ms, false, false});
  h.faults.push_back({"cut", 42, 3 * ms, 25 * ms, 0});
  return h;
}

TEST(fault_checker, a_cut_holder_told_before_the_next_grant_is_safe) {
  auto r = check(a_cut_holder(10 * ms), 1000 * ms, 40 * ms);
  EXPECT_TRUE(r.violations.empty()) << r.violations.front();
  EXPECT_EQ(r.rejected_writes, 1u);
  // Unavailability counts the other clients' writes only: 3 ms -> 12 ms.
  EXPECT_EQ(r.longest_unavailability_ns, 9 * ms);
}

TEST(fault_checker, a_cut_holder_told_after_the_next_grant_is_reported) {
  EXPECT_TRUE(mentions(check(a_cut_holder(12 * ms), 1000 * ms, 40 * ms), "cut holder not told"));
  EXPECT_TRUE(mentions(check(a_cut_holder(-1), 1000 * ms, 40 * ms), "lost() never fired"));
}

}  // namespace
