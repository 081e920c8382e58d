// weft::ring::make: builds any algorithm by name.
//
// Names: ketama, ring, jump, jumpback, rendezvous, maglev, bounded, memento.
// Unknown names, bad node lists and bad options come back as
// errc::invalid_argument with a message saying what to change.
//
// Thread-safety: pure function.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/node.hpp"
#include "weft/ring/options.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

result<std::shared_ptr<const snapshot>> make(std::string_view algorithm, std::vector<node> nodes,
                                             const options& opts = {});

// Every name make() accepts, in a stable order.
std::span<const std::string_view> algorithm_names() noexcept;

}  // namespace weft::ring
