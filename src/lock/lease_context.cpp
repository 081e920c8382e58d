// The parts of lease that need weft::context (and so the runtime).
#include <utility>

#include "weft/context.hpp"
#include "weft/lock/lease.hpp"

namespace weft::lock {

namespace {
struct lost_signal {
  context ctx;
  cancel_func cancel;
};

context cancelled_context() {
  auto [ctx, cancel] = with_cancel(context::background());
  cancel(errc::lease_lost);
  return ctx;
}
}  // namespace

context lease_state::lost_context() const {
  std::shared_ptr<lost_signal> signal;
  {
    std::lock_guard guard(mutex_);
    if (lost_context_) return std::static_pointer_cast<lost_signal>(lost_context_)->ctx;
    auto [ctx, cancel] = with_cancel(context::background());
    signal = std::make_shared<lost_signal>(lost_signal{std::move(ctx), std::move(cancel)});
    lost_context_ = signal;
  }
  // Fires at once if the lease is already lost.
  const_cast<lease_state*>(this)->on_lost([signal] { signal->cancel(errc::lease_lost); });
  return signal->ctx;
}

context lease::lost() const {
  if (!state_) return cancelled_context();
  return state_->lost_context();
}

}  // namespace weft::lock
