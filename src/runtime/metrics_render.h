// Renders named metrics (core/status.h) the three ways a node shows them, so no field is listed by
// hand more than once: INFO lines, Prometheus text for /metrics, and JSON for /status.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "runtime/peer_transport.h"

namespace replikv::runtime {

// `replikv_<name>:<value>\r\n` each (a flag as 0/1, a text as it is).
void append_info(std::string& out, std::span<const core::Metric> metrics);
// `# HELP`, `# TYPE` and the sample, named `replikv_<name>` (a counter `replikv_<name>_total`);
// a text is a gauge of 1 with the text as its `value` label.
void append_prometheus(std::string& out, std::span<const core::Metric> metrics);
// `"<name>": value` each (a flag as true/false).
void append_json(nlohmann::json& out, std::span<const core::Metric> metrics);

// The peer transport's counters as metrics (peer_messages_sent, …).
std::vector<core::Metric> peer_transport_metrics(const PeerCounters& counters);

}  // namespace replikv::runtime
