// Server: one replikv node process — the driver of a core::Replica on a real event loop.
//
// It owns the storage engine, the replica, the client (RESP) and admin (HTTP) listeners, and the
// loop that feeds the replica its inputs and carries out its Readies (core/ready.h). One thread
// runs everything; there are no locks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "runtime/config.h"

namespace replikv::runtime {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens storage and binds the ports. Returns the error text on failure.
  std::optional<std::string> start();
  // Runs the loop until SIGINT or SIGTERM, then shuts down cleanly: pending writes are synced,
  // connections closed, storage closed. Returns the process exit code.
  int run();

  // The ports actually bound (useful with port 0). Valid after start().
  uint16_t port() const;
  uint16_t admin_port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace replikv::runtime
