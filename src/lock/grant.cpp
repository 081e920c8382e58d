#include "lock/grant.hpp"

namespace weft::lock::detail {

std::vector<std::size_t> grant(std::vector<queue_slot>& queue) {
  std::uint64_t holders = 0;
  std::uint64_t shared = 0;
  std::uint64_t exclusive = 0;
  for (const auto& slot : queue) {
    if (!slot.held) continue;
    ++holders;
    (slot.mode == access::shared ? shared : exclusive) += 1;
  }
  std::vector<std::size_t> granted;
  for (std::size_t i = 0; i < queue.size(); ++i) {
    auto& slot = queue[i];
    if (slot.held) continue;
    bool fits = slot.mode == access::shared ? exclusive == 0 : (holders < slot.limit && shared == 0);
    if (!fits) break;
    slot.held = true;
    ++holders;
    (slot.mode == access::shared ? shared : exclusive) += 1;
    granted.push_back(i);
  }
  return granted;
}

}  // namespace weft::lock::detail
