// weft::lock::recipe_base: what every recipe (mutex, rw_mutex, semaphore,
// election) is: a store, a name and lease options, plus the one call that
// turns them into a store request. The recipes add only their own verbs.
//
// Thread-safety: a cheap value; copies may be used from any number of tasks
// at once. Cancel safety: as store::acquire.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "weft/context.hpp"
#include "weft/lock/lease.hpp"
#include "weft/lock/store.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock {

class recipe_base {
 public:
  const std::string& name() const noexcept { return name_; }
  const std::shared_ptr<store>& where() const noexcept { return store_; }

 protected:
  recipe_base(std::shared_ptr<store> where, std::string name, lease_options options)
      : store_(std::move(where)), name_(std::move(name)), options_(options) {}

  // errc::invalid_argument for a missing store, a bad name or bad options.
  static result<void> check(const std::shared_ptr<store>& where, std::string_view name,
                            const lease_options& options);

  // store::acquire of (kind, name) with this recipe's lease options.
  task<result<lease>> request(recipe kind, access mode, std::uint64_t limit, bool wait,
                              context ctx, std::string value = {}) const;

  std::shared_ptr<store> store_;
  std::string name_;
  lease_options options_;
};

}  // namespace weft::lock
