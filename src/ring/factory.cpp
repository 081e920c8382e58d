#include "weft/ring/factory.hpp"

#include <array>

#include <fmt/format.h>

#include "weft/ring/bounded_loads.hpp"
#include "weft/ring/jump.hpp"
#include "weft/ring/ketama.hpp"
#include "weft/ring/maglev.hpp"
#include "weft/ring/memento.hpp"
#include "weft/ring/rendezvous.hpp"
#include "weft/ring/vnode_ring.hpp"

namespace weft::ring {
namespace {

constexpr std::array<std::string_view, 8> names = {"ketama", "ring",   "jump",    "jumpback",
                                                   "rendezvous", "maglev", "bounded", "memento"};

template <typename T>
result<std::shared_ptr<const snapshot>> widen(result<std::shared_ptr<const T>> built) {
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace

std::span<const std::string_view> algorithm_names() noexcept { return names; }

result<std::shared_ptr<const snapshot>> make(std::string_view algorithm, std::vector<node> nodes, const options& opts) {
  if (algorithm == "ketama") return widen(ketama::make(std::move(nodes), opts));
  if (algorithm == "ring") return widen(vnode_ring::make(std::move(nodes), opts));
  if (algorithm == "jump") return widen(jump::make(std::move(nodes), opts, jump_variant::classic));
  if (algorithm == "jumpback") return widen(jump::make(std::move(nodes), opts, jump_variant::back));
  if (algorithm == "rendezvous") return widen(rendezvous::make(std::move(nodes), opts));
  if (algorithm == "maglev") return widen(maglev::make(std::move(nodes), opts));
  if (algorithm == "bounded") return widen(bounded_loads::make(std::move(nodes), opts));
  if (algorithm == "memento") return widen(memento::make(std::move(nodes), opts));
  std::string known;
  for (std::string_view name : names) {
    if (!known.empty()) known += ", ";
    known += name;
  }
  return fail(errc::invalid_argument, fmt::format("unknown algorithm '{}'; use one of {}", algorithm, known));
}

}  // namespace weft::ring
