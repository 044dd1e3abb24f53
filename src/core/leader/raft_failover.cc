// Raft's manual failover (docs/replication.md, "Manual failover"): a handover the leader carries
// out (FAILOVER TO), and a promotion forced at the target (FAILOVER TO … FORCE).
#include <algorithm>

#include <fmt/format.h>

#include "core/leader/raft.h"
#include "core/leader/raft_records.h"

namespace replikv::core {

void Raft::client_failover(ClientRequest request) {
  const auto& failover = *std::get<StrategyCommand>(request.request).as<FailoverRequest>();
  const NodeId target(failover.target);
  if (std::find(options_.nodes.begin(), options_.nodes.end(), target) == options_.nodes.end()) {
    reply(request,
          Reply::error(fmt::format("ERR node {} is not a member of this cluster", target.value())));
    return;
  }
  if (handover_) {
    reply(request, Reply::error(fmt::format("ERR a failover to node {} is already in progress",
                                            handover_->target.value())));
    return;
  }
  // Why this node cannot lead, if it cannot (said to FORCE, and of a handover's target).
  const auto cannot_lead = [&](bool voter, bool installing_now) -> std::optional<Reply> {
    if (voter && !installing_now) return std::nullopt;
    return Reply::error(
        fmt::format("ERR node {} cannot lead: {}", target.value(),
                    voter ? "it is installing a snapshot"
                          : "it is a non-voter (it rejoined with an empty data directory)"));
  };
  if (failover.force) {
    if (target != options_.node_id) {
      reply(request, Reply::error(fmt::format(
                         "ERR FAILOVER TO {} FORCE goes to node {} itself, not to node {}",
                         target.value(), target.value(), options_.node_id.value())));
      return;
    }
    if (failover.accept_data_loss) {
      // Leadership without votes, in a term above any this node has seen and apart from any an
      // election reaches (the next multiple of 2^20, plus this node's id): reachable nodes follow
      // it at its first message and roll back the committed entries it lacks, counted. It cannot
      // stop an old leader that still hears a majority from taking writes meanwhile: those are
      // lost when the two meet.
      if (auto refusal = cannot_lead(voter_, installing())) {
        reply(request, std::move(*refusal));
        return;
      }
      const Term jumped((((term_.value() >> 20) + 1) << 20) | (options_.node_id.value() & 0xfffff));
      become_follower(jumped, std::nullopt);
      vote_ = options_.node_id;
      persist_term_and_vote();
      note_data_loss_term(jumped);
      ++data_loss_promotions_;
      become_leader();
      reply(request, Reply::ok());
      return;
    }
    // It stands at once, voters granting despite the lease. It wins only with an election
    // quorum — max(majority, n − k) — of voters whose logs are no newer than its own, so no
    // acknowledged write is lost; otherwise it is refused at the deadline.
    if (role_ == Role::leader) {
      reply(request, Reply::ok());
    } else if (options_.ack == AckPolicy::async) {
      reply(
          request,
          Reply::error("ERR refused: under ack async only the leader held the latest acknowledged "
                       "writes, so a forced promotion may lose them"));
    } else if (auto refusal = cannot_lead(voter_, installing())) {
      reply(request, std::move(*refusal));
    } else {
      handover_ = Handover{target, now_ms_ + failover.timeout_ms, std::move(request), true, false};
      start_election(true);
    }
    return;
  }
  if (role_ != Role::leader) {
    reply(request, refusal_naming_leader());
    return;
  }
  if (target == options_.node_id) {
    reply(request, Reply::ok());
    return;
  }
  if (auto refusal = cannot_lead(peers_.at(target.value()).voter, false)) {
    reply(request, std::move(*refusal));
    return;
  }
  // From now on no write is taken; the target is told to stand once it holds the whole log.
  handover_ = Handover{target, now_ms_ + failover.timeout_ms, std::move(request), false, false};
  tell_target();
}

void Raft::note_data_loss_term(Term term) {
  if (term <= data_loss_term_) return;
  data_loss_term_ = term;
  pending_.batch.put(Column::meta, std::string(raft_records::meta_data_loss_term),
                     raft_records::u64_bytes(term.value()));
  raft_records::demand(pending_, Sync::always);
}

void Raft::tell_target() {
  if (!handing_over() || handover_->told) return;
  const Peer& peer = peers_.at(handover_->target.value());
  if (peer.match < last_index_) return;
  proto::RaftMessage message;
  message.set_type(proto::RaftMessage::TIMEOUT_NOW);
  message.set_term(term_.value());
  send(handover_->target, std::move(message));
  handover_->told = true;
}

void Raft::on_timeout_now(const proto::RaftMessage& message) {
  if (role_ == Role::leader || leader_ != NodeId(message.from()) || !voter_ || installing()) return;
  start_election(true);
}

}  // namespace replikv::core
