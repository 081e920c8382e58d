#include "weft/lock/lease.hpp"

namespace weft::lock {

lease_state::lease_state(std::string name, std::uint64_t token, std::chrono::nanoseconds ttl)
    : name_(std::move(name)), token_(token), ttl_(ttl) {}

lease_state::~lease_state() = default;

void lease_state::mark_lost(std::string reason) noexcept {
  std::vector<std::pair<std::uint64_t, std::function<void()>>> to_run;
  {
    std::lock_guard guard(mutex_);
    if (lost_.load(std::memory_order_relaxed)) return;
    try {
      lost_reason_ = std::move(reason);
    } catch (...) {
    }
    lost_.store(true, std::memory_order_release);
    to_run.swap(callbacks_);
  }
  for (auto& [id, callback] : to_run) {
    try {
      callback();
    } catch (...) {
    }
  }
}

std::string lease_state::lost_reason() const {
  std::lock_guard guard(mutex_);
  return lost_reason_;
}

std::uint64_t lease_state::on_lost(std::function<void()> callback) {
  {
    std::lock_guard guard(mutex_);
    if (!lost_.load(std::memory_order_relaxed)) {
      auto id = next_callback_id_++;
      callbacks_.emplace_back(id, std::move(callback));
      return id;
    }
  }
  callback();
  return 0;
}

void lease_state::remove_lost_callback(std::uint64_t id) noexcept {
  std::lock_guard guard(mutex_);
  std::erase_if(callbacks_, [id](const auto& entry) { return entry.first == id; });
}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    if (state_) state_->release_detached();
    state_ = std::move(other.state_);
  }
  return *this;
}

lease::~lease() {
  if (state_) state_->release_detached();
}

const std::string& lease::name() const noexcept {
  static const std::string empty;
  return state_ ? state_->name() : empty;
}

std::string lease::lost_reason() const {
  if (!state_) return "the lease is empty or was released";
  return state_->lost_reason();
}

result<void> lease_state::release_now() {
  return fail(errc::unsupported, "this store releases only through release() on a runtime");
}

void lease_state::start_upkeep() noexcept {}

result<void> lease::release_now() {
  if (!state_) return fail(errc::invalid_argument, "release_now() on an empty or already released lease");
  auto released = state_->release_now();
  if (!released && released.error().code() == errc::unsupported) return released;
  state_.reset();
  return released;
}

task<result<void>> lease::release() {
  auto state = std::move(state_);
  if (!state) co_return fail(errc::invalid_argument, "release() on an empty or already released lease");
  co_return co_await state->release();
}

}  // namespace weft::lock
