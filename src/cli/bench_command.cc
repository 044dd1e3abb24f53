// `replikv bench`: a closed-loop load client — N connections, each sending one request and
// waiting for its answer before the next — that drives replikv and its peers with the same work:
// RESP (replikv, Redis) or etcd's v3 JSON gateway over HTTP/1.1 keep-alive. It reports ops/s and
// latency percentiles measured here, at the client, for every system alike.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/resp_client.h"

namespace replikv::cli {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string base64(const std::string& in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

// One HTTP/1.1 keep-alive connection to etcd's gateway: POST a JSON body, read the answer.
class HttpConnection {
 public:
  ~HttpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  // The status code, or 0 when the exchange failed.
  int post(const std::string& path, const std::string& body) {
    const std::string request = fmt::format(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
        "{}\r\n\r\n{}",
        path, body.size(), body);
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
      return 0;
    char chunk[8192];
    while (true) {
      const size_t header_end = buffer_.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const int status = std::atoi(buffer_.c_str() + buffer_.find(' ') + 1);
        const size_t length_at = lower_find(buffer_, "content-length:", header_end);
        if (length_at != std::string::npos) {
          const size_t length = std::strtoul(buffer_.c_str() + length_at + 15, nullptr, 10);
          if (buffer_.size() >= header_end + 4 + length) {
            buffer_.erase(0, header_end + 4 + length);
            return status;
          }
        } else {
          const size_t last =
              buffer_.find("\r\n0\r\n\r\n", header_end);  // chunked: up to the last chunk
          if (last != std::string::npos) {
            buffer_.erase(0, last + 7);
            return status;
          }
        }
      }
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  static size_t lower_find(const std::string& text, const char* needle, size_t end) {
    std::string lowered = text.substr(0, end);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return lowered.find(needle);
  }
  int fd_ = -1;
  std::string buffer_;
};

struct ThreadResult {
  std::vector<int64_t> latencies_ns;
  int64_t errors = 0;
  int64_t short_waits = 0;  // WAIT answered fewer replicas than asked
};

void run_client(const BenchOptions& o, int index, int64_t measure_from, int64_t stop_at,
                ThreadResult& result, std::string& error) {
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 1);
  std::uniform_int_distribution<int> key_of(0, o.keys - 1);
  const std::string value(static_cast<size_t>(o.value_size), 'x');
  RespClient resp;
  HttpConnection http;
  if (o.protocol == "etcd" ? !http.connect(o.port) : !resp.connect(o.port, 2000)) {
    error = fmt::format("cannot connect to 127.0.0.1:{}", o.port);
    return;
  }
  while (true) {
    const int64_t start = now_ns();
    if (start >= stop_at) break;
    const std::string key = fmt::format("key:{:012}", key_of(rng));
    bool ok = true;
    if (o.protocol == "etcd") {
      ok = http.post("/v3/kv/put", fmt::format(R"({{"key":"{}","value":"{}"}})", base64(key),
                                               base64(value))) == 200;
    } else if (o.op == "get") {
      const auto reply = resp.call({"GET", key}, 10'000);
      ok = reply && !reply->is_error();
    } else {
      const auto reply = resp.call({"SET", key, value}, 10'000);
      ok = reply && !reply->is_error();
      if (ok && o.op == "set-wait") {
        const auto waited =
            resp.call({"WAIT", std::to_string(o.wait_replicas), std::to_string(o.wait_timeout_ms)},
                      o.wait_timeout_ms + 10'000);
        ok = waited && waited->kind == RespValue::Kind::integer;
        if (ok && waited->integer < o.wait_replicas) ++result.short_waits;
      }
    }
    const int64_t end = now_ns();
    if (!ok) {
      ++result.errors;
      if (o.protocol != "etcd" && !resp.connected() && !resp.connect(o.port, 2000)) break;
      continue;
    }
    if (start >= measure_from) result.latencies_ns.push_back(end - start);
  }
}

}  // namespace

int run_bench(const BenchOptions& o) {
  if (o.protocol != "resp" && o.protocol != "etcd") {
    std::cerr << "replikv bench: --protocol is resp or etcd\n";
    return 2;
  }
  if (o.protocol == "resp" && o.op != "set" && o.op != "get" && o.op != "set-wait") {
    std::cerr << "replikv bench: --op is set, get or set-wait (SET then WAIT)\n";
    return 2;
  }
  if (o.protocol == "etcd" && o.op != "set") {
    std::cerr << "replikv bench: against etcd --op is set (a put through the JSON gateway)\n";
    return 2;
  }
  const int64_t start = now_ns();
  const int64_t measure_from = start + o.warmup_ms * 1'000'000;
  const int64_t stop_at = measure_from + o.duration_ms * 1'000'000;
  std::vector<ThreadResult> results(static_cast<size_t>(o.clients));
  std::vector<std::string> errors(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back(
        [&, i] { run_client(o, i, measure_from, stop_at, results[i], errors[i]); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (!error.empty()) {
      std::cerr << "replikv bench: " << error << "\n";
      return 1;
    }
  }
  std::vector<int64_t> all;
  int64_t failed = 0, short_waits = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    failed += r.errors;
    short_waits += r.short_waits;
  }
  std::sort(all.begin(), all.end());
  const auto at = [&](double q) {
    return all.empty()
               ? 0.0
               : static_cast<double>(all[std::min(
                     all.size() - 1, static_cast<size_t>(q * static_cast<double>(all.size())))]) /
                     1e6;
  };
  const double seconds = static_cast<double>(o.duration_ms) / 1000;
  nlohmann::json out = {{"protocol", o.protocol},
                        {"op", o.op},
                        {"clients", o.clients},
                        {"ops", all.size()},
                        {"ops_per_s", static_cast<double>(all.size()) / seconds},
                        {"p50_ms", at(0.5)},
                        {"p99_ms", at(0.99)},
                        {"max_ms", all.empty() ? 0.0 : static_cast<double>(all.back()) / 1e6},
                        {"errors", failed},
                        {"short_waits", short_waits}};
  if (o.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << fmt::format(
        "{} {} x{}: {:.0f} ops/s, p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms, {} errors{}\n",
        o.protocol, o.op, o.clients, out["ops_per_s"].get<double>(), at(0.5), at(0.99),
        out["max_ms"].get<double>(), failed,
        o.op == "set-wait" ? fmt::format(", {} WAITs short of {}", short_waits, o.wait_replicas)
                           : "");
  }
  return failed > 0 && all.empty() ? 1 : 0;
}

}  // namespace replikv::cli
