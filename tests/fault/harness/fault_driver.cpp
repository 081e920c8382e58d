// weft-fault: the fault-injection harness's driver, clients and checker.
//
//   weft-fault run --store URI | --store-env VAR  [--store-query K=V] [--lock weft|naive|setnx-px]
//                  [--fault none|kill|pause|cut|command] [--faults F] [--clients K]
//                  [--inject CMD --heal CMD --down-ms T --fault-name NAME]
//                  [--acquisitions N] [--ttl-ms T] [--hold-max-ms H]
//                  [--seconds S] [--out DIR] [--report FILE] [--expect-violations]
//   weft-fault check DIR [--bound-ms B]
//
// `run` forks K client processes (this binary, mode `client`): each loops
// acquire -> write the fenced resource -> hold a random time -> write again ->
// release, recording a history (history.hpp). The nemesis picks the current
// holder (the last writer named in the resource file) and SIGKILLs it (a
// replacement client is started) or SIGSTOPs it for 1.5 TTL and SIGCONTs it,
// or cuts it off the store's ports for 2 TTL (`cut`, needs root: every client
// runs in its own cgroup v2 and iptables drops that cgroup's packets to the
// store's loopback ports and the store's packets to its sockets; see
// network_cut), `--faults` times, one after another. A cut holder keeps
// working (writing through the fence every 20 ms) until the cut has healed:
// its writes after a new holder's must be rejected by the fence, and its lost()
// must have fired before anyone else was granted the lock. When the clients are done (or after
// --seconds) the checker reads the history; exit 0 when it finds no violation
// (with --expect-violations: when it finds at least one, for the baselines).
//
// Locks: `weft` is weft::lock::mutex on the store, writes through a
// file_fence; `naive` is the seed's Redis lock (SETNX, no expiry, DEL) and
// `setnx-px` is SET NX PX without fencing: their writes are unfenced.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <set>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "history.hpp"
#include "weft/context.hpp"
#include "weft/lock/fence.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"
#include "weft/lock/uri.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

namespace {

using namespace std::chrono_literals;
using weft::fault::now_ns;

struct options {
  std::string mode;
  std::string store;
  std::string lock = "weft";
  std::string fault = "none";
  int faults = 3;
  int clients = 4;
  int acquisitions = 300;
  int ttl_ms = 1000;
  int hold_max_ms = 10;
  int seconds = 60;
  int bound_ms = 0;  // 0: ttl + 5 s
  std::string inject;  // --fault command: shell commands that break and heal the store
  std::string heal;
  int down_ms = 1000;  // time between inject and heal
  std::string fault_name = "command";
  std::string out;
  std::string report;
  bool expect_violations = false;
  // client only
  int id = 0;
  int count = 0;
  std::string name = "fault-harness";
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "weft-fault: %s\nsee the comment at the top of tests/fault/harness/fault_driver.cpp\n",
               why.c_str());
  std::exit(64);
}

options parse(int argc, char** argv) {
  options o;
  if (argc < 2) usage("missing mode (run, client or check)");
  o.mode = argv[1];
  int i = 2;
  if (o.mode == "check") {
    if (argc < 3) usage("check needs a history directory");
    o.out = argv[2];
    i = 3;
  }
  for (; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 100'000'000) usage(flag + " needs a number, not '" + v + "'");
      return static_cast<int>(n);
    };
    if (flag == "--store") o.store = value();
    else if (flag == "--store-env") {
      std::string var = value();
      const char* v = std::getenv(var.c_str());
      if (!v || !*v) {
        std::fprintf(stderr, "weft-fault: $%s is not set: start the servers with scripts/services.sh start DIR "
                             "and source DIR/env\n", var.c_str());
        std::exit(1);  // a missing server fails, never skips
      }
      o.store = v;
    } else if (flag == "--store-query") {
      if (o.store.empty()) usage("--store-query comes after --store or --store-env");
      o.store += (o.store.find('?') == std::string::npos ? "?" : "&") + value();
    } else if (flag == "--lock") o.lock = value();
    else if (flag == "--fault") o.fault = value();
    else if (flag == "--faults") o.faults = number();
    else if (flag == "--inject") o.inject = value();
    else if (flag == "--heal") o.heal = value();
    else if (flag == "--down-ms") o.down_ms = number();
    else if (flag == "--fault-name") o.fault_name = value();
    else if (flag == "--clients") o.clients = number();
    else if (flag == "--acquisitions") o.acquisitions = number();
    else if (flag == "--ttl-ms") o.ttl_ms = number();
    else if (flag == "--hold-max-ms") o.hold_max_ms = number();
    else if (flag == "--seconds") o.seconds = number();
    else if (flag == "--bound-ms") o.bound_ms = number();
    else if (flag == "--out") o.out = value();
    else if (flag == "--report") o.report = value();
    else if (flag == "--expect-violations") o.expect_violations = true;
    else if (flag == "--id") o.id = number();
    else if (flag == "--count") o.count = number();
    else if (flag == "--name") o.name = value();
    else usage("unknown flag " + flag);
  }
  if (o.lock != "weft" && o.lock != "naive" && o.lock != "setnx-px") usage("--lock is weft, naive or setnx-px");
  if (o.fault != "none" && o.fault != "kill" && o.fault != "pause" && o.fault != "cut" && o.fault != "command")
    usage("--fault is none, kill, pause, cut or command");
  if (o.fault == "command" && (o.inject.empty() || o.heal.empty())) usage("--fault command needs --inject and --heal");
  if (o.bound_ms == 0) o.bound_ms = o.ttl_ms + 5000;
  return o;
}

// ------------------------------------------------------------------ client

class history_file {
 public:
  explicit history_file(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {
    if (!file_) usage("cannot open history " + path);
  }
  ~history_file() { std::fclose(file_); }
  void line(const std::string& text) {
    std::fputs((text + "\n").c_str(), file_);
    std::fflush(file_);  // a SIGKILL loses at most the line being written
  }

 private:
  FILE* file_;
};

// The unfenced resource of the baselines: the write happens under an OFD
// lock on the file so the history's write times are totally ordered.
struct plain_resource {
  int fd;
  explicit plain_resource(const std::string& path) : fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd < 0) usage("cannot open the resource " + path);
  }
  std::int64_t write(const std::string& text) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    ::fcntl(fd, F_OFD_SETLKW, &fl);
    std::int64_t done = now_ns();
    (void)!::pwrite(fd, text.data(), text.size(), 0);
    fl.l_type = F_UNLCK;
    ::fcntl(fd, F_OFD_SETLK, &fl);
    return done;
  }
};

// One byte per client in out/holding-<pid>: 'H' while it holds the lock, 'I'
// otherwise, so the nemesis strikes holders only.
class holding_marker {
 public:
  explicit holding_marker(const std::string& out)
      : fd_(::open(fmt::format("{}/holding-{}", out, ::getpid()).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {}
  ~holding_marker() { ::close(fd_); }
  void set(bool holding) { (void)!::pwrite(fd_, holding ? "H" : "I", 1, 0); }

 private:
  int fd_;
};

bool is_holding(const std::string& out, pid_t pid) {
  char c = 0;
  int fd = ::open(fmt::format("{}/holding-{}", out, pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool holding = ::pread(fd, &c, 1, 0) == 1 && c == 'H';
  ::close(fd);
  return holding;
}

std::string resource_text(std::uint64_t token) { return fmt::format("{} {}          \n", ::getpid(), token); }

int run_weft_client(const options& o) {
  history_file history(fmt::format("{}/client-{}.log", o.out, o.id));
  auto fence = weft::lock::file_fence::open(o.out + "/fence");
  if (!fence) usage(std::string(fence.error().message()));
  int resource = ::open((o.out + "/resource").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  std::mt19937 random(static_cast<unsigned>(o.id * 7919 + ::getpid()));
  holding_marker marker(o.out);
  weft::runtime rt(weft::runtime_options{.workers = 2});
  return rt.block_on([&]() -> weft::task<int> {
    auto store = weft::lock::open(o.store);
    if (!store) {
      std::fprintf(stderr, "client %d: %s\n", o.id, std::string(store.error().message()).c_str());
      co_return 1;
    }
    auto mutex = weft::lock::mutex::make(*store, o.name, {.ttl = std::chrono::milliseconds(o.ttl_ms)});
    if (!mutex) co_return 1;
    int done = 0;
    for (int attempt = 0; done < o.count && attempt < o.count * 20; ++attempt) {
      auto held = co_await mutex->lock(weft::context::background());
      if (!held) {
        std::fprintf(stderr, "client %d: %s\n", o.id, std::string(held.error().message()).c_str());
        co_await weft::sleep_for(50ms);
        continue;
      }
      const std::uint64_t token = held->token();
      marker.set(true);
      history.line(fmt::format("acquired {} {} {}", o.id, token, now_ns()));
      auto lost_at = std::make_shared<std::atomic<std::int64_t>>(-1);
      held->state()->on_lost([lost_at] { lost_at->store(now_ns()); });
      auto write = [&] {
        bool believed = !held->is_lost();
        std::int64_t requested = now_ns();
        std::int64_t accepted_at = -1;
        auto ok = fence->guarded(token, [&]() -> weft::result<void> {
          accepted_at = now_ns();
          auto text = resource_text(token);
          (void)!::pwrite(resource, text.data(), text.size(), 0);
          return {};
        });
        history.line(fmt::format("write {} {} {} {} {} {}", o.id, token, requested,
                                 ok ? accepted_at : now_ns(), ok ? "accepted" : "rejected", believed ? 1 : 0));
      };
      write();
      co_await weft::sleep_for(std::chrono::milliseconds(random() % (o.hold_max_ms + 1)));
      // Cut off by the nemesis (out/cut-<pid> exists): keep working through
      // the cut, as a client with long work would; the fence must reject these
      // writes once another client holds a newer token.
      const std::string cut_marker = fmt::format("{}/cut-{}", o.out, ::getpid());
      for (int i = 0; i < 3000 && ::access(cut_marker.c_str(), F_OK) == 0; ++i) {
        write();
        co_await weft::sleep_for(20ms);
      }
      write();
      marker.set(false);
      auto released = co_await held->release();
      (void)released;
      if (lost_at->load() >= 0) history.line(fmt::format("lost {} {} {}", o.id, token, lost_at->load()));
      history.line(fmt::format("released {} {} {}", o.id, token, now_ns()));
      ++done;
    }
    co_return done == o.count ? 0 : 1;
  }());
}

int run_redis_baseline_client(const options& o) {
  auto uri = weft::lock::parse_store_uri(o.store);
  if (!uri || uri->hosts.empty()) usage("the baselines need a redis:// URI");
  redisContext* redis = redisConnect(uri->hosts[0].host.c_str(), uri->hosts[0].port ? uri->hosts[0].port : 6379);
  if (!redis || redis->err) usage("cannot connect to Redis");
  history_file history(fmt::format("{}/client-{}.log", o.out, o.id));
  history.line("untokened");
  plain_resource resource(o.out + "/resource");
  std::mt19937 random(static_cast<unsigned>(o.id * 7919 + ::getpid()));
  holding_marker marker(o.out);
  const std::string key = "weft-fault-baseline:" + o.name;
  const std::string me = std::to_string(::getpid());
  const std::int64_t give_up = now_ns() + std::int64_t{o.seconds} * 1'000'000'000;
  for (int session = 1; session <= o.count; ++session) {
    for (;;) {  // spin: the seed's lock has no queue
      auto* reply = static_cast<redisReply*>(
          o.lock == "naive" ? redisCommand(redis, "SETNX %s %s", key.c_str(), me.c_str())
                            : redisCommand(redis, "SET %s %s NX PX %d", key.c_str(), me.c_str(), o.ttl_ms));
      bool got = reply && ((reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) ||
                           (reply->type == REDIS_REPLY_STATUS && std::strcmp(reply->str, "OK") == 0));
      if (reply) freeReplyObject(reply);
      if (got) break;
      if (now_ns() > give_up) return 1;
      std::this_thread::sleep_for(2ms);
    }
    // The session number stands in for the token these locks do not have.
    const std::uint64_t pseudo = static_cast<std::uint64_t>(o.id) * 1'000'000 + session;
    marker.set(true);
    history.line(fmt::format("acquired {} {} {}", o.id, pseudo, now_ns()));
    auto write = [&] {
      std::int64_t requested = now_ns();
      std::int64_t done = resource.write(resource_text(pseudo));
      history.line(fmt::format("write {} {} {} {} accepted 1", o.id, pseudo, requested, done));
    };
    write();
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % (o.hold_max_ms + 1)));
    write();
    marker.set(false);
    auto* reply = static_cast<redisReply*>(redisCommand(redis, "DEL %s", key.c_str()));
    if (reply) freeReplyObject(reply);
    history.line(fmt::format("released {} {} {}", o.id, pseudo, now_ns()));
  }
  redisFree(redis);
  return 0;
}

// ------------------------------------------------------------------ network cut

// SIGINT/SIGTERM/SIGHUP: the driver's loop stops, heals any cut (the iptables
// rules are removed) and re-raises the signal.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

// Runs argv (no shell); true when it exited 0.
bool run_command(const std::vector<std::string>& args, bool quiet = false) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (quiet) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string cgroup2_mount() {
  std::ifstream mounts("/proc/mounts");
  std::string device, where, type, rest;
  while (mounts >> device >> where >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return where;
  return "";
}

// Cuts one client off the store: every client process lives in its own
// cgroup v2 (joined before exec, so every socket it ever opens carries it);
// the cut is an iptables rule dropping that cgroup's TCP packets to the store's
// loopback ports, plus rules dropping the store's packets to the client's
// current sockets (found in /proc). Every rule carries the comment
// weft-fault-<driver pid>; heal() deletes them, and so do the destructor, the
// signal path and the next run (rules of a driver that no longer exists).
class network_cut {
 public:
  network_cut() = default;
  network_cut(const network_cut&) = delete;
  network_cut& operator=(const network_cut&) = delete;
  ~network_cut() { close(); }

  // Heals and removes the cgroups (their processes must have exited).
  void close() {
    heal();
    if (!group_.empty()) remove_group(group_);
    group_.clear();
  }

  // Fails (with the reason) when this host cannot cut: not root, no cgroup v2
  // or no iptables with the cgroup match.
  std::string prepare(const std::string& store) {
    auto uri = weft::lock::parse_store_uri(store);
    if (!uri || uri->hosts.empty()) return "--fault cut needs a store with hosts (redis://, redlock://, zk://)";
    for (auto& host : uri->hosts)
      ports_.insert(host.port ? host.port : (uri->scheme == "zk" ? 2181 : 6379));
    if (::geteuid() != 0) return "--fault cut needs root (cgroups and iptables)";
    root_ = cgroup2_mount();
    if (root_.empty()) return "--fault cut needs a cgroup v2 mount";
    relative_ = fmt::format("weft-fault-{}", ::getpid());
    group_ = root_ + "/" + relative_;
    if (::mkdir(group_.c_str(), 0755) != 0 && errno != EEXIST)
      return fmt::format("cannot create the cgroup {}: {}", group_, std::strerror(errno));
    remove_stale_rules();
    remove_stale_groups();
    // A probe rule proves iptables and its cgroup match work here.
    auto probe = rule("OUTPUT", {"-o", "lo", "-p", "tcp", "-m", "cgroup", "--path", relative_, "--dport", "9"});
    if (!run_command(with_action(probe, "-I"))) return "iptables cannot add a cgroup rule (is xt_cgroup available?)";
    run_command(with_action(probe, "-D"));
    return "";
  }

  // In the forked child, before exec: join cgroup c<id>.
  void join(int id) const {
    std::string dir = fmt::format("{}/c{}", group_, id);
    ::mkdir(dir.c_str(), 0755);
    int fd = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) ::_exit(126);
    std::string me = std::to_string(::getpid());
    if (::write(fd, me.data(), me.size()) != static_cast<ssize_t>(me.size())) ::_exit(126);
    ::close(fd);
  }

  bool cut(int id, pid_t pid) {
    std::string ports;
    for (int port : ports_) ports += (ports.empty() ? "" : ",") + std::to_string(port);
    bool ok = install(rule("OUTPUT", {"-o", "lo", "-p", "tcp", "-m", "cgroup", "--path",
                                      fmt::format("{}/c{}", relative_, id), "-m", "multiport", "--dports", ports,
                                      "-j", "DROP"}));
    for (int local : socket_ports(pid))
      ok = install(rule("INPUT", {"-i", "lo", "-p", "tcp", "--dport", std::to_string(local), "-m", "multiport",
                                  "--sports", ports, "-j", "DROP"})) && ok;
    return ok;
  }

  void heal() {
    for (auto& r : installed_) run_command(with_action(r, "-D"));
    installed_.clear();
  }

 private:
  std::vector<std::string> rule(const std::string& chain, std::vector<std::string> spec) const {
    std::vector<std::string> r = {chain};
    r.insert(r.end(), spec.begin(), spec.end());
    r.insert(r.end(), {"-m", "comment", "--comment", relative_});
    return r;
  }
  static std::vector<std::string> with_action(const std::vector<std::string>& r, const std::string& action) {
    std::vector<std::string> args = {"iptables", "-w", action};
    args.insert(args.end(), r.begin(), r.end());
    return args;
  }
  bool install(const std::vector<std::string>& r) {
    if (!run_command(with_action(r, "-I"))) return false;
    installed_.push_back(r);
    return true;
  }

  // The local ports of pid's TCP sockets connected to a store port.
  std::set<int> socket_ports(pid_t pid) const {
    std::set<std::string> inodes;
    std::error_code ec;
    for (auto& fd : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
      auto target = std::filesystem::read_symlink(fd.path(), ec).string();
      if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
    }
    std::set<int> found;
    for (const char* table : {"tcp", "tcp6"}) {
      std::ifstream in(fmt::format("/proc/{}/net/{}", pid, table));
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
        if (!fields || !inodes.count(inode)) continue;
        int remote_port = std::stoi(remote.substr(remote.find(':') + 1), nullptr, 16);
        if (ports_.count(remote_port)) found.insert(std::stoi(local.substr(local.find(':') + 1), nullptr, 16));
      }
    }
    return found;
  }

  // Rules left by drivers that died without healing (SIGKILL).
  void remove_stale_rules() const {
    FILE* save = ::popen("iptables-save 2>/dev/null", "r");
    if (!save) return;
    std::vector<std::vector<std::string>> stale;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, save)) {
      std::istringstream words(buffer);
      std::vector<std::string> r;
      std::string word;
      while (words >> word) {
        if (word.size() >= 2 && word.front() == '"' && word.back() == '"') word = word.substr(1, word.size() - 2);
        r.push_back(word);
      }
      if (r.size() < 2 || r[0] != "-A") continue;
      for (std::size_t i = 0; i + 1 < r.size(); ++i) {
        if (r[i] != "--comment" || r[i + 1].rfind("weft-fault-", 0) != 0) continue;
        pid_t owner = std::atoi(r[i + 1].c_str() + 11);
        if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) stale.emplace_back(r.begin() + 1, r.end());
      }
    }
    ::pclose(save);
    for (auto& r : stale) run_command(with_action(r, "-D"), true);
  }

  static void remove_group(const std::string& group) {
    std::error_code ec;
    for (auto& child : std::filesystem::directory_iterator(group, ec))
      if (child.is_directory(ec)) ::rmdir(child.path().c_str());
    ::rmdir(group.c_str());
  }

  // Cgroups of drivers that no longer exist.
  void remove_stale_groups() const {
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator(root_, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("weft-fault-", 0) != 0) continue;
      pid_t owner = std::atoi(name.c_str() + 11);
      if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) remove_group(entry.path().string());
    }
  }

  std::set<int> ports_;
  std::string root_, relative_, group_;
  std::vector<std::vector<std::string>> installed_;
};

network_cut* the_cut = nullptr;  // set by run_driver when --fault cut

// ------------------------------------------------------------------ driver

pid_t spawn_client(const options& o, int id, int count) {
  pid_t pid = ::fork();
  if (pid == 0) {
    // A client never outlives its driver (a killed driver's clients would
    // stay cut off and hold their cgroups).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (the_cut) the_cut->join(id);
    std::vector<std::string> args = {"/proc/self/exe", "client", "--store", o.store, "--lock", o.lock,
                                     "--ttl-ms", std::to_string(o.ttl_ms), "--hold-max-ms",
                                     std::to_string(o.hold_max_ms), "--seconds", std::to_string(o.seconds),
                                     "--out", o.out, "--id", std::to_string(id), "--count", std::to_string(count),
                                     "--name", o.name};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  return pid;
}

pid_t last_writer(const std::string& out) {
  std::ifstream in(out + "/resource");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// Waits (at most `bound_ms`) until the resource is written after `since`
// (CLOCK_REALTIME, as file mtimes are), so faults never pile up on a store
// that has not recovered from the previous one.
void wait_for_progress(const std::string& out, const timespec& since, int bound_ms) {
  const std::int64_t give_up = now_ns() + std::int64_t{bound_ms} * 1'000'000;
  while (now_ns() < give_up) {
    struct stat st {};
    if (::stat((out + "/resource").c_str(), &st) == 0 &&
        (st.st_mtim.tv_sec > since.tv_sec ||
         (st.st_mtim.tv_sec == since.tv_sec && st.st_mtim.tv_nsec > since.tv_nsec)))
      return;
    std::this_thread::sleep_for(10ms);
  }
}

timespec wall_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

std::string format_ms(std::int64_t ns) { return fmt::format("{:.0f} ms", static_cast<double>(ns) / 1e6); }

int check_and_report(const options& o, std::int64_t run_end, const std::string& note,
                     const std::vector<std::string>& abnormal = {}) {
  auto h = weft::fault::read_history(o.out);
  if (run_end < 0) {
    // The clients finished their work: the run ends at the last recorded
    // event, so a fault that healed after all work was done is not judged
    // for progress (there was nothing left to do).
    run_end = 0;
    for (const auto& w : h.writes) run_end = std::max(run_end, w.done);
    for (const auto& session : h.sessions) run_end = std::max(run_end, session.ended);
  }
  auto r = weft::fault::check(h, std::int64_t{o.bound_ms} * 1'000'000, run_end);
  std::vector<std::string> violations = r.violations;
  for (const auto& a : abnormal) violations.push_back("client failed: " + a);
  std::size_t unique = 0;
  std::map<std::string, int> kinds;
  for (auto& v : violations) kinds[v.substr(0, v.find(':'))]++;
  std::string summary;
  for (auto& [kind, n] : kinds) summary += fmt::format("{}{} x{}", summary.empty() ? "" : "; ", kind, n), ++unique;
  std::printf("store=%s lock=%s fault=%s acquisitions=%zu faults=%zu violations=%zu stale_rejected=%zu "
              "longest_unavailability=%s%s\n",
              weft::lock::parse_store_uri(o.store) ? weft::lock::parse_store_uri(o.store)->scheme.c_str() : "?",
              o.lock.c_str(), (o.fault == "command" ? o.fault_name : o.fault).c_str(), r.acquisitions, r.faults, violations.size(), r.rejected_writes,
              format_ms(r.longest_unavailability_ns).c_str(), note.c_str());
  for (std::size_t i = 0; i < violations.size() && i < 5; ++i) std::printf("  violation: %s\n", violations[i].c_str());
  if (!o.report.empty()) {
    std::ofstream report(o.report, std::ios::app);
    report << fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", o.store.substr(0, o.store.find(':')), o.lock,
                          o.fault == "command" ? o.fault_name : o.fault,
                          r.acquisitions, r.faults, violations.size(), r.rejected_writes,
                          format_ms(r.longest_unavailability_ns) + (summary.empty() ? "" : " (" + summary + ")"));
  }
  bool failed = !violations.empty();
  return o.expect_violations ? (failed ? 0 : 1) : (failed ? 1 : 0);
}

int run_driver(options o) {
  if (o.store.empty()) usage("give --store URI or --store-env VAR");
  if (o.out.empty()) {
    char pattern[] = "/tmp/weft-fault-XXXXXX";
    o.out = ::mkdtemp(pattern);
  }
  std::filesystem::create_directories(o.out);
  for (auto& entry : std::filesystem::directory_iterator(o.out)) std::filesystem::remove_all(entry.path());
  o.name = fmt::format("fault-{}-{}", ::getpid(), now_ns() % 1'000'000);
  const std::int64_t deadline = now_ns() + std::int64_t{o.seconds} * 1'000'000'000;
  const int per_client = (o.acquisitions + o.clients - 1) / o.clients;
  network_cut cut;
  if (o.fault == "cut") {
    std::string why = cut.prepare(o.store);
    if (!why.empty()) {
      std::fprintf(stderr, "weft-fault: %s\n", why.c_str());
      return 1;  // the fault cannot be injected here: a failure, never a skip
    }
    the_cut = &cut;
  }
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, on_stop_signal);
  std::map<pid_t, int> children;
  int next_id = 0;
  for (int i = 0; i < o.clients; ++i) children[spawn_client(o, next_id++, per_client)] = i;
  history_file nemesis(o.out + "/nemesis.log");
  int injected = 0;
  std::int64_t next_fault = now_ns() + 300'000'000;
  const std::int64_t gap = 100'000'000;
  bool timed_out = false;
  std::vector<std::string> abnormal;
  while (!children.empty()) {
    int status = 0;
    pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      // A client that crashed or gave up is a failure of the run: a lock
      // that crashes its users under faults is not safe to use.
      if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
        abnormal.push_back(fmt::format("client {} (pid {}) {}", children[done], done,
                                       WIFSIGNALED(status) ? fmt::format("died of signal {}", WTERMSIG(status))
                                                           : fmt::format("exited {}", WEXITSTATUS(status))));
      children.erase(done);
      continue;
    }
    std::int64_t now = now_ns();
    if (stop_signal != 0) {
      for (auto& [pid, id] : children) {
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGKILL);
      }
      for (auto& [pid, id] : children) ::waitpid(pid, &status, 0);
      cut.close();
      the_cut = nullptr;
      std::signal(stop_signal, SIG_DFL);
      std::raise(stop_signal);
      return 1;
    }
    if (now > deadline) {
      timed_out = true;
      for (auto& [pid, id] : children) {
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGKILL);
      }
      for (auto& [pid, id] : children) ::waitpid(pid, &status, 0);
      children.clear();
      break;
    }
    if (o.fault == "command" && injected < o.faults && now >= next_fault) {
      // A store fault: the inject command breaks the server(s), the heal
      // command (run --down-ms later) brings them back and returns when ready.
      std::int64_t at = now_ns();
      int broke = std::system(o.inject.c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(o.down_ms));
      int healed = std::system(o.heal.c_str());
      if (broke != 0 || healed != 0)
        std::fprintf(stderr, "weft-fault: inject (%d) or heal (%d) command failed\n", broke, healed);
      nemesis.line(fmt::format("fault {} 0 {} {}", o.fault_name, at, now_ns()));
      ++injected;
      wait_for_progress(o.out, wall_now(), o.bound_ms);
      next_fault = now_ns() + gap;
    } else if (o.fault == "cut" && injected < o.faults && now >= next_fault) {
      pid_t victim = last_writer(o.out);
      if (victim > 0 && children.count(victim) && is_holding(o.out, victim)) {
        const int id = children[victim];
        // The marker keeps the victim holding (and writing) until the cut
        // has healed; it may have released already, then it holds again at
        // its next grant.
        const std::string marker = fmt::format("{}/cut-{}", o.out, victim);
        ::close(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        const std::int64_t wait_until = now_ns() + 2'000'000'000;
        while (!is_holding(o.out, victim) && now_ns() < wait_until) std::this_thread::sleep_for(5ms);
        if (is_holding(o.out, victim)) {
          std::int64_t at = now_ns();
          if (!cut.cut(id, victim)) abnormal.push_back("the nemesis: iptables could not install the cut");
          const std::int64_t heal_at = at + std::int64_t{o.ttl_ms} * 2'000'000;
          while (now_ns() < heal_at && stop_signal == 0) std::this_thread::sleep_for(5ms);
          cut.heal();
          nemesis.line(fmt::format("fault cut {} {} {} {}", victim, at, now_ns(), id));
          ::unlink(marker.c_str());
          ++injected;
          wait_for_progress(o.out, wall_now(), o.bound_ms);
        } else {
          ::unlink(marker.c_str());
        }
        next_fault = now_ns() + gap;
      }
    } else if ((o.fault == "kill" || o.fault == "pause") && injected < o.faults && now >= next_fault) {
      pid_t victim = last_writer(o.out);
      if (victim > 0 && children.count(victim) && is_holding(o.out, victim)) {
        if (o.fault == "kill") {
          std::int64_t at = now_ns();
          ::kill(victim, SIGKILL);
          ::waitpid(victim, &status, 0);
          children.erase(victim);
          nemesis.line(fmt::format("fault kill {} {} {}", victim, at, now_ns()));
          const int id = next_id++;
          children[spawn_client(o, id, per_client)] = id;
        } else {
          std::int64_t at = now_ns();
          ::kill(victim, SIGSTOP);
          std::this_thread::sleep_for(std::chrono::milliseconds(o.ttl_ms * 3 / 2));
          ::kill(victim, SIGCONT);
          nemesis.line(fmt::format("fault pause {} {} {}", victim, at, now_ns()));
        }
        ++injected;
        wait_for_progress(o.out, wall_now(), o.bound_ms);
        next_fault = now_ns() + gap;
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  the_cut = nullptr;
  std::string note;
  if (timed_out) note = fmt::format(" (stopped after {} s)", o.seconds);
  if (injected < o.faults && o.fault != "none") note += fmt::format(" (only {} of {} faults injected)", injected, o.faults);
  return check_and_report(o, timed_out ? now_ns() : -1, note, abnormal);
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  if (o.mode == "client") return o.lock == "weft" ? run_weft_client(o) : run_redis_baseline_client(o);
  if (o.mode == "run") return run_driver(o);
  if (o.mode == "check") return check_and_report(o, weft::fault::now_ns(), "", {});
  usage("unknown mode " + o.mode);
}
