#include "storage/memory_files.h"

#include <algorithm>

#include "core/assert.h"

namespace replikv::storage {

// One file's bytes, and what a power loss would put back: for each page written since the last
// sync, its bytes as synced (a page past the synced size was zeros, and absent).
struct FileNode {
  std::string bytes;
  uint64_t synced_size = 0;
  std::map<uint64_t, std::string> synced_pages;  // page number -> its bytes when last synced
};

struct MemoryDirectory::State {
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<FileNode>> names;
  // The changes to `names` since the directory's last sync, in order, and the names before them.
  std::map<std::string, std::shared_ptr<FileNode>> synced_names;
  struct NameChange {
    enum class Kind { create, rename, remove } kind;
    std::string name;
    std::string to;
    std::shared_ptr<FileNode> node;
  };
  std::vector<NameChange> changes;
  bool fail_syncs = false;
  int syncs_to_fail = 0;  // the next file syncs that fail, once each
};

class MemoryDirectory::MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<State> state, std::shared_ptr<FileNode> node, std::string name)
      : state_(std::move(state)), node_(std::move(node)), name_(std::move(name)) {}

  Status write_at(uint64_t offset, std::string_view bytes) override {
    std::lock_guard lock(state_->mutex);
    FileNode& node = *node_;
    const uint64_t end = offset + bytes.size();
    for (uint64_t page = offset / page_bytes; page * page_bytes < end; ++page) {
      if (node.synced_pages.contains(page)) continue;
      const uint64_t begin = page * page_bytes;
      std::string old;
      if (begin < node.bytes.size() && begin < node.synced_size) {
        old = node.bytes.substr(begin, std::min(page_bytes, node.synced_size - begin));
      }
      node.synced_pages.emplace(page, std::move(old));
    }
    if (node.bytes.size() < end) node.bytes.resize(end, '\0');
    node.bytes.replace(offset, bytes.size(), bytes);
    return Status::ok();
  }

  Status read_at(uint64_t offset, size_t length, std::string& out) const override {
    std::lock_guard lock(state_->mutex);
    out.clear();
    if (offset < node_->bytes.size()) out = node_->bytes.substr(offset, length);
    return Status::ok();
  }

  Status sync() override {
    std::lock_guard lock(state_->mutex);
    if (state_->fail_syncs) return Status::error("cannot sync " + name_ + ": injected failure");
    if (state_->syncs_to_fail > 0) {
      --state_->syncs_to_fail;
      return Status::error("cannot sync " + name_ + ": injected failure (once)");
    }
    node_->synced_pages.clear();
    node_->synced_size = node_->bytes.size();
    return Status::ok();
  }

  uint64_t size() const override {
    std::lock_guard lock(state_->mutex);
    return node_->bytes.size();
  }

  // Zeros past the end, unsynced: a crash before the sync takes the size back (as for a write).
  Status allocate(uint64_t bytes) override {
    std::lock_guard lock(state_->mutex);
    if (node_->bytes.size() < bytes) node_->bytes.resize(bytes, '\0');
    return Status::ok();
  }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<FileNode> node_;
  std::string name_;
};

MemoryDirectory::MemoryDirectory() : state_(std::make_shared<State>()) {}
MemoryDirectory::~MemoryDirectory() = default;

Status MemoryDirectory::list(std::vector<std::string>& names) const {
  std::lock_guard lock(state_->mutex);
  names.clear();
  for (const auto& [name, node] : state_->names) names.push_back(name);
  return Status::ok();
}

std::unique_ptr<File> MemoryDirectory::open(const std::string& name, Status& error) {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->names.find(name);
  if (it == state_->names.end()) {
    error = Status::error("cannot open " + path(name) + ": no such file");
    return nullptr;
  }
  error = Status::ok();
  return std::make_unique<MemoryFile>(state_, it->second, name);
}

std::unique_ptr<File> MemoryDirectory::create(const std::string& name, Status& error) {
  std::lock_guard lock(state_->mutex);
  if (state_->names.contains(name)) {
    error = Status::error("cannot create " + path(name) + ": it exists");
    return nullptr;
  }
  auto node = std::make_shared<FileNode>();
  state_->names.emplace(name, node);
  state_->changes.push_back({State::NameChange::Kind::create, name, {}, node});
  error = Status::ok();
  return std::make_unique<MemoryFile>(state_, node, name);
}

Status MemoryDirectory::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->names.find(from);
  if (it == state_->names.end())
    return Status::error("cannot rename " + path(from) + ": no such file");
  auto node = it->second;
  state_->names.erase(it);
  state_->names[to] = node;
  state_->changes.push_back({State::NameChange::Kind::rename, from, to, node});
  return Status::ok();
}

Status MemoryDirectory::remove(const std::string& name) {
  std::lock_guard lock(state_->mutex);
  if (state_->names.erase(name) == 0)
    return Status::error("cannot remove " + path(name) + ": no such file");
  state_->changes.push_back({State::NameChange::Kind::remove, name, {}, nullptr});
  return Status::ok();
}

Status MemoryDirectory::sync() {
  std::lock_guard lock(state_->mutex);
  if (state_->fail_syncs) return Status::error("cannot sync the directory: injected failure");
  state_->synced_names = state_->names;
  state_->changes.clear();
  return Status::ok();
}

MemoryDirectory::CrashReport MemoryDirectory::crash(std::mt19937_64& rng) {
  std::lock_guard lock(state_->mutex);
  CrashReport report;
  // Names: a prefix of the changes since the last directory sync, replayed over the synced names.
  const size_t kept = std::uniform_int_distribution<size_t>(0, state_->changes.size())(rng);
  report.name_changes_lost = state_->changes.size() - kept;
  auto names = state_->synced_names;
  for (size_t i = 0; i < kept; ++i) {
    const auto& change = state_->changes[i];
    switch (change.kind) {
      case State::NameChange::Kind::create:
        names[change.name] = change.node;
        break;
      case State::NameChange::Kind::rename:
        names.erase(change.name);
        names[change.to] = change.node;
        break;
      case State::NameChange::Kind::remove:
        names.erase(change.name);
        break;
    }
  }
  state_->names = names;
  state_->synced_names = std::move(names);
  state_->changes.clear();
  // Contents: every page written since its file's sync is lost, written or torn, independently.
  std::uniform_int_distribution<int> fate(0, 2);
  std::bernoulli_distribution coin(0.5);
  for (const auto& [name, node] : state_->names) {
    uint64_t size = node->synced_size;
    for (const auto& [page, old] : node->synced_pages) {
      const uint64_t begin = page * page_bytes;
      const uint64_t end = std::min(begin + page_bytes, static_cast<uint64_t>(node->bytes.size()));
      int chosen = fate(rng);
      for (uint64_t sector = begin; sector < end; sector += sector_bytes) {
        const bool keep_new = chosen == 1 || (chosen == 2 && coin(rng));
        if (keep_new) {
          size = std::max(size, std::min(sector + sector_bytes, end));
          continue;
        }
        for (uint64_t at = sector; at < std::min(sector + sector_bytes, end); ++at) {
          const uint64_t in_page = at - begin;
          node->bytes[at] = in_page < old.size() ? old[in_page] : '\0';
        }
      }
      if (chosen == 0) ++report.pages_lost;
      if (chosen == 1) ++report.pages_written;
      if (chosen == 2) ++report.pages_torn;
    }
    node->bytes.resize(std::min<uint64_t>(std::max(size, node->synced_size), node->bytes.size()));
    node->synced_pages.clear();
    node->synced_size = node->bytes.size();
  }
  return report;
}

void MemoryDirectory::crash_keeping_everything() {
  std::lock_guard lock(state_->mutex);
  state_->synced_names = state_->names;
  state_->changes.clear();
  for (const auto& [name, node] : state_->names) {
    node->synced_pages.clear();
    node->synced_size = node->bytes.size();
  }
}

void MemoryDirectory::fail_syncs() {
  std::lock_guard lock(state_->mutex);
  state_->fail_syncs = true;
}

void MemoryDirectory::fail_next_sync() {
  std::lock_guard lock(state_->mutex);
  ++state_->syncs_to_fail;
}

std::unique_ptr<MemoryDirectory> MemoryDirectory::another_handle() const {
  auto handle = std::make_unique<MemoryDirectory>();
  handle->state_ = state_;
  return handle;
}

void MemoryDirectory::flip(const std::string& name, uint64_t offset) {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->names.find(name);
  REPLIKV_ASSERT(it != state_->names.end() && offset < it->second->bytes.size(),
                 "flip: no such byte");
  it->second->bytes[offset] = static_cast<char>(~it->second->bytes[offset]);
}

std::string MemoryDirectory::contents(const std::string& name) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->names.find(name);
  return it == state_->names.end() ? std::string() : it->second->bytes;
}

}  // namespace replikv::storage
