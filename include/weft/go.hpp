// weft::go: start a task, like Go's `go` statement.
//
//   auto h = weft::go(fetch(url));                 // a task
//   weft::go([conn]() -> task<> { ... });           // a callable returning a task
//
// Where the task runs: called on a runtime thread (a worker or a
// spawn_blocking thread), on that runtime; called anywhere else, on the
// runtime most recently entered through block_on (throws std::logic_error
// when there is none). A callable is moved into the task's frame, so its
// captures live as long as the task (beware: a lambda coroutine's captures
// are NOT kept alive when you call it yourself and pass the task).
//
// The returned join_handle may be dropped: the task then runs detached.
//
// Thread-safety: callable from any thread.
#pragma once

#include <utility>

#include "weft/detail/spawn.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

template <typename T>
join_handle<T> go(task<T> body) {
  return detail::spawn_on(detail::spawn_target(), std::move(body));
}

template <detail::task_factory F>
auto go(F&& callable) {
  return go(detail::adopt_callable(std::forward<F>(callable)));
}

}  // namespace weft
