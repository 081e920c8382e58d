// Compiled into every target that links weft::lock_file (an INTERFACE source),
// so the "file" scheme is registered before main() without depending on the
// linker keeping an unreferenced object from a static library.
namespace weft::lock {
void register_file_store();
}

namespace {
[[maybe_unused]] const bool weft_lock_file_registered = (weft::lock::register_file_store(), true);
}
