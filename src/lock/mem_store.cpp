// mem://[name]: the in-process store. Every open() of the same mem:// URI in a
// process shares one instance. A queue per (recipe, name) under one mutex;
// a release hands the lock straight to the next waiter (no herd). Holder and
// store share a process, so a mem:// lease never expires: lost() fires only
// if the lease is evicted by a bug. Tokens start at 1 per name and rise for
// the life of the process.
#include <algorithm>
#include <list>
#include <map>
#include <mutex>

#include "lock/grant.hpp"
#include "lock/one_shot.hpp"
#include "weft/context.hpp"
#include "weft/lock/store.hpp"

namespace weft::lock {

namespace {

using key = std::pair<recipe, std::string>;

struct mem_entry {
  std::uint64_t id = 0;
  access mode = access::exclusive;
  std::uint64_t limit = 1;
  bool held = false;
  std::uint64_t token = 0;
  std::string value;
  std::chrono::nanoseconds ttl{0};
  std::shared_ptr<detail::one_shot<result<lease>>> slot;  // while waiting
};

struct mem_queue {
  std::vector<mem_entry> entries;
  std::uint64_t last_token = 0;
  std::vector<std::shared_ptr<detail::one_shot<bool>>> observers;
};

class mem_core : public std::enable_shared_from_this<mem_core> {
 public:
  struct pending_grant {
    std::shared_ptr<detail::one_shot<result<lease>>> slot;
    key which;
    std::uint64_t id;
    std::uint64_t token;
    std::chrono::nanoseconds ttl;
  };

  // Grants what fits in `q`; collects the wake-ups to run after unlocking.
  void settle_locked(const key& which, mem_queue& q, std::vector<pending_grant>& grants,
                     std::vector<std::shared_ptr<detail::one_shot<bool>>>& observers, bool changed) {
    std::vector<detail::queue_slot> slots;
    for (const auto& e : q.entries) slots.push_back({e.mode, e.limit, e.held});
    for (auto index : detail::grant(slots)) {
      auto& e = q.entries[index];
      e.held = true;
      e.token = ++q.last_token;
      if (e.slot) grants.push_back({std::exchange(e.slot, nullptr), which, e.id, e.token, e.ttl});
      changed = true;
    }
    if (changed) {
      for (auto& o : q.observers) observers.push_back(std::move(o));
      q.observers.clear();
    }
  }

  void deliver(std::vector<pending_grant>& grants, std::vector<std::shared_ptr<detail::one_shot<bool>>>& observers);
  lease make_lease(const key& which, std::uint64_t id, std::uint64_t token, std::chrono::nanoseconds ttl);
  // Removes entry `id`; false when it was not there.
  bool remove(const key& which, std::uint64_t id, bool only_waiting) {
    std::vector<pending_grant> grants;
    std::vector<std::shared_ptr<detail::one_shot<bool>>> observers;
    bool removed = false;
    {
      std::lock_guard guard(mutex);
      auto it = queues.find(which);
      if (it == queues.end()) return false;
      auto& entries = it->second.entries;
      auto e = std::find_if(entries.begin(), entries.end(), [id](const auto& x) { return x.id == id; });
      if (e != entries.end() && !(only_waiting && e->held)) {
        entries.erase(e);
        removed = true;
        settle_locked(which, it->second, grants, observers, true);
      }
    }
    deliver(grants, observers);
    return removed;
  }

  std::mutex mutex;
  std::map<key, mem_queue> queues;
  std::uint64_t next_id = 1;
};

class mem_lease final : public lease_state {
 public:
  mem_lease(std::shared_ptr<mem_core> core, key which, std::uint64_t id, std::uint64_t token,
            std::chrono::nanoseconds ttl)
      : lease_state(which.second, token, ttl), core_(std::move(core)), which_(std::move(which)), id_(id) {}
  task<result<void>> release() override {
    release_detached();
    co_return result<void>{};
  }
  void release_detached() noexcept override {
    if (released_.exchange(true)) return;
    try {
      core_->remove(which_, id_, false);
    } catch (...) {
    }
  }

 private:
  std::shared_ptr<mem_core> core_;
  key which_;
  std::uint64_t id_;
  std::atomic<bool> released_{false};
};

lease mem_core::make_lease(const key& which, std::uint64_t id, std::uint64_t token, std::chrono::nanoseconds ttl) {
  return lease(std::make_shared<mem_lease>(shared_from_this(), which, id, token, ttl));
}

void mem_core::deliver(std::vector<pending_grant>& grants,
                       std::vector<std::shared_ptr<detail::one_shot<bool>>>& observers) {
  for (auto& g : grants) {
    // If the waiter gave up in the meantime its slot is already set; the
    // lease is then dropped here, which releases it.
    g.slot->set(make_lease(g.which, g.id, g.token, g.ttl));
  }
  for (auto& o : observers) o->set(true);
}

class mem_store final : public store {
 public:
  explicit mem_store(std::string uri) : uri_(std::move(uri)), core_(std::make_shared<mem_core>()) {}

  std::string uri() const override { return uri_; }

  task<result<lease>> acquire(acquire_request request, context ctx) override {
    if (auto ok = ctx.check(); !ok) co_return fail(std::move(ok).error());
    key which{request.kind, request.name};
    auto slot = std::make_shared<detail::one_shot<result<lease>>>();
    std::vector<mem_core::pending_grant> grants;
    std::vector<std::shared_ptr<detail::one_shot<bool>>> observers;
    std::uint64_t id;
    std::optional<std::uint64_t> token;
    {
      std::lock_guard guard(core_->mutex);
      auto& q = core_->queues[which];
      id = core_->next_id++;
      mem_entry e;
      e.id = id;
      e.mode = request.mode;
      e.limit = request.limit;
      e.value = request.value;
      e.ttl = request.options.ttl;
      e.slot = slot;
      q.entries.push_back(std::move(e));
      core_->settle_locked(which, q, grants, observers, true);
      auto self = std::find_if(q.entries.begin(), q.entries.end(), [id](const auto& x) { return x.id == id; });
      if (self->held) {
        token = self->token;
        std::erase_if(grants, [id](const auto& g) { return g.id == id; });
      } else if (!request.wait) {
        q.entries.erase(self);
      }
    }
    core_->deliver(grants, observers);
    if (token) co_return core_->make_lease(which, id, *token, request.options.ttl);
    if (!request.wait)
      co_return fail(errc::contended, "the " + std::string(to_string(request.kind)) + " " +
                                          detail::printable(request.name) + " is held by another client");
    {
      context_callback on_cancel(ctx, [slot, &ctx] { slot->set(fail(ctx.err(), "cancelled")); });
      auto outcome = co_await slot->wait();
      if (outcome) co_return outcome;
    }
    // Cancelled (or the grant raced the cancellation: then the dropped lease
    // released itself already and removing finds nothing).
    core_->remove(which, id, true);
    auto why = ctx.check();
    co_return fail(why ? errc::canceled : why.error().code(),
                   "gave up waiting for the " + std::string(to_string(request.kind)) + " " +
                       detail::printable(request.name) + ": " +
                       (why ? std::string("cancelled") : std::string(why.error().message())));
  }

  task<result<std::vector<lock_info>>> list(std::string prefix, context) override {
    std::vector<lock_info> out;
    std::lock_guard guard(core_->mutex);
    for (const auto& [which, q] : core_->queues) {
      if (which.second.compare(0, prefix.size(), prefix) != 0 || q.entries.empty()) continue;
      lock_info info;
      info.kind = which.first;
      info.name = which.second;
      for (const auto& e : q.entries) {
        if (!e.held) {
          ++info.waiters;
          continue;
        }
        info.holders.push_back(holder_info{e.token, e.mode, e.value, "task " + std::to_string(e.id), std::chrono::nanoseconds::max()});
      }
      out.push_back(std::move(info));
    }
    co_return out;
  }

  task<result<std::vector<holder_info>>> holders(recipe kind, std::string name,
                                                 std::optional<std::vector<std::uint64_t>> known,
                                                 context ctx) override {
    key which{kind, name};
    for (;;) {
      if (auto ok = ctx.check(); !ok) co_return fail(std::move(ok).error());
      auto changed = std::make_shared<detail::one_shot<bool>>();
      std::vector<holder_info> now;
      {
        std::lock_guard guard(core_->mutex);
        auto& q = core_->queues[which];
        std::vector<std::uint64_t> tokens;
        for (const auto& e : q.entries) {
          if (!e.held) continue;
          tokens.push_back(e.token);
          now.push_back(holder_info{e.token, e.mode, e.value, "task " + std::to_string(e.id),
                                    std::chrono::nanoseconds::max()});
        }
        if (!known || tokens != *known) co_return now;
        q.observers.push_back(changed);
      }
      context_callback on_cancel(ctx, [changed] { changed->set(false); });
      co_await changed->wait();
    }
  }

 private:
  std::string uri_;
  std::shared_ptr<mem_core> core_;
};

}  // namespace

result<std::shared_ptr<store>> open_mem_store(const store_uri& uri) {
  if (!uri.user.empty() || uri.has_password)
    return fail(errc::invalid_argument, "mem:// takes no credentials");
  if (uri.hosts.size() > 1 || (!uri.path.empty() && uri.path != "/") || !uri.query.empty())
    return fail(errc::invalid_argument, "invalid mem:// URI \"" + uri.redacted() +
                                            "\": use mem:// or mem://NAME (no path, port or parameters)");
  if (!uri.hosts.empty() && uri.hosts[0].port != 0)
    return fail(errc::invalid_argument, "invalid mem:// URI \"" + uri.redacted() + "\": a mem:// store has no port");
  std::string name = uri.hosts.empty() ? std::string() : uri.hosts[0].host;
  static std::mutex instances_mutex;
  static std::map<std::string, std::shared_ptr<store>> instances;
  std::lock_guard guard(instances_mutex);
  auto& instance = instances[name];
  if (!instance) instance = std::make_shared<mem_store>("mem://" + name);
  return instance;
}

}  // namespace weft::lock
