#include "runtime/storage_worker.h"

#include <utility>

#include <asio/post.hpp>

#include "core/assert.h"

namespace replikv::runtime {

StorageWorker::StorageWorker(asio::io_context& io) : io_(io), thread_([this] { run(); }) {}

StorageWorker::~StorageWorker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void StorageWorker::start(Task task, Done done) {
  REPLIKV_ASSERT(!busy_, "one task in flight at a time");
  busy_ = true;
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
    task_ = std::move(task);
    pending_ = std::move(done);
  }
  wake_.notify_all();
}

void StorageWorker::wait_idle() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return !requested_ && !running_; });
  busy_ = false;
}

void StorageWorker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (!requested_) return;  // stopping, nothing asked for
    // Taken before the completion is posted: the loop may ask for the next task from it.
    requested_ = false;
    running_ = true;
    Task task = std::move(task_);
    Done done = std::move(pending_);
    lock.unlock();
    storage::Status status = task();
    asio::post(io_, [this, done = std::move(done), status = std::move(status)] {
      busy_ = false;
      done(status);
    });
    lock.lock();
    running_ = false;
    wake_.notify_all();  // wait_idle
  }
}

}  // namespace replikv::runtime
