// The storage threads (runtime/storage_worker.h), as the sync uses them: completions on the loop,
// one task at a time, a task asked for from the previous one's completion never lost, and the wait
// before the last flush.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>

#include <asio/executor_work_guard.hpp>

#include "runtime/storage_worker.h"

namespace replikv::runtime {
namespace {

// Holds nothing; counts its syncs.
class CountingEngine final : public storage::Engine {
 public:
  std::optional<std::string> get(core::Column, std::string_view) const override {
    return std::nullopt;
  }
  void scan(core::Column, std::string_view, const Visitor&) const override {}
  std::unique_ptr<core::StorageView> snapshot() const override { return nullptr; }
  storage::Status write(const core::WriteBatch&) override { return storage::Status::ok(); }
  storage::EngineStats stats() const override { return {}; }
  std::string name() const override { return "counting"; }
  storage::Status sync() override {
    syncs.fetch_add(1);
    return storage::Status::ok();
  }
  bool sync_off_thread() const override { return true; }
  std::atomic<int> syncs{0};
};

TEST(StorageWorker, RunsTheCompletionOnTheLoopAndIsBusyUntilThen) {
  asio::io_context io;
  CountingEngine engine;
  StorageWorker worker(io);
  auto sync = [&engine] { return engine.sync(); };
  bool done = false;
  worker.start(sync, [&](const storage::Status& status) {
    EXPECT_TRUE(status.is_ok());
    EXPECT_FALSE(worker.busy());
    done = true;
    io.stop();
  });
  EXPECT_TRUE(worker.busy());
  EXPECT_FALSE(done);                     // not before the loop runs it
  auto work = asio::make_work_guard(io);  // the completion is posted from the thread
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(done);
  EXPECT_EQ(engine.syncs.load(), 1);
}

// Each sync asked for from the completion of the one before: the way the server chains its
// group commits. None may be lost between the thread posting a completion and taking the next.
TEST(StorageWorker, ASyncAskedForFromACompletionAlwaysRuns) {
  asio::io_context io;
  CountingEngine engine;
  StorageWorker worker(io);
  auto sync = [&engine] { return engine.sync(); };
  constexpr int chain = 2000;
  int completed = 0;
  std::function<void(const storage::Status&)> next = [&](const storage::Status&) {
    if (++completed < chain) {
      worker.start(sync, next);
    } else {
      io.stop();
    }
  };
  worker.start(sync, next);
  auto work = asio::make_work_guard(io);
  // Bounded: a lost request leaves the loop waiting until then.
  io.run_for(std::chrono::seconds(20));
  EXPECT_EQ(completed, chain);
  EXPECT_EQ(engine.syncs.load(), chain);
}

TEST(StorageWorker, WaitIdleReturnsOnceTheRunningSyncIsDone) {
  asio::io_context io;
  CountingEngine engine;
  StorageWorker worker(io);
  auto sync = [&engine] { return engine.sync(); };
  worker.start(sync, [](const storage::Status&) {});
  worker.wait_idle();  // without running the loop: the completion stays queued
  EXPECT_EQ(engine.syncs.load(), 1);
  EXPECT_FALSE(worker.busy());
}

}  // namespace
}  // namespace replikv::runtime
