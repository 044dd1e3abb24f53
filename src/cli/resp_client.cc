#include "cli/resp_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <utility>

#include <fmt/format.h>

namespace replikv::cli {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms - now_ms();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string RespValue::to_string() const {
  switch (kind) {
    case Kind::status:
      return "+" + text;
    case Kind::error:
      return "-" + text;
    case Kind::integer:
      return fmt::format(":{}", integer);
    case Kind::bulk:
      return text;
    case Kind::nil:
      return "(nil)";
    case Kind::array: {
      std::string out = "[";
      for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].to_string();
      return out + "]";
    }
  }
  return {};
}

RespClient::RespClient(RespClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_), buffer_(std::move(other.buffer_)) {}

RespClient& RespClient::operator=(RespClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

RespClient::~RespClient() { close(); }

void RespClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool RespClient::connect(int port, int timeout_ms) {
  close();
  port_ = port;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    if (error == EINPROGRESS && wait_for(fd, POLLOUT, now_ms() + timeout_ms)) {
      socklen_t length = sizeof error;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    } else if (error == EINPROGRESS) {
      error = ETIMEDOUT;
    }
    if (error != 0) {
      ::close(fd);
      return false;
    }
  }
  fd_ = fd;
  return true;
}

std::optional<RespValue> RespClient::parse(size_t& pos, bool& malformed) const {
  const size_t line_end = buffer_.find("\r\n", pos);
  if (line_end == std::string::npos) return std::nullopt;
  const char type = buffer_[pos];
  const std::string_view line(buffer_.data() + pos + 1, line_end - pos - 1);
  int64_t number = 0;
  const bool numeric =
      std::from_chars(line.data(), line.data() + line.size(), number).ec == std::errc();
  RespValue value;
  switch (type) {
    case '+':
    case '-':
      value.kind = type == '+' ? RespValue::Kind::status : RespValue::Kind::error;
      value.text = std::string(line);
      pos = line_end + 2;
      return value;
    case ':':
      if (!numeric) break;
      value.kind = RespValue::Kind::integer;
      value.integer = number;
      pos = line_end + 2;
      return value;
    case '$': {
      if (!numeric) break;
      if (number < 0) {
        pos = line_end + 2;
        return value;  // nil
      }
      const size_t start = line_end + 2;
      if (buffer_.size() < start + static_cast<size_t>(number) + 2) return std::nullopt;
      value.kind = RespValue::Kind::bulk;
      value.text = buffer_.substr(start, static_cast<size_t>(number));
      pos = start + static_cast<size_t>(number) + 2;
      return value;
    }
    case '*': {
      if (!numeric) break;
      size_t at = line_end + 2;
      if (number < 0) {
        pos = at;
        return value;  // nil array
      }
      value.kind = RespValue::Kind::array;
      for (int64_t i = 0; i < number; ++i) {
        auto item = parse(at, malformed);
        if (!item) return std::nullopt;
        value.items.push_back(std::move(*item));
      }
      pos = at;
      return value;
    }
    default:
      break;
  }
  malformed = true;
  return std::nullopt;
}

std::optional<RespValue> RespClient::call(const std::vector<std::string>& args, int timeout_ms) {
  if (fd_ < 0) return std::nullopt;
  const int64_t deadline = now_ms() + timeout_ms;
  std::string request = fmt::format("*{}\r\n", args.size());
  for (const auto& arg : args)
    fmt::format_to(std::back_inserter(request), "${}\r\n{}\r\n", arg.size(), arg);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd_, POLLOUT, deadline)) break;
    } else {
      break;
    }
  }
  if (sent < request.size()) {
    close();
    return std::nullopt;
  }
  char chunk[16384];
  while (true) {
    if (!buffer_.empty()) {
      size_t pos = 0;
      bool malformed = false;
      auto reply = parse(pos, malformed);
      if (reply) {
        buffer_.erase(0, pos);
        return reply;
      }
      if (malformed) break;
    }
    if (!wait_for(fd_, POLLIN, deadline)) break;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    } else {
      break;
    }
  }
  close();
  return std::nullopt;
}

}  // namespace replikv::cli
