#include "runtime/metrics_render.h"

#include <fmt/format.h>

namespace replikv::runtime {

using core::Metric;

void append_info(std::string& out, std::span<const Metric> metrics) {
  for (const Metric& metric : metrics) {
    if (metric.kind == Metric::Kind::text) {
      // INFO is one line per field: a line break in a text would start a field of its own.
      std::string text = metric.text;
      for (char& c : text) {
        if (c == '\r' || c == '\n') c = ' ';
      }
      out += fmt::format("replikv_{}:{}\r\n", metric.name, text);
    } else {
      out += fmt::format("replikv_{}:{}\r\n", metric.name, metric.number);
    }
  }
}

namespace {

// A Prometheus label value: backslash, double quote and line feed escaped.
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void append_prometheus(std::string& out, std::span<const Metric> metrics) {
  for (const Metric& metric : metrics) {
    const bool counter = metric.kind == Metric::Kind::counter;
    const std::string name =
        fmt::format("replikv_{}{}", metric.name, counter ? std::string_view("_total") : "");
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, metric.help, name,
                       counter ? "counter" : "gauge");
    if (metric.kind == Metric::Kind::text) {
      out += fmt::format("{}{{value=\"{}\"}} 1\n", name, label_value(metric.text));
    } else {
      out += fmt::format("{} {}\n", name, metric.number);
    }
  }
}

void append_json(nlohmann::json& out, std::span<const Metric> metrics) {
  for (const Metric& metric : metrics) {
    const std::string name(metric.name);
    switch (metric.kind) {
      case Metric::Kind::counter:
      case Metric::Kind::gauge:
        out[name] = metric.number;
        break;
      case Metric::Kind::flag:
        out[name] = metric.number != 0;
        break;
      case Metric::Kind::text:
        out[name] = metric.text;
        break;
    }
  }
}

std::vector<Metric> peer_transport_metrics(const PeerCounters& counters) {
  core::MetricList list;
  list.counter("peer_messages_sent", "Messages sent to peers.", counters.messages_sent)
      .counter("peer_messages_sent_back",
               "Of them, sent on the connection the peer dialed (one connection per pair, both "
               "ways).",
               counters.messages_sent_back)
      .counter("peer_messages_received", "Messages received from peers.",
               counters.messages_received)
      .counter("peer_messages_dropped",
               "Messages to or from peers dropped (not connected, queue full, or an injected "
               "fault).",
               counters.messages_dropped)
      .counter("peer_handshakes_refused",
               "Peer connections refused (another cluster, an unknown node, a bad hello).",
               counters.handshakes_refused)
      .counter("peer_frames_refused", "Peer frames over the size limit.", counters.frames_refused);
  return list.take();
}

}  // namespace replikv::runtime
