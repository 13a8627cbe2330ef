// CRC-32C (Castagnoli), the checksum of the embedded log's batches and positions files.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both give the same value.
// Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hrflow::stream {

// Extend `crc` (0 to start) over `n` bytes.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace hrflow::stream
