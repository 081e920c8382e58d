// The out-of-line part of {fmt}, compiled into the statically linked weft
// tool (Debian ships libfmt only as a shared library). See CMakeLists.txt:
// a static weft starts in about half the time of a dynamic one, which is
// what `weft lock` costs per guarded command.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
// The instantiations libfmt.so exports and format.h declares extern.
template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl<char>(locale_ref) -> char;
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
template FMT_API locale_ref::locale_ref(const std::locale&);
}  // namespace detail
FMT_END_NAMESPACE
