#include "lock_session.hpp"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <mutex>

#include "operator_support.hpp"
#include "weft/context.hpp"
#include "weft/lock/election.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/semaphore.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft::cli {

namespace {

// One worker is plenty for a CLI: it renews one lease and waits on the store.
runtime_options small_runtime() {
  runtime_options o;
  o.workers = 1;
  o.blocking_threads = 4;
  return o;
}

}  // namespace

// The runtime starts on first use: `weft lock` on the file store takes and
// gives back its lock on the main thread (store::acquire_now,
// lease::release_now) and never needs one.
class lazy_runtime {
 public:
  runtime& get() {
    if (!rt_) rt_.emplace(small_runtime());
    return *rt_;
  }

 private:
  std::optional<runtime> rt_;
};

struct lock_session::impl {
  lazy_runtime rt;
  std::shared_ptr<lock::store> store;
};

struct held_lease::impl {
  lock::lease lease;
  // Shared with the lost callback, which may still be running (on a store
  // thread) after remove_lost_callback returns.
  std::shared_ptr<notifier> lost = std::make_shared<notifier>();
  std::uint64_t callback_id = 0;
  lazy_runtime* rt = nullptr;
  ~impl() {
    if (lease.held() && callback_id != 0) lease.state()->remove_lost_callback(callback_id);
  }
};

held_lease::held_lease(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
held_lease::held_lease(held_lease&&) noexcept = default;
held_lease& held_lease::operator=(held_lease&&) noexcept = default;
held_lease::~held_lease() = default;

std::uint64_t held_lease::token() const { return impl_->lease.token(); }
void held_lease::start_upkeep() noexcept { impl_->lease.start_upkeep(); }
int held_lease::lost_fd() const { return impl_->lost->fd(); }
bool held_lease::lost() const { return impl_->lost->notified() || impl_->lease.is_lost(); }

result<void> held_lease::release() {
  if (!impl_ || !impl_->lease.held()) return {};
  if (impl_->callback_id != 0) {
    impl_->lease.state()->remove_lost_callback(impl_->callback_id);
    impl_->callback_id = 0;
  }
  lock::lease& lease = impl_->lease;
  auto released = lease.release_now();
  if (released || released.error().code() != errc::unsupported) return released;
  return impl_->rt->get().block_on([](lock::lease& l) -> task<result<void>> {
    co_return co_await l.release();
  }(lease));
}

lock_session::lock_session(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
lock_session::~lock_session() = default;

result<std::unique_ptr<lock_session>> lock_session::open(const std::string& uri) {
  auto state = std::make_unique<impl>();
  auto store = lock::open(uri);
  if (!store) return fail(std::move(store).error());
  state->store = std::move(*store);
  return std::unique_ptr<lock_session>(new lock_session(std::move(state)));
}

namespace {

// Runs `make_task(ctx)` on the runtime while the main thread waits for it or
// for a terminating signal, which cancels the context.
template <typename T, typename MakeTask>
result<T> run_cancellable(lazy_runtime& lazy, signal_guard& signals, int& signal, MakeTask make_task) {
  runtime& rt = lazy.get();
  auto [ctx, cancel] = with_cancel(context::background());
  notifier done;
  std::optional<result<T>> out;
  rt.spawn([&out, &done, make_task, ctx = ctx]() -> task<void> {
    out.emplace(co_await make_task(ctx));
    done.notify();
  });
  if (wait_readable_or_signal(done.fd(), signals, signal) == wait_outcome::signalled) cancel();
  int ignored = 0;
  while (!done.notified()) {
    // Further signals while the cancellation lands are folded into the first.
    (void)wait_readable_or_signal(done.fd(), signals, ignored);
  }
  return std::move(*out);
}

result<held_lease> adopt(lock::lease lease, lazy_runtime& rt) {
  auto held = std::make_unique<held_lease::impl>();
  held->rt = &rt;
  held->lease = std::move(lease);
  held->callback_id =
      held->lease.state()->on_lost([lost = held->lost] { lost->notify(); });
  return held_lease(std::move(held));
}

lock::lease_options options_for(const hold_request& request) {
  lock::lease_options o;
  o.ttl = request.ttl;
  return o;
}

}  // namespace

namespace {

// Tries the lock on this thread, without a runtime (store::acquire_now).
// nullopt when the runtime path must decide: the store cannot answer at
// once, or the lock is held and the request may wait for it.
std::optional<result<lock::lease>> acquire_at_once(const std::shared_ptr<lock::store>& store,
                                                   const hold_request& request) {
  lock::acquire_request wanted;
  wanted.name = request.name;
  wanted.options = options_for(request);
  if (request.permits > 0) {
    // As semaphore::make checks it.
    auto sem = lock::semaphore::make(store, request.name, request.permits, wanted.options);
    if (!sem) return result<lock::lease>(fail(std::move(sem).error()));
    wanted.kind = lock::recipe::semaphore;
    wanted.limit = request.permits;
  } else {
    auto m = lock::mutex::make(store, request.name, wanted.options);
    if (!m) return result<lock::lease>(fail(std::move(m).error()));
    wanted.kind = lock::recipe::mutex;
  }
  const bool try_only = request.wait && request.wait->count() == 0;
  wanted.wait = !try_only;
  wanted.defer_upkeep = request.defer_upkeep;
  auto granted = store->acquire_now(wanted);
  if (granted) return granted;
  const errc code = granted.error().code();
  if (code == errc::unsupported || (code == errc::contended && !try_only)) return std::nullopt;
  return granted;
}

}  // namespace

result<held_lease> lock_session::acquire(const hold_request& request, signal_guard& signals,
                                         int& signal) {
  if (auto now = acquire_at_once(impl_->store, request)) {
    if (!*now) return fail(std::move(*now).error());
    return adopt(std::move(**now), impl_->rt);
  }
  auto store = impl_->store;
  auto wait = request.wait;
  auto acquired = run_cancellable<lock::lease>(
      impl_->rt, signals, signal, [store, request, wait](context ctx) -> task<result<lock::lease>> {
        context bounded = ctx;
        if (wait && wait->count() > 0) bounded = with_timeout(ctx, *wait).first;
        const bool try_only = wait && wait->count() == 0;
        if (request.permits > 0) {
          auto sem = lock::semaphore::make(store, request.name, request.permits, options_for(request));
          if (!sem) co_return fail(std::move(sem).error());
          // (No co_await inside ?: : GCC 12 miscompiles that.)
          if (try_only) co_return co_await sem->try_acquire(bounded);
          co_return co_await sem->acquire(bounded);
        }
        auto m = lock::mutex::make(store, request.name, options_for(request));
        if (!m) co_return fail(std::move(m).error());
        if (try_only) co_return co_await m->try_lock(bounded);
        co_return co_await m->lock(bounded);
      });
  if (!acquired) return fail(std::move(acquired).error());
  if (signal != 0) {
    // The grant raced with Ctrl-C: give it back.
    (void)impl_->rt.get().block_on([](lock::lease l) -> task<result<void>> {
      co_return co_await l.release();
    }(std::move(*acquired)));
    return fail(errc::canceled, "interrupted");
  }
  return adopt(std::move(*acquired), impl_->rt);
}

result<held_lease> lock_session::campaign(const hold_request& request, signal_guard& signals,
                                          int& signal) {
  auto store = impl_->store;
  auto led = run_cancellable<lock::lease>(
      impl_->rt, signals, signal, [store, request](context ctx) -> task<result<lock::lease>> {
        auto e = lock::election::make(store, request.name, options_for(request));
        if (!e) co_return fail(std::move(e).error());
        co_return co_await e->campaign(ctx, request.value);
      });
  if (!led) return fail(std::move(led).error());
  if (signal != 0) {
    (void)impl_->rt.get().block_on([](lock::lease l) -> task<result<void>> {
      co_return co_await l.release();
    }(std::move(*led)));
    return fail(errc::canceled, "interrupted");
  }
  return adopt(std::move(*led), impl_->rt);
}

result<void> lock_session::observe(const std::string& name, signal_guard& signals, int& signal,
                                   const std::function<void(const leader_info&)>& on_change) {
  auto e = lock::election::make(impl_->store, name);
  if (!e) return fail(std::move(e).error());
  // Changes flow from the runtime task to the main thread through a queue.
  std::mutex mutex;
  std::deque<leader_info> changes;
  notifier changed;
  auto [ctx, cancel] = with_cancel(context::background());
  notifier done;
  std::optional<result<void>> out;
  lock::election election = *e;
  impl_->rt.get().spawn([&, ctx = ctx]() -> task<void> {
    std::optional<std::uint64_t> seen;
    for (;;) {
      auto now = co_await election.observe(ctx, seen);
      if (!now) {
        out.emplace(fail(std::move(now).error()));
        break;
      }
      leader_info info;
      if (*now) {
        info.present = true;
        info.value = (*now)->value;
        info.token = (*now)->token;
      }
      seen = info.token;
      {
        std::lock_guard guard(mutex);
        changes.push_back(std::move(info));
      }
      changed.notify();
    }
    done.notify();
  });
  for (;;) {
    int got = 0;
    // done as well: the observer task may end (a store error) without a change.
    if (wait_readable_or_signal(changed.fd(), signals, got, done.fd()) ==
        wait_outcome::signalled) {
      signal = got;
      break;
    }
    std::uint64_t drained = 0;
    [[maybe_unused]] ssize_t n = ::read(changed.fd(), &drained, sizeof drained);
    std::deque<leader_info> batch;
    {
      std::lock_guard guard(mutex);
      batch.swap(changes);
    }
    for (const auto& info : batch) on_change(info);
    if (done.notified()) break;
  }
  cancel();
  while (!done.notified()) {
    int ignored = 0;
    (void)wait_readable_or_signal(done.fd(), signals, ignored);
  }
  if (signal != 0 || !out) return {};
  return std::move(*out);
}

std::unique_ptr<lock_session> open_session_for(std::string_view command, const std::string& store_option,
                                               std::string& uri, int& exit_code) {
  auto resolved = resolve_store_uri(store_option);
  if (!resolved) {
    print_command_error(command, resolved.error().message(), "give --store URI, e.g. --store file:///tmp/weft");
    exit_code = operator_exit::usage;
    return nullptr;
  }
  uri = *resolved;
  auto session = lock_session::open(uri);
  if (!session) {
    print_command_error(command, session.error().message(), "check the store URI and that it is reachable");
    exit_code = operator_exit_code(session.error());
    return nullptr;
  }
  return std::move(*session);
}

result<std::vector<lock_listing>> lock_session::list(const std::string& prefix) {
  auto store = impl_->store;
  auto listed = impl_->rt.get().block_on(
      [](std::shared_ptr<lock::store> s, std::string p) -> task<result<std::vector<lock::lock_info>>> {
        auto [ctx, cancel] = with_timeout(context::background(), std::chrono::seconds(30));
        co_return co_await s->list(std::move(p), ctx);
      }(store, prefix));
  if (!listed) return fail(std::move(listed).error());
  std::vector<lock_listing> out;
  for (const auto& info : *listed) {
    lock_listing l;
    l.name = info.name;
    l.kind = std::string(lock::to_string(info.kind));
    l.waiters = info.waiters;
    for (const auto& h : info.holders) {
      lock_listing::holder entry;
      entry.id = h.holder;
      entry.token = h.token;
      entry.mode = h.mode == lock::access::shared ? "shared" : "exclusive";
      entry.value = h.value;
      entry.time_left = std::chrono::duration_cast<std::chrono::milliseconds>(h.time_left);
      l.last_token = std::max(l.last_token, h.token);
      l.holders.push_back(std::move(entry));
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace weft::cli
