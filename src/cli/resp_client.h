// A blocking RESP2 client for loopback: what `replikv chaos`, `replikv demo` and the cluster
// launcher use to talk to nodes. One connection, one request at a time, every wait bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace replikv::cli {

struct RespValue {
  enum class Kind : uint8_t { status, error, integer, bulk, nil, array };
  Kind kind = Kind::nil;
  std::string text;  // status, error (without the leading byte) and bulk contents
  int64_t integer = 0;
  std::vector<RespValue> items;

  bool is_error() const { return kind == Kind::error; }
  // The reply as one line, RESP-style: "+OK", "-ERR …", ":3", the bulk's text, "(nil)", "[…]".
  std::string to_string() const;
};

class RespClient {
 public:
  RespClient() = default;
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;
  RespClient(RespClient&& other) noexcept;
  RespClient& operator=(RespClient&& other) noexcept;
  ~RespClient();

  // Connects to 127.0.0.1:port within timeout_ms. False when it cannot.
  bool connect(int port, int timeout_ms);
  bool connected() const { return fd_ >= 0; }
  int port() const { return port_; }
  void close();
  // Sends one command and waits up to timeout_ms for the whole reply. nullopt when the
  // connection fails or the time runs out; the connection is closed then (a late reply must not
  // be taken for the next request's).
  std::optional<RespValue> call(const std::vector<std::string>& args, int timeout_ms);

 private:
  // Parses one reply from buffer_ at `pos`; nullopt when more bytes are needed.
  std::optional<RespValue> parse(size_t& pos, bool& malformed) const;

  int fd_ = -1;
  int port_ = 0;
  std::string buffer_;
};

}  // namespace replikv::cli
