// weft::runtime: the M:N scheduler that runs tasks on worker threads.
//
// Workers each own a bounded lock-free run queue plus a LIFO slot for the
// task they just woke; idle workers steal half of a victim's queue and then
// park (an idle runtime uses no CPU). Timers, the epoll poller and a bounded
// pool for blocking calls belong to the runtime.
//
//   weft::runtime rt;                        // one worker per core
//   int v = rt.block_on(main_task());        // run from main, rethrows
//
// With `virtual_time`, the runtime is single-threaded and deterministic: it
// runs on the thread that calls block_on, and its clock stands still while
// tasks run and jumps to the next timer once every task is parked (like
// Tokio's paused time), so a minute-long sleep completes at once.
//
// Thread-safety: spawn() may be called from any thread. block_on() must not
// be called from inside a runtime thread. The destructor stops and joins the
// workers; tasks still parked then are abandoned, not resumed.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spawn.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"

namespace weft {

struct runtime_options {
  std::size_t workers = 0;  // 0 = std::thread::hardware_concurrency()
  bool virtual_time = false;  // single-threaded, deterministic, virtual clock
  std::size_t blocking_threads = 64;  // cap of the spawn_blocking pool
};

namespace detail {

// Where block_on's result lands; written by the wrapper task, read by main.
template <typename T>
struct block_on_state {
  std::atomic<std::uint32_t> done{0};
  std::optional<T> value;
  std::exception_ptr error;
};
template <>
struct block_on_state<void> {
  std::atomic<std::uint32_t> done{0};
  std::exception_ptr error;
};

// Marks the state done and wakes the thread in block_on.
void block_on_finish(std::atomic<std::uint32_t>& done) noexcept;

template <typename T>
task<void> block_on_body(task<T> body, block_on_state<T>* state) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(body);
    } else {
      state->value.emplace(co_await std::move(body));
    }
  } catch (...) {
    state->error = std::current_exception();
  }
  block_on_finish(state->done);
}

template <typename T>
struct is_task : std::false_type {};
template <typename T>
struct is_task<task<T>> : std::true_type {};

// Keeps a callable alive in a coroutine frame for as long as its task runs.
template <typename F, typename T = typename std::invoke_result_t<F&>::value_type>
  requires(!std::is_void_v<T>)
task<T> call_owned(F callable) {
  co_return co_await callable();
}
template <typename F, typename T = typename std::invoke_result_t<F&>::value_type>
  requires std::is_void_v<T>
task<void> call_owned(F callable) {
  co_await callable();
}

template <typename T>
join_handle<T> spawn_on(scheduler* s, task<T> body) {
  auto frame = body.release();
  if (!frame) return {};
  spawn_frame(s, frame.promise(), frame, false);
  return join_handle<T>(frame);
}

// Turns a callable returning task<T> into a task that owns the callable.
// A stateless callable (captureless lambda) needs no extra frame.
template <typename F>
auto adopt_callable(F&& callable) {
  using function = std::decay_t<F>;
  if constexpr (std::is_empty_v<function> && std::is_trivially_copyable_v<function>) {
    return callable();
  } else {
    return call_owned<function>(function(std::forward<F>(callable)));
  }
}

template <typename F>
concept task_factory = std::invocable<std::decay_t<F>&> &&
                       is_task<std::invoke_result_t<std::decay_t<F>&>>::value;

}  // namespace detail

class runtime {
 public:
  explicit runtime(runtime_options options = {});
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Runs `body` to completion from a non-runtime thread (typically main) and
  // returns its value, or rethrows its exception. While it runs, `go` called
  // from threads outside any runtime spawns onto this runtime.
  template <typename T>
  T block_on(task<T> body) {
    detail::block_on_state<T> state;
    auto wrapper = detail::block_on_body<T>(std::move(body), &state);
    run_until_done(std::move(wrapper), state.done);
    if (state.error) std::rethrow_exception(state.error);
    if constexpr (!std::is_void_v<T>) return std::move(*state.value);
  }

  // Starts `body` on this runtime; callable from any thread.
  template <typename T>
  join_handle<T> spawn(task<T> body) {
    return detail::spawn_on(scheduler_.get(), std::move(body));
  }
  template <detail::task_factory F>
  auto spawn(F&& callable) {
    return spawn(detail::adopt_callable(std::forward<F>(callable)));
  }

  // Number of worker threads (1 in virtual-time mode: the block_on thread).
  std::size_t workers() const noexcept;

  detail::scheduler* native_scheduler() const noexcept { return scheduler_.get(); }

 private:
  void run_until_done(task<void> wrapper, std::atomic<std::uint32_t>& done);

  std::unique_ptr<detail::scheduler> scheduler_;
};

}  // namespace weft
