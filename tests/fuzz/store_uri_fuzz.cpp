// Fuzzes weft::lock::parse_store_uri: never crashes; a parsed URI has a
// lower-case scheme and ports in range; neither redacted() nor the CLI's
// strip_credentials() (which is what a child and `weft status` see) shows the
// password; an error message never contains it either.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "operator_support.hpp"
#include "weft/lock/uri.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = weft::lock::parse_store_uri(text);
  if (!parsed) {
    WEFT_FUZZ_CHECK(parsed.error().code() == weft::errc::invalid_argument, "parse errors are invalid_argument");
    WEFT_FUZZ_CHECK(!parsed.error().message().empty(), "parse errors have a message");
    // A password-like userinfo in a rejected URI must not be echoed.
    auto scheme_end = text.find("://");
    auto at = text.find('@');
    if (scheme_end != std::string_view::npos && at != std::string_view::npos && at > scheme_end + 3) {
      std::string_view userinfo = text.substr(scheme_end + 3, at - scheme_end - 3);
      auto colon = userinfo.find(':');
      // Only an authority's userinfo: a '/', '?' or '#' before the '@' means
      // the '@' sits in the path or query, and nothing there is a password.
      if (colon != std::string_view::npos && userinfo.find_first_of("/?#") == std::string_view::npos) {
        std::string_view password = userinfo.substr(colon + 1);
        if (password.size() >= 6 && weft::fuzz::occurs_once(text, password) &&
            password.find_first_of("@/?#") == std::string_view::npos &&
            parsed.error().message().find(password) != std::string_view::npos) {
          // Echoed, unless the message's own wording happens to contain it:
          // the same URI with the password blanked out must not show it too.
          std::string blanked(text);
          blanked.replace(static_cast<std::size_t>(password.data() - text.data()), password.size(),
                          std::string(password.size(), 'Q'));
          auto again = weft::lock::parse_store_uri(blanked);
          WEFT_FUZZ_CHECK(!again || again.has_value() ||
                              again.error().message().find(password) != std::string_view::npos,
                          "error message echoes the password");
        }
      }
    }
    return 0;
  }
  const auto& uri = *parsed;
  for (char c : uri.scheme) WEFT_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "scheme is lower case");
  for (const auto& host : uri.hosts) (void)host.port;  // uint16: in range by type
  // (A password containing '*' could spell the "***" of the redaction itself.)
  if (uri.has_password && uri.password.size() >= 6 && weft::fuzz::occurs_once(text, uri.password) &&
      uri.password.find('*') == std::string::npos) {
    WEFT_FUZZ_CHECK(uri.redacted().find(uri.password) == std::string::npos, "redacted() shows the password");
    WEFT_FUZZ_CHECK(weft::cli::strip_credentials(text).find(uri.password) == std::string::npos,
                    "strip_credentials() shows the password the parser found");
  }
  return 0;
}
