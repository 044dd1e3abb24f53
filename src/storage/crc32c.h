// CRC-32C (Castagnoli), the checksum of the segmented log's frames.
//
// The polynomial of iSCSI, ext4's metadata, LevelDB's and etcd's logs: it detects every burst of
// up to 32 flipped bits and, unlike plain CRC-32, has an instruction of its own on x86-64
// (SSE 4.2), used when the processor has it; elsewhere a table-driven version gives the same
// values.
#pragma once

#include <cstdint>
#include <string_view>

namespace replikv::storage {

// Extends `crc` (0 to start) over `bytes`: crc32c(a + b) == crc32c_extend(crc32c(a), b).
uint32_t crc32c_extend(uint32_t crc, std::string_view bytes);
inline uint32_t crc32c(std::string_view bytes) { return crc32c_extend(0, bytes); }

}  // namespace replikv::storage
