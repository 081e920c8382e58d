#include "io_glue.hpp"

#include "weft/go.hpp"
#include "weft/io.hpp"

namespace weft::lock::redis_detail {

task<result<void>> wait_readable(int fd, clock::time_point deadline) {
  co_return co_await weft::readable(fd, deadline);
}

task<result<void>> wait_writable(int fd, clock::time_point deadline) {
  co_return co_await weft::writable(fd, deadline);
}

void spawn(task<void> work) { (void)weft::go(std::move(work)); }

}  // namespace weft::lock::redis_detail
