// What the core needs from storage: a read-only view and a write batch.
//
// The core never writes storage itself. It reads through `StorageView` and describes its writes
// as a `WriteBatch` inside a `Ready` (core/ready.h); the driver applies the batch atomically with
// the storage engine (storage/), syncing it when the Ready asks. Storage is split into columns —
// column families in RocksDB, separate maps in the memory engine — so that the log, the data and
// the metadata can each be scanned and compacted on their own.
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace replikv::core {

enum class Column : uint8_t {
  log = 0,       // the replication log: key = big-endian index
  data = 1,      // user data: key and value layouts in core/encoding.h
  meta = 2,      // the node's own records: term, vote, log positions, epoch, an install's staging
  expiry = 3,    // index of keys with a time to live: key = big-endian expiry ms + user key
  state = 4,     // what a checkpoint writes besides data and expiry: counters, the applied index,
                 // the per-origin sequence windows, the applied terms (core/encoding.h)
  staging = 5,   // a snapshot being installed, before it replaces data, expiry and state:
                 // key = the record's column byte + its key (core/leader/snapshot.h)
  elements = 6,  // the elements of hashes, sets, sorted sets and lists: key = collection id ‖
                 // kind ‖ … (core/encoding.h)
};
inline constexpr int column_count = 7;
const char* column_name(Column column);

// Read-only access to what the driver has applied so far: every batch of every Ready already
// taken, synced or not. Implementations are used from one thread; a view stays valid while its
// engine is open.
class StorageView {
 public:
  virtual ~StorageView() = default;

  virtual std::optional<std::string> get(Column column, std::string_view key) const = 0;

  // Visits the entries of `column` with key >= `start` in key order until `visit` returns false.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  virtual void scan(Column column, std::string_view start, const Visitor& visit) const = 0;
  // The same walk, giving each value's size instead of the value: what a replica needs at start
  // to know its log's size. An engine that holds the sizes in memory (the segmented log's index)
  // answers without reading a byte; the default reads as scan() does.
  // Visits the entries of `column` with key < `before` (every key when `before` is empty) in
  // descending key order until `visit` returns false: a sorted set read from its top. The
  // default walks forward and replays the walk backwards; an engine that can seek backwards
  // overrides it.
  virtual void scan_reverse(Column column, std::string_view before, const Visitor& visit) const;
  using SizeVisitor = std::function<bool(std::string_view key, size_t value_bytes)>;
  virtual void scan_sizes(Column column, std::string_view start, const SizeVisitor& visit) const {
    scan(column, start,
         [&](std::string_view key, std::string_view value) { return visit(key, value.size()); });
  }

  // A read-only view frozen now: what is applied afterwards is not seen through it, however long
  // it is kept (a snapshot is streamed from one over many loop turns while writes go on). It must
  // not outlive the engine it came from; a snapshot of a snapshot is frozen at the same point.
  virtual std::unique_ptr<StorageView> snapshot() const = 0;
};

// An ordered list of puts, erases and range erases, applied atomically (all or nothing) by the
// engine.
class WriteBatch {
 public:
  struct Operation {
    enum class Kind : uint8_t { put, erase, erase_range, erase_to_end };
    Kind kind;
    Column column;
    std::string key;
    std::string value;  // put: the value; erase_range: the end of the range (excluded)
    // (erase_to_end: every key from `key` on)
  };

  void put(Column column, std::string key, std::string value) {
    bytes_ += key.size() + value.size();
    operations_.push_back({Operation::Kind::put, column, std::move(key), std::move(value)});
  }
  void erase(Column column, std::string key) {
    bytes_ += key.size();
    operations_.push_back({Operation::Kind::erase, column, std::move(key), {}});
  }
  // Erases every key in [begin, end) (RocksDB: one range tombstone, whatever the count).
  void erase_range(Column column, std::string begin, std::string end) {
    bytes_ += begin.size() + end.size();
    operations_.push_back({Operation::Kind::erase_range, column, std::move(begin), std::move(end)});
  }
  // Erases every key >= begin (begin empty: the whole column).
  void erase_to_end(Column column, std::string begin) {
    bytes_ += begin.size();
    operations_.push_back({Operation::Kind::erase_to_end, column, std::move(begin), {}});
  }

  bool empty() const { return operations_.empty(); }
  size_t size() const { return operations_.size(); }
  size_t bytes() const { return bytes_; }
  const std::vector<Operation>& operations() const { return operations_; }
  void clear() {
    operations_.clear();
    bytes_ = 0;
  }
  // Moves every operation of `other` to the end of this batch, leaving `other` empty.
  void append(WriteBatch& other) {
    if (operations_.empty()) {
      swap(other);
      return;
    }
    operations_.insert(operations_.end(), std::make_move_iterator(other.operations_.begin()),
                       std::make_move_iterator(other.operations_.end()));
    bytes_ += other.bytes_;
    other.clear();
  }
  void swap(WriteBatch& other) noexcept {
    operations_.swap(other.operations_);
    std::swap(bytes_, other.bytes_);
  }

 private:
  std::vector<Operation> operations_;
  size_t bytes_ = 0;
};

}  // namespace replikv::core
