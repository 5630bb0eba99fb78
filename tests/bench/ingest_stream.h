// The record stream of a busy pool for ingest_bench, made once by the
// deterministic simulator and kept on disk as the packed batches a reader receives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <cmwq/packed.h>
#include <cmwq/records.h>

namespace ingest {

/// Simulates a busy 2-CPU pool until it has produced about `records` records and writes them
/// to `path` as a reader receives them: packed batches of at most CMWQ_BATCH_MAX bytes (what one
/// cmwq:batch probe hit carries: cmwq::Packer, as the pool's deliverer packs them), each framed by
/// its u32 length. Returns the number of records written.
std::uint64_t generate(const std::string& path, std::uint64_t records);

/// Records per kind name in the file (for the table's caption).
std::map<std::string, std::uint64_t> kinds(const std::string& path);

/// Calls `fn` for each batch of the file, in order, as it is (packed); reads through one buffer.
void for_each_batch(std::FILE*, const std::function<void(std::span<const std::byte>)>& fn);

/// Calls `fn` for each record of a batch of the file (unpacked into `scratch`).
void for_each_record(std::span<const std::byte> batch, cmwq::RecordBytes& scratch,
                     const std::function<void(const cmwq::Record&)>& fn);

}  // namespace ingest
