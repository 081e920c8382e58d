// Fuzzes the CLI's argument parsing for `weft lock` / `weft sem`: the input
// is split at NUL bytes into argv, parsed by the same flag definitions
// (add_held_flags) and then checked by the same validators the command runs
// before it touches a store (check_name, parse_duration_flag,
// strip_credentials). Nothing is executed. Never crashes; whatever the
// validators accept is in range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "fuzz_support.hpp"
#include "held_command.hpp"
#include "operator_support.hpp"
#include "weft/lock/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> arguments = {"weft"};
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  bool sem = !rest.empty() && (rest.front() & 1);
  if (!rest.empty()) rest.remove_prefix(1);
  arguments.push_back(sem ? "sem" : "lock");
  while (!rest.empty() && arguments.size() < 40) {
    auto nul = rest.find('\0');
    arguments.emplace_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  std::vector<char*> argv;
  for (auto& a : arguments) argv.push_back(a.data());

  CLI::App app("weft");
  weft::cli::held_command_options options;
  auto* sub = app.add_subcommand(sem ? "sem" : "lock");
  if (sem) sub->add_option("--permits,-n", options.permits)->required();
  weft::cli::add_held_flags(*sub, options);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return 0;  // main() turns these into exit 64 with CLI11's message
  }
  if (auto ok = weft::cli::check_name(options.name); ok) {
    WEFT_FUZZ_CHECK(!options.name.empty() && options.name.size() <= weft::lock::max_name_length,
                    "accepted names are 1..4096 bytes");
  } else {
    WEFT_FUZZ_CHECK(!ok.error().message().empty(), "name errors have a message");
  }
  if (auto ttl = weft::cli::parse_duration_flag("--ttl", options.ttl, false); ttl)
    WEFT_FUZZ_CHECK(ttl->count() > 0, "an accepted --ttl is positive");
  if (auto grace = weft::cli::parse_duration_flag("--grace", options.grace, true); grace)
    WEFT_FUZZ_CHECK(grace->count() >= 0, "an accepted --grace is not negative");
  if (!options.wait.empty())
    if (auto wait = weft::cli::parse_duration_flag("--wait", options.wait, true); wait)
      WEFT_FUZZ_CHECK(wait->count() >= 0, "an accepted --wait is not negative");
  (void)weft::cli::strip_credentials(options.store);
  return 0;
}
