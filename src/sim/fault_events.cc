// The fault schedule carried out: crashes, disk losses, pauses, cuts, skews, operator failovers.
#include "sim/simulation.h"

namespace replikv::sim::detail {

// Queues the schedule's event `index`, which applies it (until the nemesis stops) and queues
// the next. The chain runs to the schedule's end either way: the queue is never empty before.
void Simulation::queue_fault(size_t index) {
  if (index >= schedule_.size()) return;
  events_.at_first(schedule_[index].at_ms * ns_per_ms, [this, index] {
    if (!nemesis_stopped_) apply(schedule_[index]);
    queue_fault(index + 1);
  });
}

// The node leading in the highest term, among those up (nullptr: none).
Node* Simulation::current_leader() {
  Node* leader = nullptr;
  std::optional<core::Term> best;
  for (auto& node : nodes_) {
    const auto term = node->up ? node->replica->leader_term() : std::nullopt;
    if (term && (!best || *term > *best)) best = term, leader = node.get();
  }
  return leader;
}

void Simulation::apply(const FaultEvent& event) {
  auto node_at = [this](int id) -> Node* {
    return id >= 1 && id <= options_.nodes ? nodes_[static_cast<size_t>(id - 1)].get() : nullptr;
  };
  switch (event.kind) {
    case FaultEvent::Kind::kill:
      if (Node* node = node_at(event.node)) {
        if (node->up)
          check::write_nemesis(history_, fmt::format("kill n{}", node->id), events_.now_ns());
        crash(*node);
      }
      break;
    case FaultEvent::Kind::wipe:
      if (Node* node = node_at(event.node)) {
        check::write_nemesis(history_, fmt::format("wipe n{}", node->id), events_.now_ns());
        crash(*node);
        node->engine.wipe();
        node->disk_lost = true;
        if (run_checks_) run_checks_->wiped(node->id);
        ++stats_.disk_losses;
      }
      break;
    case FaultEvent::Kind::restart:
      if (Node* node = node_at(event.node); node && !node->up) start_node(*node);
      break;
    case FaultEvent::Kind::pause:
      if (Node* node = node_at(event.node); node && node->up && !node->paused) {
        ++stats_.pauses;
        node->paused = true;
      }
      break;
    case FaultEvent::Kind::resume:
      if (Node* node = node_at(event.node); node && node->paused) {
        node->paused = false;
        auto queued = std::move(node->queued);
        node->queued.clear();
        for (auto& action : queued) input(*node, std::move(action));
      }
      break;
    case FaultEvent::Kind::partition:
      ++stats_.cuts;
      cut_.insert({event.from, event.to});
      break;
    case FaultEvent::Kind::heal:
      cut_.clear();
      drop_permille_ = dup_permille_ = 0;
      for (auto& node : nodes_) node->skew_ms = 0;
      check::write_heal(history_, events_.now_ns());
      break;
    case FaultEvent::Kind::drop:
      drop_permille_ = event.amount;
      break;
    case FaultEvent::Kind::dup:
      dup_permille_ = event.amount;
      break;
    case FaultEvent::Kind::skew:
      if (Node* node = node_at(event.node)) node->skew_ms = event.amount;
      break;
    case FaultEvent::Kind::drift: {
      Node* node = event.node == 0 ? current_leader() : node_at(event.node);
      if (node == nullptr) break;
      const int64_t virtual_ms = events_.now_ns() / ns_per_ms;
      node->drift_offset_ms += (virtual_ms - node->drift_since_ms) * node->drift_ppm / 1'000'000;
      node->drift_since_ms = virtual_ms;
      node->drift_ppm = event.amount;
      break;
    }
    case FaultEvent::Kind::isolate: {
      // The leader's links to every other node, both ways (clients still reach it), for a while.
      Node* leader = current_leader();
      if (leader == nullptr) break;
      ++stats_.cuts;
      std::vector<std::pair<int, int>> links;
      for (auto& node : nodes_) {
        if (node.get() == leader) continue;
        links.emplace_back(leader->id, node->id);
        links.emplace_back(node->id, leader->id);
      }
      for (const auto& link : links) cut_.insert(link);
      events_.after(event.amount * ns_per_ms, [this, links] {
        for (const auto& link : links) cut_.erase(link);
      });
      break;
    }
    case FaultEvent::Kind::strand: {
      Node* leader = current_leader();
      if (leader == nullptr) break;
      ++stats_.strands;
      for (auto& node : nodes_) {
        if (node.get() != leader) cut_.insert({leader->id, node->id});
      }
      events_.after(event.amount * ns_per_ms, [this, leader] {
        if (nemesis_stopped_ || !leader->up) return;
        crash(*leader);
        events_.after(500 * ns_per_ms, [this, leader] {
          if (!leader->up) start_node(*leader);
        });
      });
      break;
    }
    case FaultEvent::Kind::handover:
    case FaultEvent::Kind::force: {
      // An operator's command, on its own connection (its answer is not recorded): a handover
      // goes to the node leading in the highest term, a forced promotion to the target.
      const bool force = event.kind == FaultEvent::Kind::force;
      Node* to = force ? node_at(event.node) : current_leader();
      if (to == nullptr || !to->up || event.node < 1 || event.node > options_.nodes) break;
      ++(force ? stats_.forced_promotions : stats_.handovers);
      const bool accept_data_loss = force && event.amount == 1;
      if (accept_data_loss) ++stats_.data_loss_promotions;
      // Sent as an operator types it (the strategy says what that is), through the strategy's own
      // parser (core/strategy.h).
      const std::vector<std::string> words =
          strategy_->failover_arguments(static_cast<uint32_t>(event.node), force, accept_data_loss);
      const std::vector<std::string_view> argv(words.begin(), words.end());
      const core::CommandSpec* spec =
          argv.empty() ? nullptr : strategy_->find_command(argv.front());
      REPLIKV_ASSERT(spec != nullptr && core::check_arity(*spec, argv.size()) == std::nullopt,
                     "a strategy with the failover fault kind says how an operator asks for it");
      auto parsed = strategy_->parse_command(*spec, argv);
      REPLIKV_ASSERT(std::holds_alternative<core::Request>(parsed),
                     "the operator's FAILOVER parses");
      core::Request request = std::get<core::Request>(std::move(parsed));
      input(*to, [to, request] {
        to->replica->client_request(
            {core::ConnectionId(admin_connection), 0, request, {}, std::nullopt});
      });
      break;
    }
  }
}

}  // namespace replikv::sim::detail
