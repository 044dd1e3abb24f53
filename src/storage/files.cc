#include "storage/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace replikv::storage {
namespace {

Status errno_status(const std::string& what, const std::string& path) {
  return Status::error(what + " " + path + ": " + std::strerror(errno));
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  Status write_at(uint64_t offset, std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status("cannot write", path_);
      }
      bytes.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return Status::ok();
  }

  Status read_at(uint64_t offset, size_t length, std::string& out) const override {
    out.resize(length);
    size_t done = 0;
    while (done < length) {
      const ssize_t n =
          ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status("cannot read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    return Status::ok();
  }

  Status sync() override {
    // A failed fdatasync leaves the pages' state unknown (the kernel may have dropped them and
    // cleared the error): the caller stops the node rather than retry (engine.h).
    return ::fdatasync(fd_) == 0 ? Status::ok() : errno_status("cannot sync", path_);
  }

  uint64_t size() const override {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  Status allocate(uint64_t bytes) override {
    while (::fallocate(fd_, 0, 0, static_cast<off_t>(bytes)) != 0) {
      if (errno == EINTR) continue;
      // A file system without fallocate (tmpfs before 3.5, some FUSE ones): a sparse file reads
      // the same, and space is found at the writes instead.
      if (errno == EOPNOTSUPP && ::ftruncate(fd_, static_cast<off_t>(bytes)) == 0)
        return Status::ok();
      return errno_status("cannot allocate", path_);
    }
    return Status::ok();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixDirectory final : public Directory {
 public:
  explicit PosixDirectory(std::string path) : path_(std::move(path)) {}

  Status list(std::vector<std::string>& names) const override {
    names.clear();
    DIR* dir = ::opendir(path_.c_str());
    if (dir == nullptr) return errno_status("cannot list", path_);
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::stat(path(name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) names.push_back(name);
    }
    ::closedir(dir);
    return Status::ok();
  }

  std::unique_ptr<File> open(const std::string& name, Status& error) override {
    return open_with(name, O_RDWR | O_CLOEXEC, "cannot open", error);
  }

  std::unique_ptr<File> create(const std::string& name, Status& error) override {
    return open_with(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, "cannot create", error);
  }

  Status rename(const std::string& from, const std::string& to) override {
    return ::rename(path(from).c_str(), path(to).c_str()) == 0
               ? Status::ok()
               : errno_status("cannot rename " + path(from) + " to", path(to));
  }

  Status remove(const std::string& name) override {
    return ::unlink(path(name).c_str()) == 0 ? Status::ok()
                                             : errno_status("cannot remove", path(name));
  }

  Status sync() override {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_status("cannot open directory", path_);
    const int result = ::fsync(fd);
    Status status = result == 0 ? Status::ok() : errno_status("cannot sync directory", path_);
    ::close(fd);
    return status;
  }

  std::string path(const std::string& name) const override { return path_ + "/" + name; }

 private:
  std::unique_ptr<File> open_with(const std::string& name, int flags, const char* what,
                                  Status& error) {
    const std::string full = path(name);
    const int fd = ::open(full.c_str(), flags, 0600);
    if (fd < 0) {
      error = errno_status(what, full);
      return nullptr;
    }
    error = Status::ok();
    return std::make_unique<PosixFile>(fd, full);
  }

  std::string path_;
};

}  // namespace

std::unique_ptr<Directory> open_posix_directory(const std::string& path, Status& error) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(path, ec);
  if (ec) {
    error = Status::error("cannot create directory " + path + ": " + ec.message());
    return nullptr;
  }
  if (created) {
    // The new directory's own name is durable once its parent is synced.
    const std::string parent = std::filesystem::absolute(path).parent_path().string();
    error = PosixDirectory(parent).sync();
    if (!error.is_ok()) return nullptr;
  }
  error = Status::ok();
  return std::make_unique<PosixDirectory>(path);
}

}  // namespace replikv::storage
