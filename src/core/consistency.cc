#include "core/consistency.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/command.h"

namespace replikv::core {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Unsigned decimal digits only, fitting uint64.
std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

constexpr TimeMs bound_ms_max = 86'400'000;  // a day

}  // namespace

std::optional<ReadOptions> parse_read_options(std::string_view text) {
  const std::string level = lower(text);
  if (level == "linearizable") return ReadOptions{ReadConsistency::linearizable, 0};
  if (level == "leader") return ReadOptions{ReadConsistency::leader, 0};
  if (level == "session") return ReadOptions{ReadConsistency::session, 0};
  if (level == "eventual") return ReadOptions{ReadConsistency::eventual, 0};
  if (level.starts_with("bounded:")) {
    const auto ms = parse_int64(std::string_view(level).substr(8));
    if (!ms || *ms < 1 || *ms > bound_ms_max) return std::nullopt;
    return ReadOptions{ReadConsistency::bounded, *ms};
  }
  if (const auto replicas = parse_replica_count(level)) {
    return ReadOptions{ReadConsistency::replicas, 0, *replicas};
  }
  return std::nullopt;
}

std::optional<uint32_t> parse_replica_count(std::string_view text) {
  const std::string level = lower(text);
  if (level == "one") return 1;
  if (level == "quorum") return replicas_majority;
  if (level == "all") return replicas_all;
  const auto number = parse_u64(level);
  if (!number || *number < 1 || *number > replicas_number_max) return std::nullopt;
  return static_cast<uint32_t>(*number);
}

std::string replica_count_text(uint32_t count) {
  if (count == replicas_majority) return "quorum";
  if (count == replicas_all) return "all";
  if (count == 1) return "one";
  return std::to_string(count);
}

std::string to_string(const ReadOptions& options) {
  switch (options.consistency) {
    case ReadConsistency::cluster_default:
      return "default";
    case ReadConsistency::linearizable:
      return "linearizable";
    case ReadConsistency::leader:
      return "leader";
    case ReadConsistency::session:
      return "session";
    case ReadConsistency::bounded:
      return fmt::format("bounded:{}", options.bound_ms);
    case ReadConsistency::eventual:
      return "eventual";
    case ReadConsistency::replicas:
      return replica_count_text(options.replicas);
  }
  return "default";
}

std::optional<SessionToken> parse_session_token(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto term = parse_u64(text.substr(0, colon));
  const auto index = parse_u64(text.substr(colon + 1));
  if (!term || !index) return std::nullopt;
  return SessionToken{Term(*term), LogIndex(*index)};
}

std::string to_string(const SessionToken& token) {
  return fmt::format("{}:{}", token.term.value(), token.index.value());
}

namespace {

std::optional<uint64_t> read_varint(std::string_view& in) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

}  // namespace

SessionPosition position_of(const SessionToken& token) {
  // Two varints of at most 10 bytes each, built in place and copied once (one per reply).
  char buffer[20];
  size_t size = 0;
  for (uint64_t value : {token.term.value(), token.index.value()}) {
    while (value >= 0x80) {
      buffer[size++] = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    buffer[size++] = static_cast<char>(value);
  }
  SessionPosition position;
  position.bytes.assign(buffer, size);
  return position;
}

std::optional<SessionToken> token_of(const SessionPosition& position) {
  std::string_view in(position.bytes);
  const auto term = read_varint(in);
  const auto index = term ? read_varint(in) : std::nullopt;
  if (!index || !in.empty()) return std::nullopt;
  return SessionToken{Term(*term), LogIndex(*index)};
}

}  // namespace replikv::core
