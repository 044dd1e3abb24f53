#include "core/ready_ledger.h"

#include <fmt/format.h>

#include "core/assert.h"

namespace replikv::core {

bool ReadyLedger::admit(Ready& ready, const Replica& replica, std::vector<Message>& early) {
  REPLIKV_ASSERT(ready.id == last_admitted_.next(), "Ready ids increase by one");
  last_admitted_ = ready.id;
  const bool must_sync =
      ready.sync == Sync::always || (ready.sync == Sync::per_policy && fsync_always_);
  if (must_sync && !sync_needed_from_) sync_needed_from_ = ready.id;
  bool any_late_message = false;
  for (auto& message : ready.messages) {
    if (!message.early) {
      any_late_message = true;
      continue;
    }
    // A term or a vote must be durable before anything that depends on it leaves (ready.h, 4).
    if (ready.sync == Sync::always || !replica.may_leave_early(message)) {
      if (early_violations_++ == 0) {
        first_early_violation_ =
            fmt::format("Ready {}: a message to node {} left before the Ready was durable, and {}",
                        ready.id.value(), message.to.value(),
                        ready.sync == Sync::always ? "the Ready writes a term or vote"
                                                   : "the protocol says it may not");
      }
    }
    early.push_back(std::move(message));
    // The moved-from message keeps its flag: release() skips it if it stays in the list.
  }
  if (!ready.replies.empty() || any_late_message) {
    Waiting entry{ready.id, std::move(ready.replies), {}};
    // The replica gets a list with capacity back for its next Ready.
    if (!spare_replies_.empty()) {
      ready.replies.swap(spare_replies_.back());
      spare_replies_.pop_back();
    }
    if (any_late_message) {
      entry.messages.swap(ready.messages);
      // The replica gets a vector with capacity back with its next Ready (hand_over swaps).
      if (!spare_messages_.empty()) {
        ready.messages.swap(spare_messages_.back());
        spare_messages_.pop_back();
      }
    }
    waiting_.push_back(std::move(entry));
  }
  ready.messages.clear();
  ready.replies.clear();
  return must_sync;
}

ReadyId ReadyLedger::begin_sync() {
  REPLIKV_ASSERT(!syncing_from_, "one sync runs at a time");
  // A sync with nothing that needs it (a driver's choice) covers the Readies admitted so far.
  syncing_from_ = sync_needed_from_ ? *sync_needed_from_ : last_admitted_.next();
  sync_needed_from_.reset();
  return last_admitted_;
}

void ReadyLedger::end_sync() {
  REPLIKV_ASSERT(syncing_from_.has_value(), "a sync ends only after it began");
  syncing_from_.reset();
  ++syncs_total_;
}

ReadyId ReadyLedger::durable() const {
  ReadyId candidate = last_admitted_;
  for (const auto& first : {syncing_from_, sync_needed_from_}) {
    if (first && first->value() - 1 < candidate.value()) candidate = ReadyId(first->value() - 1);
  }
  return candidate;
}

std::optional<ReadyId> ReadyLedger::advance() {
  const ReadyId now = durable();
  if (now <= reported_) return std::nullopt;
  reported_ = now;
  return now;
}

void ReadyLedger::replies_released(ReadyId id, uint64_t count) {
  if (id > durable()) replies_before_durable_ += count;
}

void ReadyLedger::reset() {
  last_admitted_ = ReadyId();
  reported_ = ReadyId();
  sync_needed_from_.reset();
  syncing_from_.reset();
  waiting_.clear();
}

}  // namespace replikv::core
