// The pure parts of the stores: the grant rule and the file store's layout.
#include <gtest/gtest.h>

#include <set>

#include "lock/file/layout.hpp"
#include "lock/grant.hpp"

using namespace weft::lock;
using namespace weft::lock::file_detail;
using weft::lock::detail::grant;
using weft::lock::detail::queue_slot;

TEST(grant_rule, a_mutex_grants_only_the_head) {
  std::vector<queue_slot> q = {{access::exclusive, 1, false}, {access::exclusive, 1, false}};
  EXPECT_EQ(grant(q), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(grant(q).empty());
}

TEST(grant_rule, consecutive_readers_share_and_a_writer_blocks_later_readers) {
  std::vector<queue_slot> q = {{access::shared, 1, false},
                               {access::shared, 1, false},
                               {access::exclusive, 1, false},
                               {access::shared, 1, false}};
  EXPECT_EQ(grant(q), (std::vector<std::size_t>{0, 1}));
  q.erase(q.begin(), q.begin() + 2);  // both readers leave
  EXPECT_EQ(grant(q), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(grant(q).empty());  // the reader behind the writer waits
}

TEST(grant_rule, a_semaphore_grants_up_to_its_limit_in_order) {
  std::vector<queue_slot> q(5, queue_slot{access::exclusive, 3, false});
  EXPECT_EQ(grant(q), (std::vector<std::size_t>{0, 1, 2}));
  q.erase(q.begin() + 1);
  EXPECT_EQ(grant(q), (std::vector<std::size_t>{2}));
}

TEST(file_layout, directory_names_cannot_escape_and_are_distinct) {
  std::set<std::string> seen;
  std::vector<std::string> names = {"..", ".", "/", "../../etc/passwd", std::string("a\0b", 3), std::string("a\0c", 3),
                                    std::string(4096, 'x'), std::string(4095, 'x') + "y", "a"};
  for (const auto& n : names) {
    for (auto kind : {recipe::mutex, recipe::rw_mutex, recipe::semaphore, recipe::election}) {
      auto entry = encode_directory(kind, n);
      EXPECT_LE(entry.size(), 160u);
      EXPECT_NE(entry, ".");
      EXPECT_NE(entry, "..");
      for (char c : entry) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-') << entry;
      EXPECT_TRUE(seen.insert(entry).second) << "collision for a name of " << n.size() << " bytes";
      recipe decoded;
      ASSERT_TRUE(decode_kind(entry, decoded));
      EXPECT_EQ(decoded, kind);
    }
  }
  recipe ignored;
  EXPECT_FALSE(decode_kind("store", ignored));
}

TEST(file_layout, state_round_trips) {
  state_header header{"0f9e-boot", 41};
  std::vector<state_entry> entries(2);
  entries[0].owner = std::string(32, 'a');
  entries[0].held = true;
  entries[0].token = 41;
  entries[0].pid = 1234;
  entries[0].value = std::string("v a\nl\0ue", 8);
  entries[1].owner = std::string(32, 'b');
  entries[1].mode = access::shared;
  entries[1].limit = 7;
  auto text = format_state(header, entries);
  state_header back_header;
  auto back = parse_state(text, back_header);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back_header.boot_id, "0f9e-boot");
  EXPECT_EQ(back_header.last_token, 41u);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].value, entries[0].value);
  EXPECT_TRUE((*back)[0].held);
  EXPECT_EQ((*back)[0].token, 41u);
  EXPECT_EQ((*back)[1].mode, access::shared);
  EXPECT_EQ((*back)[1].limit, 7u);
  EXPECT_FALSE((*back)[1].held);
}

TEST(file_layout, corrupt_state_is_an_error_not_a_guess) {
  state_header header;
  EXPECT_TRUE(parse_state("", header));  // a new lock
  for (const char* text : {"garbage\n", "weft-lock-state 2 b 1\nshort line\n", "weft-lock-state 2 b x\n",
                           "weft-lock-state 2 b 1\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa q 1 h 1 1 -\n",
                           "weft-lock-state 2 b 1\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x 0 h 1 1 -\n",
                           "weft-lock-state 2 b 1\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x 1 h 1 1 zz\n",
                           "weft-lock-state 2 b 1\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x 1 h 1 1 -"}) {
    auto parsed = parse_state(text, header);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code(), weft::errc::protocol);
  }
}

TEST(file_layout, a_record_cut_short_is_corrupt_and_leftovers_after_the_end_are_ignored) {
  state_header header{"boot", 7};
  std::vector<state_entry> entries(1);
  entries[0].owner = std::string(32, 'c');
  auto text = format_state(header, entries);
  state_header back;
  auto cut = parse_state(text.substr(0, text.size() - 4), back);  // "end\n" lost
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code(), weft::errc::protocol);
  auto with_leftovers = parse_state(text + "dddddddddddddddddddddddddddddddd x 1 w 0 1 -\nend\n", back);
  ASSERT_TRUE(with_leftovers);
  EXPECT_EQ(with_leftovers->size(), 1u);
}

TEST(file_layout, a_torn_expiry_record_is_detected) {
  auto record = format_expiry(123456789012345);
  EXPECT_EQ(record.size(), expiry_record_size);
  std::int64_t value = 0;
  ASSERT_TRUE(parse_expiry(record, value));
  EXPECT_EQ(value, 123456789012345);
  auto other = format_expiry(923456789012399);
  std::string torn = other.substr(0, 10) + record.substr(10);  // half new, half old
  EXPECT_FALSE(parse_expiry(torn, value));
  EXPECT_FALSE(parse_expiry("", value));
}
