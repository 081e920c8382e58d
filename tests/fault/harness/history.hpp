// The fault harness's history and its safety/liveness checker.
//
// Every client process appends one line per event to its own history file
// (times are CLOCK_MONOTONIC nanoseconds, common to every process of the host):
//   acquired <client> <token> <t>           the lock was granted
//   write <client> <token> <t_requested> <t_done> accepted|rejected <believed_held>
//                                           a write to the fenced resource; t_done
//                                           is taken inside the resource's lock
//   lost <client> <token> <t>               the lease's lost() fired
//   released <client> <token> <t>           release() returned
// The nemesis appends:
//   fault <kind> <pid> <t_injected> <t_healed> [<client>]
//                                           <client>: the client cut off (kind cut),
//                                           which kept working through the fault
// Baseline locks without tokens record token 0 and a per-client session
// number in place of the token (see client.cpp), flagged `untokened`.
//
// Thread-safety: plain functions; a history_writer is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::fault {

std::int64_t now_ns();

struct write_record {
  int client = 0;
  std::uint64_t token = 0;
  std::int64_t requested = 0;
  std::int64_t done = 0;
  bool accepted = false;
  bool believed_held = false;
};

struct session_record {  // one acquisition
  int client = 0;
  std::uint64_t token = 0;
  std::int64_t acquired = 0;
  std::int64_t ended = -1;  // released, or -1 (killed: unknown)
  std::int64_t lost = -1;   // lost() fired
};

struct fault_record {
  std::string kind;
  int pid = 0;
  std::int64_t injected = 0;
  std::int64_t healed = 0;
  int client = -1;  // the client cut off the store, or -1
};

struct history {
  bool tokened = true;
  std::vector<write_record> writes;
  std::vector<session_record> sessions;
  std::vector<fault_record> faults;
};

// Reads every *.log file in `dir`.
history read_history(const std::string& dir);

struct check_report {
  std::size_t acquisitions = 0;
  std::size_t accepted_writes = 0;
  std::size_t rejected_writes = 0;  // stale writes stopped by the fence
  std::size_t faults = 0;
  std::int64_t longest_unavailability_ns = 0;  // fault injected -> next accepted write by another client
  std::vector<std::string> violations;         // empty: the history is safe and live
};

// Checks: no two sessions' accepted writes interleave (overlapping holders);
// tokens never go backwards (a session that began after another ended has a
// higher token); no accepted write carries a token below one accepted before
// it (stale); no write requested as holder after that lease's lost() fired;
// a client cut off while holding (fault_record::client) whose lost() had not
// fired when another client was granted the lock; and after every fault heals,
// an accepted write within `progress_bound_ns` (if the run lasted that long).
// Progress and unavailability do not count the writes a cut client makes in
// the session it held when cut (it keeps writing through the fence).
check_report check(const history& h, std::int64_t progress_bound_ns, std::int64_t run_end_ns);

}  // namespace weft::fault
