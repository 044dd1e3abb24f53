// MemoryDirectory: files in memory, with the power loss of a real disk.
//
// What it models, and why (files.h has the contract it keeps):
// - A write is visible at once. Until its file's sync() it lives in "pages" (4 KiB) that a power
//   loss treats one by one, in no order: each is lost (the old bytes stay), written, or torn —
//   some of its 512-byte sectors written, the rest old. So a batch written and not synced may
//   come back with its end on the disk and its beginning not (etcd#5230, #11488).
// - Names created, renamed or removed are journaled in order: a power loss keeps a prefix of
//   the changes since the directory's last sync() (a file system that reorders them is outside
//   what the log is built for: ext4, xfs and btrfs commit them in order).
// - flip() changes one byte as a failing disk or a stray write would, synced or not.
//
// A File stays valid across crash(): it then reads what survived. Thread-safe: one lock for the
// directory and its files.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "storage/files.h"

namespace replikv::storage {

class MemoryDirectory final : public Directory {
 public:
  static constexpr uint64_t page_bytes = 4096;
  static constexpr uint64_t sector_bytes = 512;

  MemoryDirectory();
  ~MemoryDirectory() override;

  Status list(std::vector<std::string>& names) const override;
  std::unique_ptr<File> open(const std::string& name, Status& error) override;
  std::unique_ptr<File> create(const std::string& name, Status& error) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& name) override;
  Status sync() override;
  std::string path(const std::string& name) const override { return "memory:" + name; }

  struct CrashReport {
    uint64_t pages_lost = 0;
    uint64_t pages_written = 0;
    uint64_t pages_torn = 0;
    uint64_t name_changes_lost = 0;
  };
  // A power loss: what was not synced survives page by page, as above, chosen by `rng`.
  CrashReport crash(std::mt19937_64& rng);
  // A power loss that keeps every write (a kill -9: the page cache survives).
  void crash_keeping_everything();
  // Flips the bits of one byte of `name` at `offset` (inside the file).
  void flip(const std::string& name, uint64_t offset);
  // The bytes of `name` as they are now (empty if there is no such file).
  std::string contents(const std::string& name) const;
  // Makes every later sync() of files and of the directory fail (a disk gone bad).
  void fail_syncs();
  // Makes the next sync() of a file fail, and only that one (a transient write error).
  void fail_next_sync();
  // Another Directory on the same disk (a process started again over it).
  std::unique_ptr<MemoryDirectory> another_handle() const;

 private:
  struct State;
  class MemoryFile;
  std::shared_ptr<State> state_;
};

}  // namespace replikv::storage
