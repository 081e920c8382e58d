// `weft ring lookup|plan|stats`: consistent hashing from the shell.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "json_writer.hpp"
#include "svg_chart.hpp"
#include "weft/ring/factory.hpp"
#include "weft/ring/load_stats.hpp"
#include "weft/ring/migration_plan.hpp"
#include "weft/ring/node_list.hpp"

namespace weft::cli {
namespace {

using ring::snapshot;

struct ring_arguments {
  std::string algorithm = "ketama";
  std::string nodes;
  ring::options options;
  std::string hash = "xxh3";
};

void add_ring_options(CLI::App* command, ring_arguments& args) {
  command
      ->add_option("--algo,-a", args.algorithm,
                   "ketama (libmemcached-compatible), ring, jump, jumpback, rendezvous, maglev, bounded, memento")
      ->capture_default_str();
  command
      ->add_option("--nodes,-n", args.nodes,
                   "the nodes: host[:port][=weight],... ; port defaults to 11211, weight to 1")
      ->required();
  const char* group = "Algorithm options";
  command->add_option("--vnodes", args.options.vnodes, "ring, bounded: virtual nodes per unit of weight")
      ->capture_default_str()
      ->group(group);
  command->add_option("--table-size", args.options.table_size, "maglev: lookup table size, a prime > 100 x nodes")
      ->capture_default_str()
      ->group(group);
  command->add_option("--epsilon", args.options.epsilon, "bounded: a node holds at most ceil((1+epsilon) x mean)")
      ->capture_default_str()
      ->group(group);
  command->add_option("--hash", args.hash, "key hash of every algorithm but ketama (always MD5): xxh3 or md5")
      ->capture_default_str()
      ->group(group);
}

result<std::shared_ptr<const snapshot>> build_ring(ring_arguments& args) {
  auto hash = ring::parse_hash_function(args.hash);
  if (!hash) return fail(std::move(hash).error());
  args.options.hash = *hash;
  auto nodes = ring::parse_node_list(args.nodes);
  if (!nodes) return fail(std::move(nodes).error());
  return ring::make(args.algorithm, std::move(*nodes), args.options);
}

std::string describe(const snapshot& ring) {
  const auto& o = ring.settings();
  const std::string_view algorithm = ring.algorithm();
  if (algorithm == "ketama") return "ketama (libmemcached weighted, MD5)";
  if (algorithm == "ring") return fmt::format("ring (vnodes {}, hash {})", o.vnodes, to_string(o.hash));
  if (algorithm == "maglev") return fmt::format("maglev (table {}, hash {})", o.table_size, to_string(o.hash));
  if (algorithm == "bounded") {
    return fmt::format("bounded (epsilon {}, vnodes {}, hash {})", o.epsilon, o.vnodes, to_string(o.hash));
  }
  return fmt::format("{} (hash {})", algorithm, to_string(o.hash));
}

// Buffered stdout: one fwrite per megabyte, never a flush per line.
class output_buffer {
 public:
  output_buffer() { text_.reserve(capacity + 4096); }
  std::string& text() { return text_; }
  bool maybe_flush() { return text_.size() < capacity || flush(); }
  bool flush() {
    if (!text_.empty() && std::fwrite(text_.data(), 1, text_.size(), stdout) != text_.size()) return false;
    text_.clear();
    return true;
  }

 private:
  static constexpr std::size_t capacity = 1 << 20;
  std::string text_;
};

int write_failed() {
  print_error(fmt::format("cannot write the output: {}", std::strerror(errno)), "check the pipe or the disk");
  return exit_io_error;
}

int run_lookup(ring_arguments& args, std::size_t replica_count) {
  auto built = build_ring(args);
  if (!built) return report(built.error());
  const snapshot& ring = **built;
  if (replica_count > ring.size()) {
    print_error(fmt::format("--replicas {} is more than the {} nodes", replica_count, ring.size()),
                fmt::format("ask for 1 to {} replicas", ring.size()));
    return exit_usage;
  }
  std::vector<std::string_view> names;
  for (const auto& n : ring.nodes()) names.push_back(n.name);

  std::vector<char> input(1 << 20);
  std::size_t filled = 0;
  output_buffer out;
  std::vector<std::string_view> keys;
  std::vector<std::size_t> located;
  std::vector<std::size_t> replicas(replica_count);
  bool end_of_input = false;
  while (!end_of_input) {
    if (filled == input.size()) input.resize(input.size() * 2);  // a line longer than the buffer
    const std::size_t got = std::fread(input.data() + filled, 1, input.size() - filled, stdin);
    if (got == 0) {
      if (std::ferror(stdin)) {
        print_error(fmt::format("cannot read the keys from stdin: {}", std::strerror(errno)), "check the input pipe");
        return exit_io_error;
      }
      end_of_input = true;
    }
    filled += got;
    // Complete lines (and, at the end, a last line without a newline).
    keys.clear();
    std::size_t start = 0;
    while (start < filled) {
      const void* newline = std::memchr(input.data() + start, '\n', filled - start);
      if (newline == nullptr && !end_of_input) break;
      const std::size_t end = newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - input.data()) : filled;
      std::size_t length = end - start;
      if (length > 0 && input[start + length - 1] == '\r') --length;
      keys.emplace_back(input.data() + start, length);
      start = newline ? end + 1 : filled;
    }
    if (replica_count == 0) {
      located.resize(keys.size());
      ring.locate_many(keys, located);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string& text = out.text();
        text.append(keys[i]);
        text.push_back('\t');
        text.append(names[located[i]]);
        text.push_back('\n');
        if (!out.maybe_flush()) return write_failed();
      }
    } else {
      for (std::string_view key : keys) {
        (void)ring.replicas_into(key, replicas);  // the count was checked above
        std::string& text = out.text();
        text.append(key);
        text.push_back('\t');
        for (std::size_t r = 0; r < replicas.size(); ++r) {
          if (r > 0) text.push_back(',');
          text.append(names[replicas[r]]);
        }
        text.push_back('\n');
        if (!out.maybe_flush()) return write_failed();
      }
    }
    std::memmove(input.data(), input.data() + start, filled - start);
    filled -= start;
  }
  if (!out.flush() || std::fflush(stdout) != 0) return write_failed();
  return exit_ok;
}

// Keys for plan and stats: a file (one per line) or synthetic "key:<i>".
struct key_source {
  std::string text;
  std::vector<std::string_view> lines;
  ring::key_set keys = ring::key_set::synthetic(0);
};

int load_keys(const std::string& path, std::size_t count, key_source& source) {
  if (path.empty()) {
    source.keys = ring::key_set::synthetic(count);
    return exit_ok;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    print_error(fmt::format("cannot open keys file '{}': {}", path, std::strerror(errno)),
                "check the path, or use --keys N for synthetic keys");
    return exit_no_input;
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    print_error(fmt::format("cannot read keys file '{}'", path), "check the file");
    return exit_io_error;
  }
  source.text = contents.str();
  std::string_view rest = source.text;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    source.lines.push_back(line);
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
  }
  if (source.lines.empty()) {
    print_error(fmt::format("keys file '{}' is empty", path), "give one key per line");
    return exit_data_error;
  }
  source.keys = ring::key_set::of(source.lines);
  return exit_ok;
}

int write_file(const std::string& path, const std::string& contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    print_error(fmt::format("cannot create '{}': {}", path, std::strerror(errno)), "check the directory and permissions");
    return exit_cannot_create;
  }
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  if (std::fclose(file) != 0 || !written) {
    print_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)), "check the disk");
    return exit_io_error;
  }
  return exit_ok;
}

struct plan_arguments {
  std::vector<std::string> add;
  std::vector<std::string> remove;
  std::size_t keys = 100'000;
  std::string keys_file;
  bool json = false;
  bool moves = false;
  std::string svg;
};

int run_plan(ring_arguments& args, plan_arguments& plan_args, const CLI::App& command, const CLI::Option* add_option,
             const CLI::Option* remove_option) {
  auto built = build_ring(args);
  if (!built) return report(built.error());
  std::shared_ptr<const snapshot> before = *built;
  std::shared_ptr<const snapshot> after = before;
  // Apply --add and --remove in the order given (memento remembers the order).
  std::size_t next_add = 0;
  std::size_t next_remove = 0;
  for (const CLI::Option* option : command.parse_order()) {
    if (option == add_option && next_add < plan_args.add.size()) {
      auto added = ring::parse_node(plan_args.add[next_add++]);
      if (!added) return report(added.error());
      auto changed = after->with_node(*added);
      if (!changed) return report(changed.error());
      after = *changed;
    } else if (option == remove_option && next_remove < plan_args.remove.size()) {
      auto removed = ring::parse_node(plan_args.remove[next_remove++]);
      if (!removed) return report(removed.error());
      auto changed = after->without_node(removed->name);
      if (!changed) return report(changed.error());
      after = *changed;
    }
  }
  key_source source;
  if (int code = load_keys(plan_args.keys_file, plan_args.keys, source); code != exit_ok) return code;
  const auto plan = ring::plan_migration(*before, *after, source.keys, plan_args.moves);

  if (!plan_args.svg.empty()) {
    std::vector<std::string> labels;
    bar_series old_series{"before", "#4e79a7", {}};
    bar_series new_series{"after", "#f28e2b", {}};
    for (const auto& n : plan.nodes) {
      labels.push_back(n.name);
      old_series.values.push_back(static_cast<double>(n.before));
      new_series.values.push_back(static_cast<double>(n.after));
    }
    const std::string svg = bar_chart_svg(fmt::format("weft ring plan: {}, {} keys", describe(*before), plan.keys),
                                          "keys per node", labels, {old_series, new_series});
    if (int code = write_file(plan_args.svg, svg); code != exit_ok) return code;
  }

  output_buffer out;
  std::string& text = out.text();
  if (plan_args.json) {
    text += fmt::format("{{\"algorithm\":{},\"description\":{},\"nodes_before\":{},\"nodes_after\":{},\"keys\":{},"
                        "\"moved\":{},\"moved_fraction\":{},\"ideal_fraction\":{},\"ratio_to_ideal\":{},\"nodes\":[",
                        json_quote(before->algorithm()), json_quote(describe(*before)), before->size(), after->size(),
                        plan.keys, plan.moved, json_number(plan.moved_fraction), json_number(plan.ideal_fraction),
                        json_number(plan.ratio_to_ideal));
    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      const auto& n = plan.nodes[i];
      text += fmt::format("{}{{\"name\":{},\"before\":{},\"after\":{},\"gained\":{},\"lost\":{}}}", i ? "," : "",
                          json_quote(n.name), n.before, n.after, n.gained, n.lost);
    }
    text += "]";
    if (plan_args.moves) {
      text += ",\"moves\":[";
      for (std::size_t i = 0; i < plan.moves.size(); ++i) {
        const auto& m = plan.moves[i];
        text += fmt::format("{}{{\"key\":{},\"from\":{},\"to\":{}}}", i ? "," : "", json_quote(m.key), json_quote(m.from),
                            json_quote(m.to));
        if (!out.maybe_flush()) return write_failed();
      }
      text += "]";
    }
    text += "}\n";
  } else {
    text += fmt::format("algorithm  {}\n", describe(*before));
    text += fmt::format("nodes      {} -> {}\n", before->size(), after->size());
    text += fmt::format("keys       {}{}\n", plan.keys, plan_args.keys_file.empty() ? " (synthetic key:<i>)" : "");
    text += fmt::format("moved      {:.6f} of the keys ({})\n", plan.moved_fraction, plan.moved);
    text += fmt::format("ideal      {:.6f} (the least any algorithm must move)\n", plan.ideal_fraction);
    if (plan.ideal_fraction > 0) text += fmt::format("ratio      {:.3f} x the ideal\n", plan.ratio_to_ideal);
    text += fmt::format("\n{:<28} {:>10} {:>10} {:>10} {:>10}\n", "node", "before", "after", "gained", "lost");
    for (const auto& n : plan.nodes) {
      text += fmt::format("{:<28} {:>10} {:>10} {:>10} {:>10}\n", n.name, n.before, n.after, n.gained, n.lost);
    }
    if (plan_args.moves) {
      text += "\nkey\tfrom\tto\n";
      for (const auto& m : plan.moves) {
        text += fmt::format("{}\t{}\t{}\n", m.key, m.from, m.to);
        if (!out.maybe_flush()) return write_failed();
      }
    }
  }
  if (!out.flush() || std::fflush(stdout) != 0) return write_failed();
  return exit_ok;
}

struct stats_arguments {
  std::size_t keys = 100'000;
  std::string keys_file;
  bool json = false;
  std::string svg;
};

int run_stats(ring_arguments& args, stats_arguments& stats_args) {
  auto built = build_ring(args);
  if (!built) return report(built.error());
  const snapshot& ring = **built;
  key_source source;
  if (int code = load_keys(stats_args.keys_file, stats_args.keys, source); code != exit_ok) return code;
  const auto stats = ring::measure_loads(ring, source.keys);
  double total_weight = 0;
  for (const auto& n : ring.nodes()) total_weight += n.weight;
  auto fair = [&](std::size_t i) { return static_cast<double>(stats.keys) * ring.nodes()[i].weight / total_weight; };

  if (!stats_args.svg.empty()) {
    std::vector<std::string> labels;
    bar_series keys_series{"keys", "#4e79a7", {}};
    bar_series fair_series{"fair share", "#bab0ac", {}};
    bool weighted = false;
    for (std::size_t i = 0; i < ring.size(); ++i) {
      labels.push_back(ring.nodes()[i].name);
      keys_series.values.push_back(static_cast<double>(stats.counts[i]));
      fair_series.values.push_back(fair(i));
      weighted = weighted || ring.nodes()[i].weight != ring.nodes()[0].weight;
    }
    std::vector<bar_series> series{keys_series};
    if (weighted) series.push_back(fair_series);
    const std::string svg =
        bar_chart_svg(fmt::format("weft ring stats: {}, {} keys, max/fair {:.3f}", describe(ring), stats.keys,
                                  stats.max_over_fair),
                      "keys per node", labels, series, weighted ? 0 : stats.mean, weighted ? "" : "mean");
    if (int code = write_file(stats_args.svg, svg); code != exit_ok) return code;
  }

  output_buffer out;
  std::string& text = out.text();
  if (stats_args.json) {
    text += fmt::format("{{\"algorithm\":{},\"description\":{},\"nodes\":{},\"keys\":{},\"mean\":{},\"max_over_fair\":{},"
                        "\"min_over_fair\":{},\"relative_stddev\":{},\"per_node\":[",
                        json_quote(ring.algorithm()), json_quote(describe(ring)), ring.size(), stats.keys,
                        json_number(stats.mean), json_number(stats.max_over_fair), json_number(stats.min_over_fair),
                        json_number(stats.stddev));
    for (std::size_t i = 0; i < ring.size(); ++i) {
      text += fmt::format("{}{{\"name\":{},\"weight\":{},\"keys\":{},\"fair\":{}}}", i ? "," : "",
                          json_quote(ring.nodes()[i].name), json_number(ring.nodes()[i].weight), stats.counts[i],
                          json_number(fair(i)));
    }
    text += "]}\n";
  } else {
    text += fmt::format("algorithm  {}\n", describe(ring));
    text += fmt::format("nodes      {}\n", ring.size());
    text += fmt::format("keys       {}{}\n", stats.keys, stats_args.keys_file.empty() ? " (synthetic key:<i>)" : "");
    text += fmt::format("mean       {:.1f} keys per node\n", stats.mean);
    text += fmt::format("max/fair   {:.4f}  (the busiest node against its fair share; 1 is perfect)\n", stats.max_over_fair);
    text += fmt::format("min/fair   {:.4f}\n", stats.min_over_fair);
    text += fmt::format("std-dev    {:.2f}% of the fair share\n", stats.stddev * 100);
    text += fmt::format("\n{:<28} {:>8} {:>10} {:>12} {:>8}\n", "node", "weight", "keys", "fair", "ratio");
    for (std::size_t i = 0; i < ring.size(); ++i) {
      text += fmt::format("{:<28} {:>8} {:>10} {:>12.1f} {:>8.4f}\n", ring.nodes()[i].name, ring.nodes()[i].weight,
                          stats.counts[i], fair(i), static_cast<double>(stats.counts[i]) / fair(i));
      if (!out.maybe_flush()) return write_failed();
    }
  }
  if (!out.flush() || std::fflush(stdout) != 0) return write_failed();
  return exit_ok;
}

}  // namespace

void register_ring_command(CLI::App& app) {
  CLI::App* ring_command = app.add_subcommand("ring", "Consistent hashing: look keys up, plan migrations, measure balance");
  ring_command->require_subcommand(1);

  // The arguments live as long as the app: callbacks run inside app.parse().
  static ring_arguments lookup_args, plan_ring_args, stats_ring_args;
  static std::size_t replica_count = 0;
  static plan_arguments plan_args;
  static stats_arguments stats_args;

  CLI::App* lookup = ring_command->add_subcommand(
      "lookup", "Read one key per line from stdin; write key<TAB>node (or key<TAB>node1,node2,... with --replicas)");
  add_ring_options(lookup, lookup_args);
  lookup->add_option("--replicas,-r", replica_count, "write this many distinct nodes per key, in preference order")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 31));
  lookup->callback([] { set_exit_code(run_lookup(lookup_args, replica_count)); });

  CLI::App* plan = ring_command->add_subcommand(
      "plan", "What moves when nodes are added or removed: the fraction moved against the ideal, per node");
  add_ring_options(plan, plan_ring_args);
  CLI::Option* add_option = plan->add_option("--add", plan_args.add, "add a node host[:port][=weight] (repeatable)");
  CLI::Option* remove_option = plan->add_option("--remove", plan_args.remove, "remove a node host[:port] (repeatable)");
  auto* keys_option = plan->add_option("--keys", plan_args.keys, "count synthetic keys key:0, key:1, ...")->capture_default_str();
  auto* keys_file_option = plan->add_option("--keys-file", plan_args.keys_file, "read the keys from a file, one per line");
  keys_option->excludes(keys_file_option);
  plan->add_flag("--json", plan_args.json, "write the figures as JSON");
  plan->add_flag("--moves", plan_args.moves, "also list every key that moves, with its old and new node");
  plan->add_option("--svg", plan_args.svg, "draw each node's keys before and after as an SVG bar chart");
  plan->callback([plan, add_option, remove_option] {
    if (plan_args.add.empty() && plan_args.remove.empty()) {
      print_error("plan needs a change", "give at least one --add NODE or --remove NODE");
      set_exit_code(exit_usage);
      return;
    }
    set_exit_code(run_plan(plan_ring_args, plan_args, *plan, add_option, remove_option));
  });

  CLI::App* stats = ring_command->add_subcommand("stats", "How evenly the nodes share a key set: per node counts, max/mean, std-dev");
  add_ring_options(stats, stats_ring_args);
  auto* stats_keys = stats->add_option("--keys", stats_args.keys, "count synthetic keys key:0, key:1, ...")->capture_default_str();
  auto* stats_keys_file = stats->add_option("--keys-file", stats_args.keys_file, "read the keys from a file, one per line");
  stats_keys->excludes(stats_keys_file);
  stats->add_flag("--json", stats_args.json, "write the figures as JSON");
  stats->add_option("--svg", stats_args.svg, "draw each node's keys as an SVG bar chart");
  stats->callback([] { set_exit_code(run_stats(stats_ring_args, stats_args)); });
}

}  // namespace weft::cli
