// SyncWorker: the engine's sync on a thread of its own, so the event loop serves while the
// device syncs.
//
// With the sync on the loop, a leader that synced stopped reading: its followers' acknowledgements
// and the next requests waited out the fsync, and the next batch could only start after it. Here
// the loop hands the sync over, goes on writing the batches that arrive meanwhile (they count as
// not covered: the next sync takes them), and is told on the loop when the sync is done. One sync
// is in flight at a time; the group commit is "everything written while the last one ran".
//
// Only for engines whose sync() may run beside the owner's writes (Engine::sync_off_thread()).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <asio/io_context.hpp>

#include "storage/engine.h"

namespace replikv::runtime {

class SyncWorker {
 public:
  using Done = std::function<void(const storage::Status&)>;

  SyncWorker(storage::Engine& engine, asio::io_context& io);
  ~SyncWorker();  // waits for a sync in flight, then ends the thread
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;

  // Starts a sync covering every write made before this call; `done` runs on the io_context's
  // thread when it is finished. Loop thread only; not while busy().
  void start(Done done);
  // A sync was started and its `done` has not run yet. Loop thread only.
  bool busy() const { return busy_; }
  // Blocks until no sync runs on the thread (for the last flush, after the loop stopped: a
  // finished sync's `done` then never runs, and busy() is false afterwards).
  void wait_idle();

 private:
  void run();

  storage::Engine& engine_;
  asio::io_context& io_;
  bool busy_ = false;  // the loop's view

  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;  // under mutex_: start() asked, the thread has not taken it yet
  bool running_ = false;    // under mutex_: the thread is in a sync
  bool stopping_ = false;   // under mutex_
  Done pending_;            // under mutex_
  std::thread thread_;
};

}  // namespace replikv::runtime
