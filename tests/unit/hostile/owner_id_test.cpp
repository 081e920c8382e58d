// Owner ids (the claim on a file-store entry: whoever knows it could release
// or renew) are 128 random bits: 32 hex digits, distinct across
// acquisitions, with no shared prefix that would hint at a counter or a
// weakly seeded generator.
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "../lock/lock_test_support.hpp"
#include "hostile_support.hpp"
#include "weft/context.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"

namespace {

std::vector<std::string> owner_files(const std::string& root) {
  std::vector<std::string> owners;
  for (auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    std::string file = entry.path().filename().string();
    if (file.rfind("p-", 0) == 0) owners.push_back(file.substr(2));
  }
  return owners;
}

TEST(owner_ids, file_store_owner_ids_are_128_random_bits_and_never_repeat) {
  weft::hostile::sandbox box;
  const std::string root = box.path() + "/store";
  auto store = weft::lock::open("file://" + root).value();
  auto m = weft::lock::mutex::make(store, "owner-check").value();
  std::set<std::string> seen;
  std::set<std::string> prefixes;
  for (int i = 0; i < 64; ++i) {
    auto held = weft::lock::testing::run([&]() -> weft::task<weft::result<weft::lock::lease>> {
      co_return co_await m.try_lock(weft::context::background());
    });
    ASSERT_TRUE(held) << held.error().message();
    auto owners = owner_files(root);
    ASSERT_EQ(owners.size(), 1u);
    const std::string& owner = owners.front();
    EXPECT_EQ(owner.size(), 32u) << owner;
    EXPECT_EQ(owner.find_first_not_of("0123456789abcdef"), std::string::npos) << owner;
    EXPECT_TRUE(seen.insert(owner).second) << "owner id repeated: " << owner;
    // 64 random 32-bit prefixes collide with probability ~5e-7.
    EXPECT_TRUE(prefixes.insert(owner.substr(0, 8)).second) << "owner ids share a prefix: " << owner;
    auto released = weft::lock::testing::run(
        [&]() -> weft::task<weft::result<void>> { co_return co_await held->release(); });
    ASSERT_TRUE(released) << released.error().message();
  }
}

}  // namespace
