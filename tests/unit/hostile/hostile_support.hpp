// Helpers for the hostile-input tests: a sandbox directory whose whole tree
// can be snapshotted (to prove a rejected input changed nothing), and checks
// that an error is clear: the expected errc, an informative message, and no
// secret echoed.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "weft/result.hpp"

namespace weft::hostile {

// A secret planted in hostile URIs; no error message may contain it.
inline constexpr std::string_view planted_secret = "s3cr3t-PW-7d1f";

class sandbox {
 public:
  sandbox() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-hostile-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~sandbox() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ignored);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
      if (it->is_directory(ignored) && !it->is_symlink(ignored))
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
    }
    std::filesystem::remove_all(path_, ignored);
  }
  sandbox(const sandbox&) = delete;
  sandbox& operator=(const sandbox&) = delete;
  const std::string& path() const { return path_; }

  // Every entry below the sandbox (lstat: type, mode, owner, size), as text.
  std::string snapshot() const {
    std::string out;
    std::error_code ignored;
    std::map<std::string, std::string> entries;
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ignored);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
      struct stat st {};
      ::lstat(it->path().c_str(), &st);
      entries[it->path().string()] = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + " " +
                                     std::to_string(S_ISREG(st.st_mode) ? st.st_size : 0);
    }
    for (auto& [path, what] : entries) out += path + " " + what + "\n";
    return out;
  }

 private:
  std::string path_;
};

// A rejected input: the expected code, a message that says more than the
// errc's bare name, mentions `hint` (the offending part or what to do), and
// never contains the planted secret.
inline void expect_clear_error(const weft::error& e, weft::errc expected, std::string_view hint,
                               std::string_view what) {
  SCOPED_TRACE(std::string(what));
  EXPECT_EQ(e.code(), expected) << "got " << weft::to_string(e.code()) << ": " << e.message();
  std::string message(e.message());
  EXPECT_GE(message.size(), 20u) << "message too terse: " << message;
  EXPECT_NE(message, weft::to_string(e.code()));
  if (!hint.empty()) {
    EXPECT_NE(message.find(hint), std::string::npos) << "message lacks '" << hint << "': " << message;
  }
  EXPECT_EQ(message.find(planted_secret), std::string::npos) << "secret echoed: " << message;
}

}  // namespace weft::hostile
