// zk://: the lock store on Apache ZooKeeper, Curator-style.
//
//   zk://[user:password@]host:port[,host:port...][/chroot][?session_timeout=10s]
//
// Layout: <chroot>/<recipe>/<encoded name>/_c_<attempt id>-<kind>-<sequence>
// where <recipe> is mutex, rw_mutex, semaphore or election, <encoded name>
// keeps [A-Za-z0-9_-] and %-escapes every other byte (so "..", "/" and NUL
// are safe), <attempt id> is 128 random bits per acquisition attempt
// ("protected" mode: a create retried after a connection loss finds its own
// node), <kind> is lock, read or writ, and the sequence is ZooKeeper's.
// Each node is EPHEMERAL_SEQUENTIAL and holds "weft1\n<holder>\n<limit>\n<value>".
//
// Grant rule, as for every store: an entry is granted when it and every
// entry before it fit together. A waiter watches exactly one thing: its
// predecessor (mutex, election, writer, semaphore waiters behind the first),
// the nearest earlier writer (reader), or the directory's children (only the
// first semaphore waiter). No herd.
//
// Holder watch: each entry node is also watched by its own session (getData
// + watch, sent right after the create, never waited for), so a lease's
// lost() fires when another client deletes its node (anonymous zk:// lets any
// client do so: use digest credentials on a shared ensemble).
//
// Fencing token: the czxid of the entry's node. See docs/LOCKS.md for why it
// never goes backwards.
//
// Thread-safety: the store is thread-safe; share one per process.
#pragma once

#include <memory>

#include "weft/lock/store.hpp"
#include "weft/result.hpp"

namespace weft::lock::zk {

class session;

// Opens a zk:// store (what open() calls for the "zk" scheme). Credentials
// come from the URI's userinfo, else from $WEFT_ZK_AUTH ("user:password").
result<std::shared_ptr<store>> open_store(const store_uri& uri);

// For benchmarks and tests: the session behind a store opened by open_store.
std::shared_ptr<session> session_of(const std::shared_ptr<store>& zk_store);

}  // namespace weft::lock::zk
