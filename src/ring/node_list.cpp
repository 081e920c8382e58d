#include "weft/ring/node_list.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <unordered_set>

#include <fmt/format.h>

namespace weft::ring {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool is_host_char(char c) {
  return c > ' ' && c != ',' && c != '=' && c != '[' && c != ']' && c != 127;
}

}  // namespace

result<node> parse_node(std::string_view item) {
  const std::string_view original = item;
  item = trim(item);
  if (item.empty()) {
    return fail(errc::invalid_argument, "empty node in the list; write host[:port][=weight] items separated by commas");
  }
  double weight = 1.0;
  if (const auto equals = item.rfind('='); equals != std::string_view::npos) {
    const std::string weight_text(trim(item.substr(equals + 1)));
    char* end = nullptr;
    weight = weight_text.empty() ? std::nan("") : std::strtod(weight_text.c_str(), &end);
    if (weight_text.empty() || end != weight_text.c_str() + weight_text.size() || !std::isfinite(weight)) {
      return fail(errc::invalid_argument,
                  fmt::format("node '{}' has weight '{}', which is not a number; write host[:port]=weight, e.g. a:11211=2",
                              trim(original), weight_text));
    }
    if (!(weight > 0)) {
      return fail(errc::invalid_argument,
                  fmt::format("node '{}' has weight {}; weights must be > 0 (use a small weight such as 0.01 for a tiny share)",
                              trim(original), weight_text));
    }
    item = trim(item.substr(0, equals));
  }
  std::string_view host = item;
  std::string_view port_text;
  if (!item.empty() && item.front() == '[') {
    const auto close = item.find(']');
    if (close == std::string_view::npos) {
      return fail(errc::invalid_argument, fmt::format("node '{}' opens '[' without ']'; write IPv6 hosts as [::1]:11211", trim(original)));
    }
    host = item.substr(0, close + 1);
    const std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fail(errc::invalid_argument, fmt::format("node '{}' has text after ']'; write [host]:port", trim(original)));
      }
      port_text = rest.substr(1);
      if (port_text.empty()) port_text = "?";
    }
    if (host.size() == 2) {
      return fail(errc::invalid_argument, fmt::format("node '{}' has an empty host", trim(original)));
    }
  } else if (const auto colon = item.rfind(':'); colon != std::string_view::npos) {
    host = item.substr(0, colon);
    port_text = item.substr(colon + 1);
    if (port_text.empty()) port_text = "?";
  }
  if (host.empty()) {
    return fail(errc::invalid_argument, fmt::format("node '{}' has an empty host; write host[:port][=weight]", trim(original)));
  }
  if (host.front() != '[') {
    for (char c : host) {
      if (!is_host_char(c)) {
        return fail(errc::invalid_argument,
                    fmt::format("node '{}' has a bad character in its host; write host[:port][=weight]", trim(original)));
      }
    }
  }
  unsigned port = default_port;
  if (!port_text.empty()) {
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return fail(errc::invalid_argument,
                  fmt::format("node '{}' has port '{}'; a port is a number from 1 to 65535", trim(original), port_text));
    }
  }
  return node{fmt::format("{}:{}", host, port), weight};
}

result<std::vector<node>> parse_node_list(std::string_view text) {
  std::vector<node> nodes;
  if (trim(text).empty()) {
    return fail(errc::invalid_argument, "the node list is empty; give host[:port][=weight],... e.g. a,b:11212,c=2");
  }
  std::unordered_set<std::string> seen;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    auto parsed = parse_node(text.substr(start, comma - start));
    if (!parsed) return fail(std::move(parsed).error());
    if (!seen.insert(parsed->name).second) {
      return fail(errc::invalid_argument,
                  fmt::format("node '{}' appears twice in the list; give each node once", parsed->name));
    }
    nodes.push_back(std::move(*parsed));
    start = comma + 1;
  }
  return nodes;
}

std::string format_node_list(const std::vector<node>& nodes) {
  std::string text;
  for (const node& n : nodes) {
    if (!text.empty()) text += ',';
    text += n.name;
    if (n.weight != 1.0) text += fmt::format("={}", n.weight);
  }
  return text;
}

}  // namespace weft::ring
