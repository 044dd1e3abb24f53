// Files: the few file-system operations the segmented log needs, behind an interface.
//
// Two implementations: the real one (POSIX: pwrite, pread, fdatasync, rename, a directory's
// fsync) and an in-memory one (storage/memory_files.h) that remembers what has not been synced
// and, at a simulated power loss, keeps any of it, none of it, or part of a page — so the log's
// recovery is tested against the disks that etcd#5230 and LazyFS showed exist, not the disk one
// hopes for.
//
// Contract (as POSIX gives it, and no more)
// - write_at() is visible to read_at() at once; after a power loss it may be gone, whole, or
//   torn, page by page, in any order, until sync() returned.
// - sync() makes the file's contents durable (fdatasync: the data, and the size only if it
//   changed; the segmented log writes only inside files already as long as they will be, so no
//   metadata needs writing).
// - A name created, renamed or removed is durable only once the directory's sync() returned.
// - Every failure is a Status with the path and the system's reason; no exception leaves.
//
// Thread-safety: one file may be written by one thread while another syncs it (fdatasync covers
// what was written before the call). A Directory's methods may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/engine.h"

namespace replikv::storage {

class File {
 public:
  virtual ~File() = default;
  virtual Status write_at(uint64_t offset, std::string_view bytes) = 0;
  // Reads `length` bytes at `offset` into `out` (resized); fewer only at the end of the file.
  virtual Status read_at(uint64_t offset, size_t length, std::string& out) const = 0;
  virtual Status sync() = 0;
  virtual uint64_t size() const = 0;
  // Makes the file `bytes` long, reserving its blocks on the device without writing them
  // (fallocate): the new bytes read as zeros, and running out of space shows here rather than at
  // a later write. Unlike zeros written, the blocks stay "unwritten" until data lands in them, so
  // the sync after such a write also commits the file system's journal.
  virtual Status allocate(uint64_t bytes) = 0;
};

class Directory {
 public:
  virtual ~Directory() = default;
  // The names of the regular files in the directory, in no particular order.
  virtual Status list(std::vector<std::string>& names) const = 0;
  // Opens an existing file for reading and writing.
  virtual std::unique_ptr<File> open(const std::string& name, Status& error) = 0;
  // Creates a new, empty file (an error if it exists).
  virtual std::unique_ptr<File> create(const std::string& name, Status& error) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& name) = 0;
  // Makes the names created, renamed and removed so far durable.
  virtual Status sync() = 0;
  // For messages: where a file lives.
  virtual std::string path(const std::string& name) const = 0;
};

// The real file system: `path` is created when missing.
std::unique_ptr<Directory> open_posix_directory(const std::string& path, Status& error);

}  // namespace replikv::storage
