#include "history.hpp"

#include <time.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>

namespace weft::fault {

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

history read_history(const std::string& dir) {
  history h;
  std::map<std::pair<int, std::uint64_t>, std::size_t> session_index;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string what;
      fields >> what;
      if (what == "untokened") {
        h.tokened = false;
      } else if (what == "acquired") {
        session_record s;
        fields >> s.client >> s.token >> s.acquired;
        if (!fields) continue;  // a line cut short by SIGKILL
        session_index[{s.client, s.token}] = h.sessions.size();
        h.sessions.push_back(s);
      } else if (what == "write") {
        write_record w;
        std::string outcome;
        int believed = 0;
        fields >> w.client >> w.token >> w.requested >> w.done >> outcome >> believed;
        if (!fields) continue;
        w.accepted = outcome == "accepted";
        w.believed_held = believed != 0;
        h.writes.push_back(w);
      } else if (what == "lost" || what == "released") {
        int client = 0;
        std::uint64_t token = 0;
        std::int64_t t = 0;
        fields >> client >> token >> t;
        if (!fields) continue;
        auto it = session_index.find({client, token});
        if (it == session_index.end()) continue;
        if (what == "lost") h.sessions[it->second].lost = t;
        else h.sessions[it->second].ended = t;
      } else if (what == "fault") {
        fault_record f;
        fields >> f.kind >> f.pid >> f.injected >> f.healed;
        if (!fields) continue;
        if (!(fields >> f.client)) f.client = -1;
        h.faults.push_back(f);
      }
    }
  }
  return h;
}

namespace {
std::string ms(std::int64_t ns) { return std::to_string(ns / 1'000'000) + " ms"; }
}  // namespace

check_report check(const history& h, std::int64_t progress_bound_ns, std::int64_t run_end_ns) {
  check_report r;
  r.acquisitions = h.sessions.size();
  r.faults = h.faults.size();
  std::vector<write_record> accepted;
  for (const auto& w : h.writes) {
    if (w.accepted) accepted.push_back(w);
    else ++r.rejected_writes;
  }
  r.accepted_writes = accepted.size();
  std::sort(accepted.begin(), accepted.end(), [](auto& a, auto& b) { return a.done < b.done; });

  // 1. Overlapping holders: in the total order of accepted writes, once a
  // session's writes are followed by another session's, it must never write
  // again (its window and the other's would interleave).
  {
    std::map<std::pair<int, std::uint64_t>, std::size_t> last_seen;  // session -> index of its last write
    std::pair<int, std::uint64_t> previous{-1, 0};
    std::map<std::pair<int, std::uint64_t>, bool> closed;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      std::pair<int, std::uint64_t> session{accepted[i].client, accepted[i].token};
      if (session != previous && previous.first >= 0) closed[previous] = true;
      if (closed.count(session) && closed[session] && session != previous) {
        r.violations.push_back("overlapping holders: client " + std::to_string(session.first) + " (token " +
                               std::to_string(session.second) + ") wrote again after client " +
                               std::to_string(previous.first) + " (token " + std::to_string(previous.second) +
                               ") had written");
      }
      previous = session;
    }
  }
  if (h.tokened) {
    // 2. Stale writes: an accepted token below the highest accepted before it.
    std::uint64_t highest = 0;
    for (const auto& w : accepted) {
      if (w.token < highest)
        r.violations.push_back("stale write accepted: token " + std::to_string(w.token) + " after " +
                               std::to_string(highest));
      highest = std::max(highest, w.token);
    }
    // 3. Tokens never go backwards: a session that began after another had
    // ended carries a higher token.
    std::vector<session_record> sessions = h.sessions;
    std::sort(sessions.begin(), sessions.end(), [](auto& a, auto& b) { return a.acquired < b.acquired; });
    std::vector<const session_record*> by_end;
    for (const auto& s : sessions)
      if (s.ended >= 0) by_end.push_back(&s);
    std::sort(by_end.begin(), by_end.end(), [](auto* a, auto* b) { return a->ended < b->ended; });
    std::size_t next_end = 0;
    std::uint64_t highest_ended = 0;
    for (const auto& s : sessions) {
      while (next_end < by_end.size() && by_end[next_end]->ended < s.acquired)
        highest_ended = std::max(highest_ended, by_end[next_end++]->token);
      if (s.token <= highest_ended)
        r.violations.push_back("token went backwards: client " + std::to_string(s.client) + " got token " +
                               std::to_string(s.token) + " after token " + std::to_string(highest_ended) +
                               " had been released");
    }
  }
  // 4. Believed held after lost() fired.
  {
    std::map<std::pair<int, std::uint64_t>, std::int64_t> lost_at;
    for (const auto& s : h.sessions)
      if (s.lost >= 0) lost_at[{s.client, s.token}] = s.lost;
    for (const auto& w : h.writes) {
      auto it = lost_at.find({w.client, w.token});
      if (it != lost_at.end() && w.believed_held && w.requested > it->second)
        r.violations.push_back("client " + std::to_string(w.client) + " wrote as holder of token " +
                               std::to_string(w.token) + " " + ms(w.requested - it->second) +
                               " after its lost() fired");
    }
  }
  // 5. A client cut off while holding: its lost() fires before anyone else
  // is granted the lock (unless it released first).
  for (const auto& f : h.faults) {
    if (f.client < 0) continue;
    const session_record* victim = nullptr;
    const session_record* next = nullptr;
    for (const auto& s : h.sessions) {
      if (s.client == f.client && s.acquired <= f.injected && (s.ended < 0 || s.ended > f.injected)) victim = &s;
      if (s.client != f.client && s.acquired > f.injected && (!next || s.acquired < next->acquired)) next = &s;
    }
    if (!victim || !next) continue;
    if (victim->ended >= 0 && victim->ended <= next->acquired) continue;
    if (victim->lost < 0 || victim->lost > next->acquired)
      r.violations.push_back("cut holder not told: client " + std::to_string(f.client) + " (token " +
                             std::to_string(victim->token) + ") was cut off, and client " +
                             std::to_string(next->client) + " got token " + std::to_string(next->token) + " " +
                             (victim->lost < 0 ? std::string("while its lost() never fired")
                                               : "before its lost() fired (" + ms(victim->lost - next->acquired) +
                                                     " later)"));
  }
  // 6. Liveness and unavailability after each fault.
  for (const auto& f : h.faults) {
    // A cut client's writes in the session it held when cut do not count.
    std::uint64_t cut_token = 0;
    bool cut_session = false;
    for (const auto& s : h.sessions)
      if (f.client >= 0 && s.client == f.client && s.acquired <= f.injected &&
          (s.ended < 0 || s.ended > f.injected))
        cut_token = s.token, cut_session = true;
    auto counts = [&](const write_record& w) {
      return !cut_session || w.client != f.client || w.token != cut_token;
    };
    auto after_injection = std::find_if(accepted.begin(), accepted.end(),
                                        [&](const write_record& w) { return w.done > f.injected && counts(w); });
    std::int64_t next = after_injection == accepted.end() ? -1 : after_injection->done;
    // Unavailability: from injection to the first accepted write after the fault.
    if (next >= 0) r.longest_unavailability_ns = std::max(r.longest_unavailability_ns, next - f.injected);
    auto after_heal = std::find_if(accepted.begin(), accepted.end(),
                                   [&](const write_record& w) { return w.done > f.healed && counts(w); });
    bool progressed = after_heal != accepted.end() && after_heal->done - f.healed <= progress_bound_ns;
    if (!progressed && run_end_ns - f.healed > progress_bound_ns)
      r.violations.push_back("no progress within " + ms(progress_bound_ns) + " after the " + f.kind +
                             " fault healed" +
                             (after_heal == accepted.end() ? std::string(" (none until the run ended)")
                                                           : " (next write after " + ms(after_heal->done - f.healed) + ")"));
    if (next < 0) r.longest_unavailability_ns = std::max(r.longest_unavailability_ns, run_end_ns - f.injected);
  }
  return r;
}

}  // namespace weft::fault
