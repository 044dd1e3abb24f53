// The simulated network: peer messages pooled on the wire, each node's clocks.
#include "sim/simulation.h"

namespace replikv::sim::detail {

void Simulation::deliver_peer_message(uint32_t slot) {
  InFlight& in_flight = in_flight_[slot];
  Node& peer = *nodes_[static_cast<size_t>(in_flight.message.to.value() - 1)];
  if (peer.up && peer.paused) {
    // Rare: the message waits in the node's queue, which a crash may drop, so it takes a copy.
    auto copy = std::make_shared<const core::Message>(in_flight.message);
    peer.queued.push_back([&peer, copy] { peer.replica->peer_message(*copy); });
  } else if (peer.up) {
    peer.replica->peer_message(in_flight_[slot].message);
    drain(peer);  // may send, and grow in_flight_: no reference into it is used after this
  }
  if (--in_flight_[slot].copies == 0) free_in_flight_.push_back(slot);
}

core::TimeMs Simulation::node_now_ms(const Node& node) const {
  return epoch_ms + node.skew_ms + node_monotonic_ms(node);
}

core::TimeMs Simulation::node_monotonic_ms(const Node& node) const {
  const int64_t virtual_ms = events_.now_ns() / ns_per_ms;
  return virtual_ms + node.drift_offset_ms +
         (virtual_ms - node.drift_since_ms) * node.drift_ppm / 1'000'000;
}

void Simulation::send_peer_message(Node& node, core::Message&& message) {
  const int target = static_cast<int>(message.to.value());
  if (target < 1 || target > options_.nodes) return;
  // One pooled copy, however many times the network delivers it.
  uint32_t slot;
  if (free_in_flight_.empty()) {
    slot = static_cast<uint32_t>(in_flight_.size());
    in_flight_.emplace_back();
  } else {
    slot = free_in_flight_.back();
    free_in_flight_.pop_back();
  }
  in_flight_[slot].message = std::move(message);
  const int copies = send(node.id, target, true, [this, slot] { deliver_peer_message(slot); });
  in_flight_[slot].copies = copies;
  if (copies == 0) free_in_flight_.push_back(slot);
}

}  // namespace replikv::sim::detail
