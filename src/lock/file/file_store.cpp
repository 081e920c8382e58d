// file:///dir: the store for processes on one host; see engine.hpp for how
// it works and docs/LOCKS.md for what it guarantees.
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "lock/file/engine.hpp"
#include "lock/one_shot.hpp"
#include "weft/context.hpp"
#include "weft/lock/store.hpp"
#include "weft/spawn_blocking.hpp"

namespace weft::lock {

namespace {

using file_detail::file_engine;

class file_store final : public store {
 public:
  file_store(std::string uri, std::shared_ptr<file_engine> engine) : uri_(std::move(uri)), engine_(std::move(engine)) {}

  std::string uri() const override { return uri_; }

  task<result<lease>> acquire(acquire_request request, context ctx) override {
    if (auto ok = ctx.check(); !ok) co_return fail(std::move(ok).error());
    auto slot = std::make_shared<detail::fd_slot<result<lease>>>();
    if (!slot->valid()) co_return fail(errc::io, "cannot create an eventfd to wait on (out of file descriptors?)");
    auto engine = engine_;
    // Inline when the queue's lock is free (the common case: a few file
    // syscalls); when another process holds it, finish on the blocking pool.
    auto queued = engine->enqueue(
        request, [slot](result<lease> outcome) { slot->set(std::move(outcome)); }, false);
    if (queued && queued->would_block) {
      auto prepared = queued->who;
      // Lambdas given to spawn_blocking capture by reference only: GCC 12
      // destroys non-trivial temporaries of a co_await expression twice.
      queued = co_await weft::spawn_blocking([&] { return engine->join_queue(prepared, true); });
    }
    if (!queued) {
      if (queued.error().code() == errc::contended)
        co_return fail(errc::contended, "the " + std::string(to_string(request.kind)) + " " +
                                            detail::printable(request.name) + " is held by another client");
      co_return fail(std::move(queued).error());
    }
    if (queued->granted) co_return std::move(*queued->granted);
    auto who = queued->who;
    {
      context_callback on_cancel(ctx, [slot] { slot->set(fail(errc::canceled, "cancelled")); });
      auto outcome = co_await slot->wait();
      if (outcome || ctx.err() == errc::ok) co_return outcome;
    }
    // Cancelled: leave the queue. If the grant won the race, the lease it
    // delivered was dropped by the slot and released itself.
    co_await weft::spawn_blocking([&] { return engine->cancel(who); });
    auto why = ctx.check();
    co_return fail(why ? errc::canceled : why.error().code(),
                   "gave up waiting for the " + std::string(to_string(request.kind)) + " " +
                       detail::printable(request.name) + ": " +
                       (why ? std::string("cancelled") : std::string(why.error().message())));
  }

  result<lease> acquire_now(const acquire_request& request) override {
    acquire_request once = request;
    once.wait = false;
    auto queued = engine_->enqueue(once, nullptr, false);
    // Another thread or process is changing the queue right now, which takes
    // a few syscalls: look again a few times, then give up rather than wait
    // on its lock here (that wait could not be cancelled).
    for (int attempt = 0; attempt < 20 && queued && queued->would_block; ++attempt) {
      ::usleep(50);
      auto prepared = queued->who;
      queued = engine_->join_queue(prepared, false);
    }
    if (queued && queued->would_block) {
      engine_->abandon(queued->who);
      return fail(errc::unsupported, "the queue is busy; acquire() waits for it");
    }
    if (!queued) {
      if (queued.error().code() == errc::contended)
        return fail(errc::contended, "the " + std::string(to_string(request.kind)) + " " +
                                         detail::printable(request.name) + " is held by another client");
      return fail(std::move(queued).error());
    }
    return std::move(*queued->granted);
  }

  task<result<std::vector<lock_info>>> list(std::string prefix, context) override {
    auto engine = engine_;
    auto listed = co_await weft::spawn_blocking([&] { return engine->list(prefix); });
    co_return listed;
  }

  task<result<std::vector<holder_info>>> holders(recipe kind, std::string name,
                                                 std::optional<std::vector<std::uint64_t>> known,
                                                 context ctx) override {
    auto engine = engine_;
    for (;;) {
      if (auto ok = ctx.check(); !ok) co_return fail(std::move(ok).error());
      std::int64_t next_expiry = 0;
      auto now = co_await weft::spawn_blocking(
          [&] { return engine->holders(kind, name, &next_expiry); });
      if (!now) co_return now;
      if (!known || tokens(*now) != *known) co_return now;
      // Wait for the queue to change, or for the holder's expiry (to evict a
      // holder that stopped renewing), or for the context.
      auto changed = std::make_shared<detail::fd_slot<bool>>();
      if (!changed->valid()) co_return fail(errc::io, "cannot create an eventfd to wait on");
      std::int64_t deadline = next_expiry ? next_expiry + 1'000'000 : 0;
      auto id = co_await weft::spawn_blocking(
          [&] { return engine->watch(kind, name, deadline, [changed] { changed->set(true); }); });
      if (!id) co_return fail(std::move(id).error());
      // A change between the read and the watch would be missed: read again.
      auto again = co_await weft::spawn_blocking(
          [&] { return engine->holders(kind, name, nullptr); });
      if (!again || tokens(*again) != *known) {
        engine->unwatch(*id);
        co_return again;
      }
      {
        context_callback on_cancel(ctx, [changed] { changed->set(false); });
        co_await changed->wait();
      }
      engine->unwatch(*id);
    }
  }

 private:
  static std::vector<std::uint64_t> tokens(const std::vector<holder_info>& holders) {
    std::vector<std::uint64_t> out;
    for (const auto& h : holders) out.push_back(h.token);
    return out;
  }

  std::string uri_;
  std::shared_ptr<file_engine> engine_;
};

result<std::shared_ptr<store>> open_file_store(const store_uri& uri) {
  if (!uri.user.empty() || uri.has_password) return fail(errc::invalid_argument, "file:// takes no credentials");
  if (!uri.hosts.empty() && uri.hosts[0].host != "localhost")
    return fail(errc::invalid_argument, "invalid file:// URI \"" + uri.redacted() +
                                            "\": it takes no host; write file:///absolute/dir (three slashes)");
  if (uri.path.empty() || uri.path == "/")
    return fail(errc::invalid_argument, "invalid file:// URI \"" + uri.redacted() +
                                            "\": give the store directory, as in file:///var/lib/weft");
  if (!uri.query.empty())
    return fail(errc::invalid_argument, "invalid file:// URI \"" + uri.redacted() + "\": it takes no parameters");
  // One engine (two threads, one inotify instance) per directory per
  // process, however many times it is opened.
  static std::mutex engines_mutex;
  static std::map<std::string, std::weak_ptr<file_engine>> engines;
  std::shared_ptr<file_engine> engine;
  {
    std::lock_guard guard(engines_mutex);
    if (auto it = engines.find(uri.path); it != engines.end()) engine = it->second.lock();
    if (!engine) {
      auto opened = file_engine::open(uri.path);
      if (!opened) return fail(std::move(opened).error());
      engine = std::move(*opened);
      std::erase_if(engines, [](const auto& entry) { return entry.second.expired(); });
      engines[uri.path] = engine;
    }
  }
  return std::shared_ptr<store>(std::make_shared<file_store>(uri.redacted(), std::move(engine)));
}

}  // namespace

void register_file_store() { register_store("file", &open_file_store); }

}  // namespace weft::lock
