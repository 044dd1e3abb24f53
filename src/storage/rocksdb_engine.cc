#include "storage/rocksdb_engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "core/assert.h"
#include "core/encoding.h"

namespace replikv::storage {

struct RocksDbEngine::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> columns;  // indexed by core::Column
  std::shared_ptr<rocksdb::Statistics> statistics;
  rocksdb::WriteOptions write_options;
  rocksdb::ReadOptions read_options;
  // Reused by every write of the owner's thread, so its buffer keeps its capacity: built anew, a
  // batch of a few thousand entries (one APPEND) grew by doubling, and the reallocations and
  // copies were a tenth of a follower's time under pipelined SETs (docs/benchmarks.md).
  rocksdb::WriteBatch scratch;
  std::vector<uint32_t> order;  // reused: the order in which write() adds a batch's operations
  EngineStats stats;            // written by the owner's thread only
  std::atomic<uint64_t> syncs_total{0};  // sync() may run on the sync thread
  // write_checkpoint(), on the checkpoint thread: the options its files are built with (each
  // column's, so they carry the same filters as the column's own files), where they are built.
  std::array<rocksdb::Options, core::column_count> file_options;
  std::string checkpoint_dir;
  std::atomic<uint64_t> checkpoints_total{0};
  std::atomic<uint64_t> checkpoint_bytes_total{0};

  ~Impl() {
    for (auto* handle : columns) {
      if (handle != nullptr) db->DestroyColumnFamilyHandle(handle);
    }
    if (db) db->Close();
  }
};

namespace {

const char* const kColumnNames[core::column_count] = {"log",   "data",    "meta",    "expiry",
                                                      "state", "staging", "elements"};

// The data column's memtables (see open()): 4 MiB each, eight merged into each flush, writes
// stalled only if twelve are full at once (48 MiB; RocksDB's default for a column is 2 x 64 MiB).
constexpr size_t data_memtable_bytes = 4 << 20;
constexpr int data_memtables_merged_per_flush = 8;
constexpr int data_memtables_max = 12;

rocksdb::Slice slice(std::string_view view) { return {view.data(), view.size()}; }

std::optional<std::string> read_one(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* column,
                                    const rocksdb::ReadOptions& options, std::string_view key) {
  std::string value;
  const rocksdb::Status status = db.Get(options, column, slice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  // A read error means the disk or the files are damaged; serving on would answer wrongly.
  REPLIKV_ASSERT(status.ok(), "RocksDB read failed (storage damaged?)");
  return value;
}

void scan_from(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* column,
               const rocksdb::ReadOptions& options, std::string_view start,
               const core::StorageView::Visitor& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options, column));
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    if (!visit({key.data(), key.size()}, {value.data(), value.size()})) return;
  }
  REPLIKV_ASSERT(it->status().ok(), "RocksDB scan failed (storage damaged?)");
}

void scan_reverse_from(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* column,
                       const rocksdb::ReadOptions& options, std::string_view before,
                       const core::StorageView::Visitor& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options, column));
  if (before.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(slice(before));  // the last key <= before
    if (it->Valid() && it->key() == slice(before)) it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    if (!visit({key.data(), key.size()}, {value.data(), value.size()})) return;
  }
  REPLIKV_ASSERT(it->status().ok(), "RocksDB scan failed (storage damaged?)");
}

// Reads at one RocksDB snapshot, released when the last view of it goes.
class SnapshotView final : public core::StorageView {
 public:
  SnapshotView(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& columns,
               std::shared_ptr<const rocksdb::Snapshot> snapshot)
      : db_(db), columns_(columns), snapshot_(std::move(snapshot)) {
    options_.snapshot = snapshot_.get();
  }
  std::optional<std::string> get(core::Column column, std::string_view key) const override {
    return read_one(db_, columns_[static_cast<size_t>(column)], options_, key);
  }
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override {
    scan_from(db_, columns_[static_cast<size_t>(column)], options_, start, visit);
  }
  void scan_reverse(core::Column column, std::string_view before,
                    const Visitor& visit) const override {
    scan_reverse_from(db_, columns_[static_cast<size_t>(column)], options_, before, visit);
  }
  std::unique_ptr<core::StorageView> snapshot() const override {
    return std::make_unique<SnapshotView>(db_, columns_, snapshot_);
  }

 private:
  rocksdb::DB& db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& columns_;
  std::shared_ptr<const rocksdb::Snapshot> snapshot_;
  rocksdb::ReadOptions options_;
};

}  // namespace

RocksDbEngine::RocksDbEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbEngine::~RocksDbEngine() = default;

std::unique_ptr<RocksDbEngine> RocksDbEngine::open(const RocksDbOptions& options, Status& error) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    error = Status::error("cannot create data directory " + options.path + ": " + ec.message());
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->statistics = rocksdb::CreateDBStatistics();
  // Tickers only (WAL syncs, bytes): histograms and timers cost a clock read per operation.
  impl->statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.statistics = impl->statistics;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 3;
  // One writer thread (the event loop): the concurrent memtable insert path only adds atomics.
  db_options.allow_concurrent_memtable_write = false;
  db_options.enable_pipelined_write = false;
  // Without a WAL of its own, a crash keeps what was flushed: every column at the same point.
  db_options.atomic_flush = !options.write_ahead_log;
  db_options.avoid_flush_during_shutdown = !options.flush_at_close;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions column_options;
  column_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A bloom filter over whole keys in the memtable: a lookup of a key the memtable does not hold
  // (a new key, or one already flushed) skips the skiplist search.
  column_options.memtable_whole_key_filtering = true;
  column_options.memtable_prefix_bloom_size_ratio = 0.05;

  // The data column takes one insert per write at a key that leads with a hash (random), and a
  // skiplist insert descends every level with a cache miss each: in RocksDB's default 64 MiB
  // memtable that was the largest item of every node's profile. Small memtables keep the
  // descent in cache; merging eight of them at each flush keeps the flushed files (and the
  // compactions they cause) as large, and as deduplicated, as one big memtable's.
  // docs/benchmarks.md, "Per-write CPU": async SET -P 16 ~73,000 -> ~88,000/s.
  rocksdb::ColumnFamilyOptions data_options = column_options;
  data_options.write_buffer_size = data_memtable_bytes;
  data_options.min_write_buffer_number_to_merge = data_memtables_merged_per_flush;
  data_options.max_write_buffer_number = data_memtables_max;
  // A replicated node's data reaches the column as checkpoint files (docs/storage.md), each
  // spanning the whole hashed key space: every L0 -> L1 compaction rewrites L1 whole. Eight files
  // before one halves how often that happens against RocksDB's four (reads probe more L0 files'
  // filters, but the record cache answers most of them). L0 and L1 stay uncompressed: they are
  // rewritten soonest, and the files a checkpoint builds are then not compressed on the loop's
  // neighbour thread only to be decompressed by the next compaction.
  data_options.level0_file_num_compaction_trigger = 8;
  data_options.compression_per_level = {rocksdb::kNoCompression,     rocksdb::kNoCompression,
                                        rocksdb::kSnappyCompression, rocksdb::kSnappyCompression,
                                        rocksdb::kSnappyCompression, rocksdb::kSnappyCompression,
                                        rocksdb::kSnappyCompression};

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, column_options);
  for (int column = 0; column < core::column_count; ++column) {
    // (The elements column's keys lead with a collection id, and checkpoints write it as they
    // write the data column: the same tuning.)
    const bool data = static_cast<core::Column>(column) == core::Column::data ||
                      static_cast<core::Column>(column) == core::Column::elements;
    descriptors.emplace_back(kColumnNames[column], data ? data_options : column_options);
    auto& file_options = impl->file_options[static_cast<size_t>(column)];
    file_options = rocksdb::Options(db_options, descriptors.back().options);
    if (data) file_options.compression = rocksdb::kNoCompression;  // an L0 file (above)
  }
  // Files a checkpoint was building when the process stopped were never ingested: they go.
  impl->checkpoint_dir = options.path + "/checkpoints";
  std::filesystem::remove_all(impl->checkpoint_dir, ec);
  if (!ec) std::filesystem::create_directories(impl->checkpoint_dir, ec);
  if (ec) {
    error = Status::error("cannot prepare " + impl->checkpoint_dir + ": " + ec.message());
    return nullptr;
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!status.ok()) {
    error = Status::error("cannot open RocksDB at " + options.path + ": " + status.ToString());
    return nullptr;
  }
  impl->db.reset(db);
  // handles[0] is the default column family, which replikv does not use.
  db->DestroyColumnFamilyHandle(handles[0]);
  impl->columns.assign(handles.begin() + 1, handles.end());
  impl->write_options.sync = false;
  impl->write_options.disableWAL = !options.write_ahead_log;
  // Per-operation perf counters cost a thread-local lookup per call in a shared library.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  error = Status::ok();
  return std::unique_ptr<RocksDbEngine>(new RocksDbEngine(std::move(impl)));
}

std::optional<std::string> RocksDbEngine::get(core::Column column, std::string_view key) const {
  return read_one(*impl_->db, impl_->columns[static_cast<size_t>(column)], impl_->read_options,
                  key);
}

void RocksDbEngine::scan(core::Column column, std::string_view start, const Visitor& visit) const {
  scan_from(*impl_->db, impl_->columns[static_cast<size_t>(column)], impl_->read_options, start,
            visit);
}

void RocksDbEngine::scan_reverse(core::Column column, std::string_view before,
                                 const Visitor& visit) const {
  scan_reverse_from(*impl_->db, impl_->columns[static_cast<size_t>(column)], impl_->read_options,
                    before, visit);
}

std::unique_ptr<core::StorageView> RocksDbEngine::snapshot() const {
  rocksdb::DB* db = impl_->db.get();
  std::shared_ptr<const rocksdb::Snapshot> snapshot(
      db->GetSnapshot(), [db](const rocksdb::Snapshot* taken) { db->ReleaseSnapshot(taken); });
  return std::make_unique<SnapshotView>(*db, impl_->columns, std::move(snapshot));
}

namespace {
// A batch bigger than this (a snapshot's chunk, a large MSET) gets a buffer of its own rather than
// leaving the reused one that large for good.
constexpr uint64_t reused_batch_bytes_max = 4 << 20;
// RocksDB's record header per operation: tag, column family id, two lengths (varints).
constexpr uint64_t batch_operation_overhead_bytes = 16;
constexpr uint64_t batch_header_bytes = 12;

bool is_range(const core::WriteBatch::Operation& op) {
  return op.kind == core::WriteBatch::Operation::Kind::erase_range ||
         op.kind == core::WriteBatch::Operation::Kind::erase_to_end;
}

// The order in which to hand a batch's operations to RocksDB: point operations sorted by column
// and key, ranges kept where they stand. A memtable is a skiplist, and inserting keys in order
// lets it start each search where the last one ended (its "splice") instead of from the top: the
// hashed data keys of a batch cost a full descent each, with a cache miss per level, and that
// descent was the largest item of a follower's profile (docs/benchmarks.md). The result is the
// same: the batch is applied atomically under one sequence of numbers, so only the order of the
// operations on one key is visible; the sort keeps each key's operations in order and never
// moves a point operation across a range one.
//
// Between ranges, operations are first split by column (keeping their order), and a column's
// run is sorted only when it is not in order already: the log's entries arrive by index, which is
// key order, and checking them costs one comparison each where sorting them with the data's cost
// a few (the sort was 3 % of a follower).
void put_in_key_order(const std::vector<core::WriteBatch::Operation>& operations,
                      std::vector<uint32_t>& order) {
  order.resize(operations.size());
  auto by_key = [&](uint32_t a, uint32_t b) {
    if (const int c = operations[a].key.compare(operations[b].key); c != 0) return c < 0;
    return a < b;  // stable without std::stable_sort's temporary buffer
  };
  uint32_t begin = 0;
  while (begin < operations.size()) {
    uint32_t end = begin;
    while (end < operations.size() && !is_range(operations[end])) ++end;
    // Counting sort by column: where each column's run starts, then each index in its place.
    std::array<uint32_t, core::column_count + 1> starts{};
    for (uint32_t i = begin; i < end; ++i) ++starts[static_cast<size_t>(operations[i].column) + 1];
    starts[0] = begin;
    for (size_t c = 1; c <= core::column_count; ++c) starts[c] += starts[c - 1];
    std::array<uint32_t, core::column_count> next{};
    std::copy(starts.begin(), starts.end() - 1, next.begin());
    for (uint32_t i = begin; i < end; ++i)
      order[next[static_cast<size_t>(operations[i].column)]++] = i;
    for (size_t c = 0; c < core::column_count; ++c) {
      const auto first = order.begin() + starts[c];
      const auto last = order.begin() + starts[c + 1];
      if (last - first > 1 && !std::is_sorted(first, last, by_key)) std::sort(first, last, by_key);
    }
    if (end < operations.size()) order[end] = end;  // the range operation, where it stands
    begin = end + 1;
  }
}
}  // namespace

Status RocksDbEngine::write(const core::WriteBatch& batch) {
  const uint64_t expected_bytes = batch_header_bytes + batch.bytes() +
                                  batch.operations().size() * batch_operation_overhead_bytes;
  std::optional<rocksdb::WriteBatch> own;
  if (expected_bytes > reused_batch_bytes_max) {
    own.emplace(expected_bytes);
  } else {
    impl_->scratch.Clear();
  }
  rocksdb::WriteBatch& rocks_batch = own ? *own : impl_->scratch;
  const auto& operations = batch.operations();
  put_in_key_order(operations, impl_->order);
  for (const uint32_t index : impl_->order) {
    const auto& op = operations[index];
    auto* handle = impl_->columns[static_cast<size_t>(op.column)];
    rocksdb::Status status;
    switch (op.kind) {
      case core::WriteBatch::Operation::Kind::put:
        status = rocks_batch.Put(handle, op.key, op.value);
        break;
      case core::WriteBatch::Operation::Kind::erase:
        status = rocks_batch.Delete(handle, op.key);
        break;
      case core::WriteBatch::Operation::Kind::erase_range:
        status = rocks_batch.DeleteRange(handle, op.key, op.value);
        break;
      case core::WriteBatch::Operation::Kind::erase_to_end: {
        // A range tombstone up to just past the column's last key (as stored now, or put
        // earlier in this batch — the batch's own puts are covered by scanning them too).
        std::string end;
        std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(impl_->read_options, handle));
        it->SeekToLast();
        if (it->Valid()) end = it->key().ToString() + '\0';
        REPLIKV_ASSERT(it->status().ok(), "RocksDB scan failed (storage damaged?)");
        for (const auto& earlier : operations) {
          if (&earlier == &op) break;
          if (earlier.column == op.column &&
              earlier.kind == core::WriteBatch::Operation::Kind::put && earlier.key + '\0' > end) {
            end = earlier.key + '\0';
          }
        }
        if (!end.empty() && end > op.key) status = rocks_batch.DeleteRange(handle, op.key, end);
        break;
      }
    }
    if (!status.ok()) return Status::error("RocksDB batch: " + status.ToString());
  }
  const rocksdb::Status status = impl_->db->Write(impl_->write_options, &rocks_batch);
  if (!status.ok()) return Status::error("RocksDB write: " + status.ToString());
  ++impl_->stats.batches_written_total;
  impl_->stats.bytes_written_total += batch.bytes();
  return Status::ok();
}

Status RocksDbEngine::sync() {
  const rocksdb::Status status = impl_->db->SyncWAL();
  if (!status.ok()) return Status::error("RocksDB WAL sync: " + status.ToString());
  impl_->syncs_total.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

// A checkpoint as one sorted file per column, ingested into all of them in one atomic step
// (IngestExternalFiles records them in the MANIFEST together). Building the files costs about a
// third of inserting the same records into the memtables (docs/benchmarks.md), and it runs beside
// the loop: the loop's own writes never wait behind it, but for the moment the ingestion assigns
// the files a sequence number. Nothing else writes the columns a checkpoint writes (the replica
// sees to it), so no memtable holds keys in a file's range and ingesting never forces a flush
// (RocksDB would flush first if one did: slower, still right).
Status RocksDbEngine::write_checkpoint(const core::WriteBatch& batch) {
  // The log entries the checkpoint reflects may be written and not yet synced (fsync "never"):
  // the ingested files are durable at once, so those go first (Engine's contract).
  if (const rocksdb::Status status = impl_->db->SyncWAL(); !status.ok()) {
    return Status::error("RocksDB WAL sync before a checkpoint: " + status.ToString());
  }
  const auto& operations = batch.operations();
  // Sorted on each key's first 8 bytes (a data key's hash: nearly always decides) held beside
  // its position, the full keys compared only on a tie: comparing the strings themselves, each
  // in its own allocation, was half of the checkpoint thread's time.
  struct Sorted {
    uint64_t prefix;
    uint32_t index;
  };
  std::array<std::vector<Sorted>, core::column_count> by_column;
  // Range erases (a FLUSHALL's columns, a deleted collection's elements) go into the column's
  // file as range tombstones. An ingested file's point records and tombstones share one sequence
  // number, and at an equal number RocksDB lets the point record win: what the batch means only
  // when a column's ranges come before its points, as the keyspace writes them (asserted).
  std::array<std::vector<std::pair<std::string, std::string>>, core::column_count> ranges;
  for (uint32_t i = 0; i < operations.size(); ++i) {
    const auto column = static_cast<size_t>(operations[i].column);
    if (is_range(operations[i])) {
      REPLIKV_ASSERT(by_column[column].empty(),
                     "a checkpoint's range erases come before the column's puts and erases");
      std::string end = operations[i].value;
      if (operations[i].kind == core::WriteBatch::Operation::Kind::erase_to_end) {
        // To the end: up to just past the last key the column holds now (the checkpoint is
        // the column's only writer, so nothing comes after it meanwhile).
        std::unique_ptr<rocksdb::Iterator> it(
            impl_->db->NewIterator(impl_->read_options, impl_->columns[column]));
        it->SeekToLast();
        if (!it->Valid()) continue;  // (an empty column)
        end = it->key().ToString();
        end.push_back('\0');
      }
      if (end > operations[i].key) ranges[column].emplace_back(operations[i].key, std::move(end));
      continue;
    }
    const std::string& key = operations[i].key;
    char bytes[8] = {};  // a shorter key sorts as if padded with zero bytes
    std::memcpy(bytes, key.data(), std::min<size_t>(key.size(), 8));
    by_column[column].push_back({core::load_u64_be(bytes), i});
  }
  const uint64_t number = impl_->checkpoints_total.load(std::memory_order_relaxed);
  std::vector<rocksdb::IngestExternalFileArg> args;
  std::vector<std::string> files;
  auto remove_files = [&] {
    std::error_code ignored;
    for (const auto& file : files) std::filesystem::remove(file, ignored);
  };
  for (size_t column = 0; column < core::column_count; ++column) {
    auto& indexes = by_column[column];
    if (indexes.empty() && ranges[column].empty()) continue;
    // Sorted by key, a key's operations in batch order: the last one is what the batch leaves.
    std::sort(indexes.begin(), indexes.end(), [&](const Sorted& a, const Sorted& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      if (const int c = operations[a.index].key.compare(operations[b.index].key); c != 0)
        return c < 0;
      return a.index < b.index;
    });
    // The page cache keeps the file: reads of the records just written are likely.
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), impl_->file_options[column],
                                  impl_->columns[column],
                                  /*invalidate_page_cache=*/false);
    files.push_back(impl_->checkpoint_dir + "/" + std::to_string(number) + "-" +
                    kColumnNames[column] + ".sst");
    rocksdb::Status status = writer.Open(files.back());
    for (size_t i = 0; status.ok() && i < ranges[column].size(); ++i)
      status = writer.DeleteRange(ranges[column][i].first, ranges[column][i].second);
    for (size_t i = 0; status.ok() && i < indexes.size(); ++i) {
      const auto& op = operations[indexes[i].index];
      if (i + 1 < indexes.size() && indexes[i + 1].prefix == indexes[i].prefix &&
          operations[indexes[i + 1].index].key == op.key) {
        continue;  // not the key's last operation
      }
      status = op.kind == core::WriteBatch::Operation::Kind::put ? writer.Put(op.key, op.value)
                                                                 : writer.Delete(op.key);
    }
    if (status.ok()) status = writer.Finish();  // syncs the file
    if (!status.ok()) {
      remove_files();
      return Status::error("RocksDB checkpoint file: " + status.ToString());
    }
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = impl_->columns[column];
    arg.external_files = {files.back()};
    arg.options.move_files = true;           // linked into the database, not copied
    arg.options.write_global_seqno = false;  // kept in the MANIFEST: no write into the file
    args.push_back(std::move(arg));
  }
  if (args.empty()) return Status::ok();
  if (const rocksdb::Status status = impl_->db->IngestExternalFiles(args); !status.ok()) {
    remove_files();
    return Status::error("RocksDB checkpoint ingestion: " + status.ToString());
  }
  remove_files();  // the database holds links of its own
  impl_->checkpoints_total.fetch_add(1, std::memory_order_relaxed);
  impl_->checkpoint_bytes_total.fetch_add(batch.bytes(), std::memory_order_relaxed);
  return Status::ok();
}

Status RocksDbEngine::flush() {
  rocksdb::FlushOptions options;
  options.wait = true;
  const rocksdb::Status status = impl_->db->Flush(options, impl_->columns);
  return status.ok() ? Status::ok() : Status::error("RocksDB flush: " + status.ToString());
}

EngineStats RocksDbEngine::stats() const {
  EngineStats stats = impl_->stats;
  stats.syncs_total = impl_->syncs_total.load(std::memory_order_relaxed);
  stats.checkpoints_written_total = impl_->checkpoints_total.load(std::memory_order_relaxed);
  stats.checkpoint_bytes_total = impl_->checkpoint_bytes_total.load(std::memory_order_relaxed);
  stats.wal_syncs_total = impl_->statistics->getTickerCount(rocksdb::WAL_FILE_SYNCED);
  return stats;
}

}  // namespace replikv::storage
