// Blanks store credentials out of weft's own argv. `weft lock` and friends
// keep running while they hold a lock, and a process's command line is
// readable by every user of the host (ps, /proc/PID/cmdline), so a password
// given as `--store redis://:PASSWORD@host` must not stay there. As the mysql
// and psql clients do, main copies argv for parsing, then overwrites the
// secret bytes in place. Environment variables (WEFT_STORE,
// WEFT_REDIS_PASSWORD, WEFT_ZK_AUTH) are private to the user and untouched.
//
// Thread-safety: call from main before any thread starts.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::cli {

// The [offset, length) ranges of secrets in a store URI: the password of the
// userinfo (`redis://:PW@`, `zk://user:PW@`) and the values of password=,
// pass=, token=, auth= and secret= query parameters. A user name alone is
// not a secret.
std::vector<std::pair<std::size_t, std::size_t>> store_uri_secrets(std::string_view uri);

// Overwrites with '*' the secrets of every `--store URI` and `--store=URI`
// in argv[1..argc) up to a `--` (the arguments after it are the child's).
// Returns how many secrets it blanked.
std::size_t blank_store_secrets(int argc, char** argv);

}  // namespace weft::cli
