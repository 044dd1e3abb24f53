// InputBuffer: the bytes read from one client and not yet parsed.
//
// A growable byte array with a consumed prefix. Reading appends after `end`; parsing consumes
// from `begin`. Space is reclaimed by moving the unconsumed bytes to the front only when that
// is cheap (they are few) or needed (no room left), so pipelined requests are not copied per
// request. Unlike std::string, growing does not zero the new bytes.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace replikv::runtime {

class InputBuffer {
 public:
  std::string_view unread() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room for at least `n` more bytes after the unread ones; returns where to read into.
  char* prepare(size_t n) {
    if (capacity_ - end_ >= n) return data_.get() + end_;
    const size_t used = end_ - begin_;
    if (capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      size_t capacity = capacity_ == 0 ? 16 * 1024 : capacity_;
      while (capacity - used < n) capacity *= 2;
      std::unique_ptr<char[]> grown(new char[capacity]);
      if (used > 0) std::memcpy(grown.get(), data_.get() + begin_, used);
      data_ = std::move(grown);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = used;
    return data_.get() + end_;
  }
  void commit(size_t n) { end_ += n; }
  // Gives memory back after a large request, once the buffer is empty.
  void shrink_if_idle(size_t keep_bytes) {
    if (begin_ == end_ && capacity_ > keep_bytes) {
      data_.reset();
      capacity_ = begin_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace replikv::runtime
