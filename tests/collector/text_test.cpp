// What the collector makes of untrusted names, and the one grammar of durations.
#include "alert_kind.h"
#include "model.h"
#include "untrusted.h"

#include <duration.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace {

using wqscope::printable;

TEST(Printable, KeepsWhatIsPrintable) {
  EXPECT_EQ(printable("events_unbound"), "events_unbound");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("a\\b"), "a\\b");  // kept: escaping stays idempotent
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, EscapesInvalidBytes) {
  EXPECT_EQ(printable("bad\xff\xfe name"), "bad\\xff\\xfe name");
  EXPECT_EQ(printable("\xc0\x80"), "\\xc0\\x80");              // overlong NUL
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");      // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("cut \xe6\x97"), "cut \\xe6\\x97");       // cut at CMWQ_NAME_MAX mid-character
  EXPECT_EQ(printable("\xe6\x97" "A"), "\\xe6\\x97A");          // the next byte starts over
}

TEST(Printable, EscapesControls) {
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\xc2\\x9b2J");        // C1 CSI
  EXPECT_EQ(printable("\xe2\x80\xae" "abc"), "\\xe2\\x80\\xaeabc");  // right-to-left override
  EXPECT_EQ(printable("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");      // line separator
}

TEST(Printable, IsIdempotent) {
  for (std::string s : {"bad\xff\xfe name", "\x1b]0;title\x07", "\xe2\x80\xae", "plain", "a\\x41"}) {
    std::string once = printable(s);
    EXPECT_EQ(printable(once), once) << once;
    EXPECT_NO_THROW(nlohmann::json(once).dump());  // valid UTF-8
  }
}

TEST(Printable, Json) {
  nlohmann::json j = {{"name", "bad\xff"}, {"list", {"x\x1b", 1}}, {"obj", {{"k\xfe", "v"}}}};
  EXPECT_THROW(j.dump(), nlohmann::json::type_error);
  EXPECT_EQ(wqscope::json_text(j).find('\xff'), std::string::npos);  // replaced, not thrown
  wqscope::make_printable(j);
  EXPECT_EQ(j.dump(), R"({"list":["x\\x1b",1],"name":"bad\\xff","obj":{"k\\xfe":"v"}})");
}

TEST(Model, NamesFromRecordsAndSnapshotsArePrintable) {
  wqscope::Model m;
  cmwq_ev_hello hello{};
  hello.h.kind = CMWQ_EV_HELLO;
  hello.h.size = sizeof hello;
  hello.h.seq = 1;
  hello.possible_cpus = 1;
  m.apply(cmwq::Record{&hello.h});
  cmwq_ev_name n{};
  n.h.kind = CMWQ_EV_NAME;
  n.h.size = sizeof n;
  n.h.seq = 2;
  n.id = 1;
  n.name_kind = CMWQ_NAME_WQ;
  std::snprintf(n.text, sizeof n.text, "%s", "bad\xff\x1b[2J");
  m.apply(cmwq::Record{&n.h});
  EXPECT_EQ(m.name(1), "bad\\xff\\x1b[2J");
  wqscope::Model restored;
  restored.restore(m.snapshot());
  EXPECT_EQ(restored.name(1), "bad\\xff\\x1b[2J");
  // A snapshot written before names were escaped (or a damaged one) holds the raw bytes: restored printable.
  auto j = nlohmann::json::from_cbor(m.snapshot());
  j["names"] = nlohmann::json::array({nlohmann::json::array({1, "old\xfe\x1b]0;x\x07"})});
  auto bytes = nlohmann::json::to_cbor(j);
  wqscope::Model old;
  old.restore(bytes);
  EXPECT_EQ(old.name(1), "old\\xfe\\x1b]0;x\\x07");
}

TEST(Duration, Grammar) {
  using cmwq::cli::parse_duration;
  EXPECT_EQ(parse_duration("30s", "--thresh"), 30'000'000'000);
  EXPECT_EQ(parse_duration("500ms", "--thresh"), 500'000'000);
  EXPECT_EQ(parse_duration("250us", "--thresh"), 250'000);
  EXPECT_EQ(parse_duration("10ns", "--thresh"), 10);
  EXPECT_EQ(parse_duration("2m", "--thresh"), 120'000'000'000);
  EXPECT_EQ(parse_duration("1.5", "--thresh"), 1'500'000'000);  // a bare number: seconds
  EXPECT_EQ(parse_duration("3", "--thresh"), 3'000'000'000);
  EXPECT_EQ(parse_duration("0", "--at", {.zero_ok = true}), 0);
  for (const char* bad : {"", "0", "-5s", "10h", "abc", "s", "1e3", " 1s", "+1s", "inf", "nan", "20000s", "0.1ns"})
    EXPECT_THROW(parse_duration(bad, "--thresh"), std::invalid_argument) << bad;
  try {
    parse_duration("soon", "--thresh");
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--thresh 'soon' is not a duration like 30s or 500ms", 0), 0u) << e.what();
  }
}

TEST(Duration, Instants) {
  using cmwq::cli::parse_instant;
  EXPECT_EQ(parse_instant("@123", "--at", 1000), 123);
  EXPECT_EQ(parse_instant("1.5", "--at", 1000), 1'500'001'000);
  EXPECT_EQ(parse_instant("0", "--at", 1000), 1000);
  EXPECT_EQ(parse_instant("800ms", "--at", 0), 800'000'000);
  for (const char* bad : {"@", "@-1", "@1s", "soon", "-1s"})
    EXPECT_THROW(parse_instant(bad, "--at", 0), std::invalid_argument) << bad;
}

TEST(AlertKinds, OneNameTable) {
  for (const auto& k : wqscope::kAlertKinds) EXPECT_EQ(wqscope::alert_kind(k.name), k.kind);
  EXPECT_EQ(wqscope::name(wqscope::AlertKind::HiddenBlock), "hidden_block");
  EXPECT_FALSE(wqscope::alert_kind("no_such_kind"));
  EXPECT_TRUE(wqscope::is_stuck(wqscope::AlertKind::Lockup));
  EXPECT_FALSE(wqscope::is_stuck(wqscope::AlertKind::CpuHog));
}

TEST(Hung, OnePredicate) {
  wqscope::PoolInfo p;
  p.last_progress_ns = 100;
  EXPECT_EQ(p.hung_since(), -1);  // nothing waits
  EXPECT_EQ(p.hung_ns(1000), 0);
  p.worklist.push_back({});
  p.pending = 1;
  EXPECT_EQ(p.hung_since(), 100);
  EXPECT_EQ(p.hung_ns(1000), 900);
  EXPECT_EQ(p.hung_ns(50), 0);  // a clock behind the pool's progress
  p.last_progress_ns = -1;      // never made progress that was seen
  EXPECT_EQ(p.hung_ns(1000), 0);
}

}  // namespace
