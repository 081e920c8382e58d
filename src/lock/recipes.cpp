// recipe_base, mutex, rw_mutex, semaphore and election: thin values over store::acquire.
#include "weft/context.hpp"
#include "weft/lock/election.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/rw_mutex.hpp"
#include "weft/lock/semaphore.hpp"

namespace weft::lock {

// ---------------------------------------------------------------- recipe_base

result<void> recipe_base::check(const std::shared_ptr<store>& where, std::string_view name,
                                const lease_options& options) {
  if (!where) return fail(errc::invalid_argument, "no store given: open one with weft::lock::open(uri)");
  if (auto ok = check_name(name); !ok) return ok;
  return check_options(options);
}

task<result<lease>> recipe_base::request(recipe kind, access mode, std::uint64_t limit, bool wait, context ctx,
                                         std::string value) const {
  acquire_request wanted;
  wanted.kind = kind;
  wanted.name = name_;
  wanted.mode = mode;
  wanted.limit = limit;
  wanted.options = options_;
  wanted.wait = wait;
  wanted.value = std::move(value);
  return store_->acquire(std::move(wanted), std::move(ctx));
}

// ---------------------------------------------------------------- mutex

result<mutex> mutex::make(std::shared_ptr<store> where, std::string_view name, lease_options options) {
  if (auto ok = check(where, name, options); !ok) return fail(std::move(ok).error());
  return mutex(std::move(where), std::string(name), options);
}

task<result<lease>> mutex::lock(context ctx) const {
  return request(recipe::mutex, access::exclusive, 1, true, std::move(ctx));
}

task<result<lease>> mutex::try_lock(context ctx) const {
  return request(recipe::mutex, access::exclusive, 1, false, std::move(ctx));
}

// ---------------------------------------------------------------- rw_mutex

result<rw_mutex> rw_mutex::make(std::shared_ptr<store> where, std::string_view name, lease_options options) {
  if (auto ok = check(where, name, options); !ok) return fail(std::move(ok).error());
  return rw_mutex(std::move(where), std::string(name), options);
}

task<result<lease>> rw_mutex::lock(context ctx) const {
  return request(recipe::rw_mutex, access::exclusive, 1, true, std::move(ctx));
}
task<result<lease>> rw_mutex::try_lock(context ctx) const {
  return request(recipe::rw_mutex, access::exclusive, 1, false, std::move(ctx));
}
task<result<lease>> rw_mutex::lock_shared(context ctx) const {
  return request(recipe::rw_mutex, access::shared, 1, true, std::move(ctx));
}
task<result<lease>> rw_mutex::try_lock_shared(context ctx) const {
  return request(recipe::rw_mutex, access::shared, 1, false, std::move(ctx));
}

// ---------------------------------------------------------------- semaphore

result<semaphore> semaphore::make(std::shared_ptr<store> where, std::string_view name, std::uint64_t permits,
                                  lease_options options) {
  if (auto ok = check(where, name, options); !ok) return fail(std::move(ok).error());
  if (permits == 0 || permits > max_permits)
    return fail(errc::invalid_argument, "invalid permit count " + std::to_string(permits) +
                                            ": a semaphore needs between 1 and " + std::to_string(max_permits) +
                                            " permits");
  return semaphore(std::move(where), std::string(name), permits, options);
}

task<result<lease>> semaphore::acquire(context ctx) const {
  return request(recipe::semaphore, access::exclusive, permits_, true, std::move(ctx));
}

task<result<lease>> semaphore::try_acquire(context ctx) const {
  return request(recipe::semaphore, access::exclusive, permits_, false, std::move(ctx));
}

// ---------------------------------------------------------------- election

result<election> election::make(std::shared_ptr<store> where, std::string_view name, lease_options options) {
  if (auto ok = check(where, name, options); !ok) return fail(std::move(ok).error());
  return election(std::move(where), std::string(name), options);
}

task<result<lease>> election::campaign(context ctx, std::string value) const {
  return request(recipe::election, access::exclusive, 1, true, std::move(ctx), std::move(value));
}

task<result<lease>> election::try_campaign(context ctx, std::string value) const {
  return request(recipe::election, access::exclusive, 1, false, std::move(ctx), std::move(value));
}

namespace {
std::optional<leader> first_leader(const std::vector<holder_info>& holders) {
  if (holders.empty()) return std::nullopt;
  const auto& h = holders.front();
  return leader{h.token, h.value, h.holder, h.time_left};
}
}  // namespace

task<result<std::optional<leader>>> election::current(context ctx) const {
  auto holders = co_await store_->holders(recipe::election, name_, std::nullopt, std::move(ctx));
  if (!holders) co_return fail(std::move(holders).error());
  co_return first_leader(*holders);
}

task<result<std::optional<leader>>> election::observe(context ctx, std::optional<std::uint64_t> last_token) const {
  std::optional<std::vector<std::uint64_t>> known;
  if (last_token) known = *last_token == 0 ? std::vector<std::uint64_t>{} : std::vector<std::uint64_t>{*last_token};
  auto holders = co_await store_->holders(recipe::election, name_, std::move(known), std::move(ctx));
  if (!holders) co_return fail(std::move(holders).error());
  co_return first_leader(*holders);
}

}  // namespace weft::lock
