// Compiled into every target that links weft::lock_redis (an INTERFACE source),
// so redis:// and redlock:// are registered before main() without depending on
// the linker keeping an unreferenced object from a static library.
namespace weft::lock {
void register_redis_store();
}

namespace {
[[maybe_unused]] const bool weft_lock_redis_registered = (weft::lock::register_redis_store(), true);
}
