// The recording's log chunks (log_chunk.h): records come back as they went in, with their stream and
// the stream's pid; chunks are packed, fill up, and format 3's unpacked chunks still read.
#include "log_chunk.h"

#include <cmwq/sim.h>

#include <gtest/gtest.h>

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
      ASSERT_GE(chunk.bytes().size(), LogChunk::kMaxBytes - 128);  // full, not given up early
      flush();
      ASSERT_TRUE(chunk.append(l.stream, Story::record(l)));
    }
    ASSERT_LE(chunk.bytes().size(), LogChunk::kMaxBytes);
  }
  flush();
  EXPECT_EQ(back, story.records);
  EXPECT_LT(packed * 8, raw) << packed << " packed bytes for " << raw;
  EXPECT_GE(chunks, 2u);
  EXPECT_LT(chunks, story.records.size() / 5000);
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
