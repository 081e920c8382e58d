// The seed's pipeline (section 4.1 of the Go article), the weft way: one task
// sends 0..9 on an unbuffered channel and closes it, another prints what it
// receives, and a wait_group joins both.
#include <cstdio>

#include "weft/chan.hpp"
#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"
#include "weft/wait_group.hpp"

namespace {

weft::task<> produce(weft::chan<int> out, weft::wait_group& wg) {
  for (int i = 0; i < 10; ++i) {
    if (!co_await out.send(i)) break;  // closed by someone else: stop
  }
  out.close();
  wg.done();
}

weft::task<> print(weft::chan<int> in, weft::wait_group& wg) {
  while (auto value = co_await in.recv()) std::printf("%d\n", *value);
  wg.done();
}

weft::task<> pipeline() {
  weft::chan<int> numbers;  // unbuffered: each send meets a receive
  weft::wait_group wg;
  wg.add(2);
  weft::go(produce(numbers, wg));
  weft::go(print(numbers, wg));
  co_await wg.wait();
}

}  // namespace

int main() {
  weft::runtime rt;
  rt.block_on(pipeline());
  return 0;
}
