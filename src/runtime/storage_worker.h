// StorageWorker: one storage task at a time on a thread of its own, so the event loop serves while
// the device works. The runtime has two: the sync (group commit) and the checkpoint writer.
//
// Sync: with the sync on the loop, a leader that synced stopped reading: its followers'
// acknowledgements and the next requests waited out the fsync, and the next batch could only
// start after it. The loop hands the sync over, goes on writing the batches that arrive
// meanwhile (they count as not covered: the next sync takes them), and is told on the loop when
// the sync is done. The group commit is "everything written while the last one ran".
//
// Checkpoint: a replica's checkpoint (core/ready.h, step 6) built into files and handed to the
// engine whole, while the loop goes on (Engine::write_checkpoint).
//
// Only for engines that allow the task beside the owner's writes (Engine::sync_off_thread(),
// Engine::checkpoint_off_thread()).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <asio/io_context.hpp>

#include "storage/engine.h"

namespace replikv::runtime {

class StorageWorker {
 public:
  using Task = std::function<storage::Status()>;
  using Done = std::function<void(const storage::Status&)>;

  explicit StorageWorker(asio::io_context& io);
  ~StorageWorker();  // waits for a task in flight, then ends the thread
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  // Runs `task` on the thread; `done` runs on the io_context's thread with its status when it is
  // finished. Loop thread only; not while busy().
  void start(Task task, Done done);
  // A task was started and its `done` has not run yet. Loop thread only.
  bool busy() const { return busy_; }
  // Blocks until no task runs on the thread (for the last flush, after the loop stopped: a
  // finished task's `done` then never runs, and busy() is false afterwards).
  void wait_idle();

 private:
  void run();

  asio::io_context& io_;
  bool busy_ = false;  // the loop's view

  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;  // under mutex_: start() asked, the thread has not taken it yet
  bool running_ = false;    // under mutex_: the thread is in a task
  bool stopping_ = false;   // under mutex_
  Task task_;               // under mutex_
  Done pending_;            // under mutex_
  std::thread thread_;
};

}  // namespace replikv::runtime
