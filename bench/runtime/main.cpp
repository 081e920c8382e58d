// weft-bench-runtime: the runtime's benchmark cases, written the plain weft
// way (go, chan, select, wait_group) and mirrored one for one by the Go peer
// in bench/peers/go, so that scripts/bench.sh can compare the two.
//
//   weft-bench-runtime CASE [N] [--workers W]
//
// Prints one line, "CASE n=N ns_per_op=X" ("idle n=N bytes_per_task=X").
// Workers: --workers, else $WEFT_WORKERS, else one per core (as GOMAXPROCS).
#include <weft/chan.hpp>
#include <weft/go.hpp>
#include <weft/result.hpp>
#include <weft/runtime.hpp>
#include <weft/select.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/tcp_stream.hpp>
#include <weft/wait_group.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <utility>
#include <variant>
#include <vector>

namespace {

using weft::chan;
using weft::go;
using weft::task;
using weft::wait_group;
using std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "weft-bench-runtime: %s\n", message.c_str());
  std::exit(1);
}

// A send in these benchmarks only fails if the benchmark itself is wrong.
void expect_sent(const weft::result<void>& sent) {
  if (!sent) fail("a send failed: the channel was closed too early (benchmark bug)");
}

double nanoseconds_since(steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(steady_clock::now() - start).count();
}

// Worker `i` of `parts` handles share(n, parts, i) of the n items.
long share(long n, long parts, long i) { return n / parts + (i < n % parts ? 1 : 0); }

// ---- pingpong: two tasks and an unbuffered channel each way; n round trips.

task<void> echo(chan<long> ping, chan<long> pong) {
  while (auto value = co_await ping.recv()) expect_sent(co_await pong.send(*value));
  pong.close();
}

task<void> serve(chan<long> ping, chan<long> pong, long n) {
  for (long i = 0; i < n; ++i) {
    expect_sent(co_await ping.send(i));
    if (!co_await pong.recv()) fail("pingpong: pong closed early");
  }
  ping.close();
}

task<double> pingpong(long n) {
  chan<long> ping;
  chan<long> pong;
  auto start = steady_clock::now();
  auto echoer = go(echo(ping, pong));
  auto server = go(serve(ping, pong, n));
  co_await echoer;
  co_await server;
  co_return nanoseconds_since(start);
}

// ---- prodcons: 4 producers and 4 consumers on one channel of capacity 128.

task<void> produce(chan<long> items, long count, wait_group& produced) {
  for (long i = 0; i < count; ++i) expect_sent(co_await items.send(i));
  produced.done();
}

task<void> consume(chan<long> items, long& received, wait_group& consumed) {
  long got = 0;
  while (co_await items.recv()) ++got;
  received = got;
  consumed.done();
}

task<double> prodcons(long n) {
  constexpr long producers = 4;
  constexpr long consumers = 4;
  chan<long> items(128);
  wait_group produced;
  wait_group consumed;
  produced.add(producers);
  consumed.add(consumers);
  std::array<long, consumers> received{};
  auto start = steady_clock::now();
  for (long p = 0; p < producers; ++p) go(produce(items, share(n, producers, p), produced));
  for (long c = 0; c < consumers; ++c) go(consume(items, received[c], consumed));
  co_await produced.wait();
  items.close();
  co_await consumed.wait();
  double elapsed = nanoseconds_since(start);
  long total = 0;
  for (long r : received) total += r;
  if (total != n) fail("prodcons received " + std::to_string(total) + " items, want " + std::to_string(n));
  co_return elapsed;
}

// ---- spawn: spawn n tasks that each finish at once, then join them all.

task<void> finish_at_once(wait_group& finished) {
  finished.done();
  co_return;
}

task<double> spawn(long n) {
  wait_group finished;
  auto start = steady_clock::now();
  finished.add(n);
  for (long i = 0; i < n; ++i) go(finish_at_once(finished));
  co_await finished.wait();
  co_return nanoseconds_since(start);
}

// ---- select: one task receives n values through a 4-case select over 4
// unbuffered channels, each fed by its own producer.

task<void> feed(chan<long> out, long count) {
  for (long j = 0; j < count; ++j) expect_sent(co_await out.send(j));
}

task<double> select_receive(long n) {
  constexpr long feeds = 4;
  std::array<chan<long>, feeds> in;
  auto start = steady_clock::now();
  std::vector<weft::join_handle<void>> feeders;
  for (long i = 0; i < feeds; ++i) feeders.push_back(go(feed(in[i], share(n, feeds, i))));
  long sum = 0;
  for (long i = 0; i < n; ++i) {
    auto fired = co_await weft::select(weft::recv(in[0]), weft::recv(in[1]), weft::recv(in[2]),
                                       weft::recv(in[3]));
    std::visit([&](std::optional<long>& value) { sum += *value; }, fired.as_variant());
  }
  double elapsed = nanoseconds_since(start);
  for (auto& feeder : feeders) co_await feeder;
  long want = 0;
  for (long i = 0; i < feeds; ++i) {
    long c = share(n, feeds, i);
    want += c * (c - 1) / 2;
  }
  if (sum != want) fail("select received a sum of " + std::to_string(sum) + ", want " + std::to_string(want));
  co_return elapsed;
}

// ---- idle: park n tasks on a channel; report RSS growth per task.

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0;
  long resident = 0;
  if (!(statm >> size >> resident)) fail("cannot read /proc/self/statm");
  return resident * sysconf(_SC_PAGESIZE);
}

task<void> park(chan<char> release, wait_group& parked, wait_group& finished) {
  parked.done();
  (void)co_await release.recv();
  finished.done();
}

task<double> idle(long n) {
  chan<char> release;
  wait_group parked;
  wait_group finished;
  long before = resident_bytes();
  parked.add(n);
  finished.add(n);
  for (long i = 0; i < n; ++i) go(park(release, parked, finished));
  co_await parked.wait();
  // Let the last tasks reach the receive and park.
  co_await weft::sleep_for(std::chrono::milliseconds(10));
  long after = resident_bytes();
  release.close();
  co_await finished.wait();
  co_return static_cast<double>(after - before) / static_cast<double>(n);
}

// ---- tcp_pingpong (weft only, not in the Go table): n round trips of one
// byte over loopback TCP to an echo server on a plain thread of this process
// (standing in for a server such as Redis on the same machine). Measures how
// fast a task woken by the poller runs again.

int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("tcp_pingpong: socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail("tcp_pingpong: cannot listen on 127.0.0.1");
  port = ntohs(address.sin_port);
  return fd;
}

void echo_server(int listener) {
  int fd = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char byte = 0;
  while (::read(fd, &byte, 1) == 1)
    if (::write(fd, &byte, 1) != 1) break;
  ::close(fd);
}

task<double> tcp_pingpong(long n) {
  std::uint16_t port = 0;
  int listener = listen_loopback(port);
  std::thread server(echo_server, listener);
  auto stream = co_await weft::tcp_stream::connect("127.0.0.1", port, std::chrono::seconds(5));
  if (!stream) fail("tcp_pingpong: connect failed: " + std::string(stream.error().message()));
  std::array<std::byte, 1> byte{};
  auto start = steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (!co_await stream->write_all(byte)) fail("tcp_pingpong: write failed");
    auto got = co_await stream->read(byte);
    if (!got || *got != 1) fail("tcp_pingpong: read failed");
  }
  double elapsed = nanoseconds_since(start);
  stream->close();
  server.join();
  co_return elapsed;
}

struct bench_case {
  std::string_view name;
  long default_n;
  task<double> (*run)(long);
};

constexpr std::array<bench_case, 6> cases{{
    {"pingpong", 1'000'000, &pingpong},
    {"prodcons", 4'000'000, &prodcons},
    {"spawn", 1'000'000, &spawn},
    {"select", 1'000'000, &select_receive},
    {"idle", 100'000, &idle},
    {"tcp_pingpong", 100'000, &tcp_pingpong},
}};

long parse_positive(std::string_view what, const char* text) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0)
    fail(std::string(what) + " must be a positive integer, got '" + text + "'");
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: weft-bench-runtime CASE [N] [--workers W]; CASE is pingpong, prodcons, spawn, select, idle or tcp_pingpong (weft only)";
  std::vector<const char*> positional;
  std::size_t workers = 0;
  if (const char* env = std::getenv("WEFT_WORKERS"); env != nullptr && *env != '\0')
    workers = static_cast<std::size_t>(parse_positive("WEFT_WORKERS", env));
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--workers" && i + 1 < argc) workers = static_cast<std::size_t>(parse_positive("--workers", argv[++i]));
    else if (arg == "-h" || arg == "--help") {
      std::puts(usage);
      return 0;
    } else positional.push_back(argv[i]);
  }
  if (positional.empty() || positional.size() > 2) fail(usage);
  const bench_case* chosen = nullptr;
  for (const auto& c : cases)
    if (c.name == positional[0]) chosen = &c;
  if (chosen == nullptr) fail(std::string("unknown case '") + positional[0] + "'; " + usage);
  long n = positional.size() == 2 ? parse_positive("N", positional[1]) : chosen->default_n;

  weft::runtime runtime(weft::runtime_options{.workers = workers});
  double measured = runtime.block_on(chosen->run(n));
  if (chosen->name == "idle")
    std::printf("idle n=%ld bytes_per_task=%.0f\n", n, measured);
  else
    std::printf("%s n=%ld ns_per_op=%.1f\n", std::string(chosen->name).c_str(), n, measured / static_cast<double>(n));
  return 0;
}
