// `replikv failover`: moves leadership in a local cluster — a handover through the leader, or a
// promotion forced at the target (docs/replication.md, "Manual failover").
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/local_cluster.h"

namespace replikv::cli {

using namespace local;

int run_failover(const FailoverOptions& options) {
  std::string error;
  const auto layout = read_layout(options.dir, error);
  if (!layout) {
    std::cerr << "replikv failover: " << error << "\n";
    return 2;
  }
  const std::string id = !options.to.empty() && (options.to[0] == 'n' || options.to[0] == 'N')
                             ? options.to.substr(1)
                             : options.to;
  const int target = std::atoi(id.c_str());
  if (target < 1 || target > layout->nodes || std::to_string(target) != id) {
    std::cerr << fmt::format(
        "replikv failover: --to takes a node of this cluster, n1 to n{} (got '{}')\n",
        layout->nodes, options.to);
    return 2;
  }
  const int wait_ms = static_cast<int>(options.timeout_ms) + 2000;
  std::optional<std::string> reply;
  if (options.force) {
    std::vector<std::string> args{"FAILOVER", "TO", std::to_string(target), "FORCE"};
    if (options.accept_data_loss) args.emplace_back("ACCEPT-DATA-LOSS");
    args.insert(args.end(), {"TIMEOUT", std::to_string(options.timeout_ms)});
    std::cout << fmt::format(
        "promoting n{} without the leader ({}) …\n", target,
        options.accept_data_loss ? "accepting data loss" : "FAILOVER TO … FORCE");
    reply = ask(layout->port + target - 1, args, wait_ms);
  } else {
    int leader = 0;
    for (int node = 1; node <= layout->nodes && leader == 0; ++node) {
      const auto fields = replication(layout->port + node - 1);
      if (fields && fields->count("replikv_state") != 0 && fields->at("replikv_state") == "leader")
        leader = node;
    }
    if (leader == 0) {
      std::cerr
          << "replikv failover: no node answers as the leader; if it is unreachable, use --force\n";
      return 1;
    }
    if (leader == target) {
      std::cout << fmt::format("n{} already leads\n", target);
      return 0;
    }
    std::cout << fmt::format("handing leadership from n{} to n{} …\n", leader, target);
    reply = ask(
        layout->port + leader - 1,
        {"FAILOVER", "TO", std::to_string(target), "TIMEOUT", std::to_string(options.timeout_ms)},
        wait_ms);
  }
  if (!reply) {
    std::cerr << "replikv failover: no answer\n";
    return 1;
  }
  if (reply->empty() || (*reply)[0] == '-') {
    std::cerr << "replikv failover: " << (reply->empty() ? *reply : reply->substr(1)) << "\n";
    return 1;
  }
  std::cout << fmt::format("n{} leads\n", target);
  return 0;
}

}  // namespace replikv::cli
