// Runs the weft binary with arguments and stdin; captures stdout, stderr and
// the exit code. Shared by the CLI tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace weft::cli::testing {

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

class scratch_dir {
 public:
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-cli-test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// `arguments` is shell text appended to the binary's path.
inline run_result run_weft(const std::string& arguments, const std::string& input = {}) {
  scratch_dir dir;
  const auto in = dir.path() / "in";
  const auto out = dir.path() / "out";
  const auto err = dir.path() / "err";
  std::ofstream(in, std::ios::binary) << input;
  const std::string command = std::string("'") + WEFT_BINARY + "' " + arguments + " < '" + in.string() + "' > '" +
                              out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(command.c_str());
  run_result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_all(out);
  result.err = read_all(err);
  return result;
}

}  // namespace weft::cli::testing
