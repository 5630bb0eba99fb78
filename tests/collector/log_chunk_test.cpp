// The recording's log chunks (log_chunk.h): records come back as they went in, with their stream and
// the stream's pid; chunks are packed, fill up, keep batches as they came, and formats 3 and 4 still read.
#include "log_chunk.h"

#include <cmwq/packed.h>
#include <cmwq/sim.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace wqscope {
namespace {

struct Logged {
  int stream;
  std::vector<std::byte> bytes;  // the record as read, its pid the stream's
};

/// The records of `chunk` onto `out`, stream N's pid 1000 + N; throws as for_each_logged does.
void read(std::span<const std::byte> chunk, std::vector<Logged>& out) {
  auto as_u8 = std::span(reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
  for_each_logged(as_u8, [](int stream) { return static_cast<std::uint32_t>(1000 + stream); },
                  [&](int stream, const cmwq::Record& r) {
                    auto* p = reinterpret_cast<const std::byte*>(r.h);
                    out.push_back({stream, {p, p + r.h->size}});
                  });
}

/// The simulator's xfslogd story, each record of stream 1 or 2 by turns, as a reader expects it back.
struct Story {
  std::vector<Logged> records;
  Story() {
    auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
    int i = 0;
    cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
      auto* p = reinterpret_cast<const std::byte*>(r.h);
      Logged l{1 + i++ % 2, {p, p + r.h->size}};
      std::uint32_t pid = 1000 + static_cast<std::uint32_t>(l.stream);
      std::memcpy(l.bytes.data() + offsetof(cmwq_event_header, pid), &pid, sizeof pid);
      records.push_back(std::move(l));
    });
  }
  static cmwq::Record record(const Logged& l) { return cmwq::Record{reinterpret_cast<const cmwq_event_header*>(l.bytes.data())}; }
};

bool operator==(const Logged& a, const Logged& b) { return a.stream == b.stream && a.bytes == b.bytes; }

TEST(LogChunk, RecordsComeBackPackedInChunksThatFill) {
  Story once;
  ASSERT_GT(once.records.size(), 5000u);
  Story story;  // told 5 times: ~150 KB packed, so chunks fill
  for (int i = 1; i < 5; ++i) story.records.insert(story.records.end(), once.records.begin(), once.records.end());
  std::vector<Logged> back;
  std::size_t chunks = 0, packed = 0, raw = 0;
  LogChunk chunk;
  auto flush = [&] {
    read(chunk.bytes(), back);
    packed += chunk.bytes().size();
    ++chunks;
    chunk.clear();
  };
  for (const Logged& l : story.records) {
    raw += l.bytes.size();
    if (!chunk.append(l.stream, Story::record(l))) {
      ASSERT_GE(chunk.size(), LogChunk::kMaxBytes - 256);  // full, not given up early
      flush();
      ASSERT_TRUE(chunk.append(l.stream, Story::record(l)));
    }
    ASSERT_LE(chunk.size(), LogChunk::kMaxBytes);
  }
  flush();
  EXPECT_EQ(back, story.records);
  EXPECT_LT(packed * 8, raw) << packed << " packed bytes for " << raw;
  EXPECT_GE(chunks, 2u);
  EXPECT_LT(chunks, story.records.size() / 5000);
}

// A batch logged as the probe delivered it: its records come back with its stream, between the
// records packed around it, in order, and the off/on-CPU records held among them where they were
// applied (before the first record of the batch not older than each); a chunk that cannot take it
// says so.
TEST(LogChunk, BatchesAsTheyCameComeBackBetweenRecords) {
  Story story;
  auto ts = [&](std::size_t i) { return reinterpret_cast<const cmwq_event_header*>(story.records[i].bytes.data())->ts; };
  std::size_t b = 0;  // records b..b+99 packed one by one, b+100..b+299 a batch, b+300..b+399 one by one
  while (b + 400 < story.records.size() && ts(b + 150) <= ts(b + 100)) b += 50;  // its time moves on
  ASSERT_LT(b + 400, story.records.size());
  std::size_t later = b + 101;  // the batch's first record younger than its first
  while (ts(later) <= ts(b + 100)) ++later;
  cmwq_ev_state held[2]{};  // off the CPU at that record's time, back at the batch's last
  for (int k = 0; k < 2; ++k) {
    held[k].h = {static_cast<std::uint16_t>(k ? CMWQ_EV_ON_CPU : CMWQ_EV_OFF_CPU), sizeof held[k], 0, 4242, 0,
                 ts(k ? b + 299 : later), 0};
    held[k].pool = -1;
  }
  std::vector<std::byte> batch;  // packed by the target (its pid in each)
  std::vector<Logged> want(story.records.begin() + b, story.records.begin() + b + 100);
  std::size_t next_held = 0;
  for (std::size_t i = b + 100; i < b + 300; ++i) {
    for (; next_held < 2 && held[next_held].h.ts <= ts(i); ++next_held) {  // applied before the first not older
      Logged l{0, std::vector<std::byte>(sizeof held[0])};
      std::memcpy(l.bytes.data(), &held[next_held], sizeof held[0]);
      std::uint32_t pid = 1000;
      std::memcpy(l.bytes.data() + offsetof(cmwq_event_header, pid), &pid, sizeof pid);
      want.push_back(std::move(l));
    }
    Logged l{3, story.records[i].bytes};
    std::uint32_t target_pid = 77, pid = 1003;
    std::memcpy(l.bytes.data() + offsetof(cmwq_event_header, pid), &target_pid, sizeof target_pid);
    batch.insert(batch.end(), l.bytes.begin(), l.bytes.end());
    std::memcpy(l.bytes.data() + offsetof(cmwq_event_header, pid), &pid, sizeof pid);
    want.push_back(std::move(l));
  }
  ASSERT_EQ(next_held, 2u);
  auto first_held = std::find_if(want.begin(), want.end(), [](const Logged& l) { return l.stream == 0; });
  ASSERT_GT(first_held - want.begin(), 100);  // among the batch's records, not before them
  want.insert(want.end(), story.records.begin() + b + 300, story.records.begin() + b + 400);
  std::vector<std::byte> packed;
  cmwq::pack(batch, packed);
  LogChunk chunk;
  for (std::size_t i = b; i < b + 100; ++i) ASSERT_TRUE(chunk.append(story.records[i].stream, Story::record(story.records[i])));
  ASSERT_TRUE(chunk.append_batch(3, packed, std::as_bytes(std::span(held))));
  for (std::size_t i = b + 300; i < b + 400; ++i)
    ASSERT_TRUE(chunk.append(story.records[i].stream, Story::record(story.records[i])));
  std::vector<Logged> back;
  read(chunk.bytes(), back);
  EXPECT_EQ(back, want);

  std::vector<std::byte> too_large(LogChunk::kMaxBytes, std::byte{1});
  EXPECT_FALSE(chunk.append_batch(3, too_large, {}));
  chunk.clear();
  EXPECT_FALSE(chunk.append_batch(3, too_large, {}));  // not even into an empty chunk: its records go one by one
  EXPECT_TRUE(chunk.empty());
}

// A part of a kind no writer makes, or one cut short: the records before it, then an error.
TEST(LogChunk, AnUnknownOrCutPartGivesTheRecordsBeforeItThenSaysSo) {
  Story story;
  LogChunk chunk;
  for (std::size_t i = 0; i < 50; ++i) chunk.append(story.records[i].stream, Story::record(story.records[i]));
  std::vector<std::byte> bytes(chunk.bytes().begin(), chunk.bytes().end());
  for (std::vector<std::byte> bad : {std::vector<std::byte>{std::byte{'X'}, std::byte{0}},
                                     std::vector<std::byte>{LogChunk::kBatchPart, std::byte{1}, std::byte{0}},
                                     std::vector<std::byte>{LogChunk::kRecordsPart, std::byte{0xff}, std::byte{0xff},
                                                            std::byte{0}, std::byte{0}, std::byte{0}}}) {
    std::vector<std::byte> damaged = bytes;
    damaged.insert(damaged.end(), bad.begin(), bad.end());
    std::vector<Logged> got;
    EXPECT_THROW(read(damaged, got), cmwq::RecordError);
    EXPECT_EQ(got.size(), 50u);
  }
}

TEST(LogChunk, Format4ChunksOfOnePackedBatchStillRead) {
  Story story;
  std::vector<std::byte> records, chunk;  // as format 4 wrote it: the records packed, the stream in each pid
  for (const Logged& l : story.records) {
    std::size_t at = records.size();
    records.insert(records.end(), l.bytes.begin(), l.bytes.end());
    auto stream = static_cast<std::uint32_t>(l.stream);
    std::memcpy(records.data() + at + offsetof(cmwq_event_header, pid), &stream, sizeof stream);
    if (records.size() > 200'000) break;  // within what a reader takes packed
  }
  cmwq::pack(records, chunk);
  ASSERT_LE(chunk.size(), LogChunk::kMaxReadBytes);
  std::vector<Logged> back;
  read(chunk, back);
  ASSERT_FALSE(back.empty());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), story.records.begin()));
}

TEST(LogChunk, Format3ChunksOfRecordsAsTheyAreStillRead) {
  Story story;
  std::vector<std::byte> chunk;  // as format 3 wrote it: the records back to back, the stream in each pid
  for (const Logged& l : story.records) {
    std::size_t at = chunk.size();
    chunk.insert(chunk.end(), l.bytes.begin(), l.bytes.end());
    auto stream = static_cast<std::uint32_t>(l.stream);
    std::memcpy(chunk.data() + at + offsetof(cmwq_event_header, pid), &stream, sizeof stream);
  }
  std::vector<Logged> back;
  read(chunk, back);
  EXPECT_EQ(back, story.records);
}

TEST(LogChunk, ADamagedChunkGivesTheRecordsBeforeTheDamageThenSaysSo) {
  Story story;
  LogChunk chunk;
  std::size_t in = 0;
  while (in < story.records.size() && chunk.append(story.records[in].stream, Story::record(story.records[in]))) ++in;
  std::vector<std::byte> bytes(chunk.bytes().begin(), chunk.bytes().end());
  for (std::size_t cut : {bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    std::vector<Logged> got;
    EXPECT_THROW(read(std::span(bytes).first(cut), got), cmwq::RecordError);
    ASSERT_LT(got.size(), in);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), story.records.begin()));
  }
}

TEST(LogChunk, AChunkLargerThanAnyWrittenIsRefusedWhole) {
  Story story;
  LogChunk chunk;
  for (const Logged& l : story.records) chunk.append(l.stream, Story::record(l));
  std::vector<std::byte> huge(chunk.bytes().begin(), chunk.bytes().end());
  huge.resize(LogChunk::kMaxReadBytes + 1);  // what a hostile file may hold, up to 1 GB
  std::vector<Logged> got;
  EXPECT_THROW(read(huge, got), cmwq::RecordError);
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace wqscope
