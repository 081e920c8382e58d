// Runs the weft binary with arguments and stdin; captures stdout, stderr and
// the exit code. Shared by the CLI tests (the child runner itself is
// tests/support/child_process.hpp).
#pragma once

#include <fstream>
#include <string>

#include "child_process.hpp"

namespace weft::cli::testing {

using run_result = weft::test::child_result;
using weft::test::read_all;
using weft::test::scratch_dir;

// `arguments` is shell text appended to the binary's path.
inline run_result run_weft(const std::string& arguments, const std::string& input = {}) {
  scratch_dir dir("weft-cli-test");
  const std::string in = dir.path() + "/in";
  std::ofstream(in, std::ios::binary) << input;
  const std::string command = std::string("'") + WEFT_BINARY + "' " + arguments;
  return weft::test::run_child("/bin/sh", {"-c", command}, dir.path(), {.stdin_path = in});
}

}  // namespace weft::cli::testing
