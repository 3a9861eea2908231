#include "reco/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "../testing/temp_dir.h"
#include "reco/data_dir.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

// Each test writes its files into its own fresh directory.
class LoaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Loads and returns the error message, failing the test if the load succeeds.
  std::string LoadError(const std::string& path, const LoadOptions& opts = {}) {
    Result<Dataset> r = LoadInteractions(path, opts);
    EXPECT_FALSE(r.ok()) << "expected " << path << " to be rejected";
    return r.ok() ? std::string() : r.status().message();
  }

  testing_util::TempDir scratch_{"reco-loader-test"};
  const fs::path dir_ = scratch_.path();
};

struct Rec {
  std::string user, item;
  float value;
  int64_t timestamp;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "{" << r.user << "," << r.item << "," << r.value << "," << r.timestamp << "}";
}

// The records with their external IDs, in dataset order.
std::vector<Rec> Records(const Dataset& ds) {
  std::vector<Rec> out;
  for (const Interaction& r : ds.interactions) {
    out.push_back({ds.users.External(r.user), ds.items.External(r.item), r.value, r.timestamp});
  }
  return out;
}

TEST_F(LoaderTest, UData) {
  std::string path = Write("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
  for (InputFormat format : {InputFormat::kAuto, InputFormat::kUData}) {
    LoadOptions opts;
    opts.format = format;
    LoadReport report;
    Result<Dataset> ds = LoadInteractions(path, opts, &report);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(Records(*ds),
              (std::vector<Rec>{{"196", "242", 3, 881250949}, {"186", "302", 3, 891717742}}));
    EXPECT_TRUE(ds->has_values);
    EXPECT_TRUE(ds->has_timestamps);
    EXPECT_EQ(report.format, InputFormat::kUData);
    EXPECT_EQ(report.lines_read, 2u);
    EXPECT_EQ(report.records_loaded, 2u);
  }
}

TEST_F(LoaderTest, RatingsDatWithCrlfBlankLinesAndTrailingBlanks) {
  std::string path = Write("ratings.dat",
                           "1::1193::5::978300760\r\n"
                           "\r\n"
                           "1::661::3::978302109  \r\n"
                           "   \n"
                           "2::1193::4.5::978300275");  // no final newline
  for (InputFormat format : {InputFormat::kAuto, InputFormat::kRatingsDat}) {
    LoadOptions opts;
    opts.format = format;
    LoadReport report;
    Result<Dataset> ds = LoadInteractions(path, opts, &report);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(Records(*ds), (std::vector<Rec>{{"1", "1193", 5, 978300760},
                                              {"1", "661", 3, 978302109},
                                              {"2", "1193", 4.5, 978300275}}));
    EXPECT_EQ(ds->users.size(), 2u);
    EXPECT_EQ(ds->items.size(), 2u);
    EXPECT_EQ(report.format, InputFormat::kRatingsDat);
    EXPECT_EQ(report.lines_read, 5u);
    EXPECT_EQ(report.blank_lines, 2u);
  }
}

TEST_F(LoaderTest, RatingsCsvWithBom) {
  std::string path = Write("ratings.csv",
                           "\xEF\xBB\xBFuserId,movieId,rating,timestamp\n"
                           "1,31,2.5,1260759144\n"
                           "1,1029,3.0,1260759179\n");
  for (InputFormat format : {InputFormat::kAuto, InputFormat::kRatingsCsv}) {
    LoadOptions opts;
    opts.format = format;
    LoadReport report;
    Result<Dataset> ds = LoadInteractions(path, opts, &report);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(Records(*ds),
              (std::vector<Rec>{{"1", "31", 2.5, 1260759144}, {"1", "1029", 3.0, 1260759179}}));
    EXPECT_EQ(report.format, InputFormat::kRatingsCsv);
    EXPECT_EQ(report.lines_read, 3u);
  }
}

TEST_F(LoaderTest, DelimitedColumnsByHeaderNameImplicit) {
  // Columns in an unusual order, a multi-character delimiter, no value column.
  std::string path = Write("clicks.txt",
                           "ts | item | session | user\n"
                           "100 | tt0114709 | s1 | alice\n"
                           "200 | tt0113497 | s2 | bob\n");
  LoadOptions opts;
  opts.format = InputFormat::kDelimited;
  opts.delimiter = " | ";
  opts.has_header = true;
  opts.user_column = ColumnRef::Named("user");
  opts.item_column = ColumnRef::Named("item");
  opts.value_column = ColumnRef::None();
  opts.timestamp_column = ColumnRef::Named("ts");
  Result<Dataset> ds = LoadInteractions(path, opts);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(Records(*ds),
            (std::vector<Rec>{{"alice", "tt0114709", 1, 100}, {"bob", "tt0113497", 1, 200}}));
  EXPECT_FALSE(ds->has_values);
  EXPECT_TRUE(ds->has_timestamps);
}

TEST_F(LoaderTest, DelimitedColumnsByIndexWithoutTimestamp) {
  std::string path = Write("x.tsv", "9\tu1\ti1\t4\n9\tu2\ti1\t2\n");
  LoadOptions opts;
  opts.format = InputFormat::kDelimited;
  opts.delimiter = "\t";
  opts.user_column = ColumnRef::Index(1);
  opts.item_column = ColumnRef::Index(2);
  opts.value_column = ColumnRef::Index(3);
  opts.timestamp_column = ColumnRef::None();
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(path, opts, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(Records(*ds), (std::vector<Rec>{{"u1", "i1", 4, 0}, {"u2", "i1", 2, 0}}));
  EXPECT_TRUE(ds->has_values);
  EXPECT_FALSE(ds->has_timestamps);
  EXPECT_EQ(report.format, InputFormat::kDelimited);
  EXPECT_EQ(report.layout,
            "delimiter \"\\t\", no header, 4 fields, user=1 item=2 rating=3 timestamp=none");
}

TEST_F(LoaderTest, AutoDetectsNarrowFiles) {
  // Two columns: implicit clicks, no timestamps; string IDs.
  Result<Dataset> clicks = LoadInteractions(Write("c.csv", "user-7,tt0114709\nuser-8,tt1\n"), {});
  ASSERT_TRUE(clicks.ok()) << clicks.status().ToString();
  EXPECT_EQ(Records(*clicks),
            (std::vector<Rec>{{"user-7", "tt0114709", 1, 0}, {"user-8", "tt1", 1, 0}}));
  EXPECT_FALSE(clicks->has_values);
  EXPECT_FALSE(clicks->has_timestamps);

  // Three columns with a header: values, no timestamps.
  LoadReport report;
  Result<Dataset> rated =
      LoadInteractions(Write("r.csv", "user,item,count\na,x,3\nb,y,1\n"), {}, &report);
  ASSERT_TRUE(rated.ok()) << rated.status().ToString();
  EXPECT_EQ(Records(*rated), (std::vector<Rec>{{"a", "x", 3, 0}, {"b", "y", 1, 0}}));
  EXPECT_TRUE(rated->has_values);
  EXPECT_FALSE(rated->has_timestamps);
  EXPECT_EQ(report.format, InputFormat::kDelimited);
  EXPECT_EQ(report.layout,
            "delimiter \",\", header, 3 fields, user=0 item=1 rating=2 timestamp=none");
}

TEST_F(LoaderTest, WrongFieldCount) {
  std::string path = Write("u.data", "1\t2\t3\t4\n1\t3\t5\n");
  EXPECT_EQ(LoadError(path), path + ":2: expected 4 fields separated by \"\\t\", got 3");
  std::string csv = Write("a.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3,4,\n");
  EXPECT_EQ(LoadError(csv), csv + ":3: expected 4 fields separated by \",\", got 5");
}

TEST_F(LoaderTest, RatingsAtTheBoundAreKept) {
  const std::string path = Write("bound.dat", "1::2::1000000::100\n1::3::-1000000::100\n");
  auto ds = LoadInteractions(path, LoadOptions{}, nullptr);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ(ds->interactions.size(), 2u);
  EXPECT_EQ(ds->interactions[0].value, 1e6f);
  EXPECT_EQ(ds->interactions[1].value, -1e6f);
}

TEST_F(LoaderTest, BadNumbers) {
  std::string path = Write("a.dat", "1::2::abc::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: non-numeric rating \"abc\"");
  path = Write("b.dat", "1::2::4::100\n1::3::4::12:00\n");
  EXPECT_EQ(LoadError(path), path + ":2: non-numeric timestamp \"12:00\"");
  path = Write("c.dat", "1::2::nan::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: rating is not finite: \"nan\"");
  path = Write("d.dat", "1::2::-inf::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: rating is not finite: \"-inf\"");
  path = Write("e.dat", "1::2::1e999::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: rating out of range \"1e999\"");
  path = Write("f.dat", "1::2::4::99999999999999999999\n");
  EXPECT_EQ(LoadError(path), path + ":1: timestamp out of range \"99999999999999999999\"");
  path = Write("g.dat", "1::2::4.5x::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: non-numeric rating \"4.5x\"");
  path = Write("h.dat", "1::2::::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: empty rating");
  // Finite but beyond kMaxInteractionValue: refused with the line, not trained into NaN.
  path = Write("i.dat", "1::2::4::100\n1::3::1e20::100\n");
  EXPECT_EQ(LoadError(path), path + ":2: rating \"1e20\" is outside [-1000000, 1000000]");
  path = Write("j.dat", "1::2::-3.4e38::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: rating \"-3.4e38\" is outside [-1000000, 1000000]");
  path = Write("k.dat", "1::2::1000000.5::100\n");
  EXPECT_EQ(LoadError(path), path + ":1: rating \"1000000.5\" is outside [-1000000, 1000000]");
}

TEST_F(LoaderTest, AutoDetectionReadsABadFirstRecordAsARecord) {
  // Only a line with no number past the ID columns is taken for a header.
  std::string path = Write("u.data", "196\t242\tabc\t881250949\n186\t302\t3\t891717742\n");
  EXPECT_EQ(LoadError(path), path + ":1: non-numeric rating \"abc\"");
}

TEST_F(LoaderTest, RandomBytesNeverCrash) {
  // Bytes biased towards separators, digits and line breaks; whatever the
  // content, the result is data or an InvalidArgument, never a crash (the
  // sanitizer build runs this too).
  const std::string alphabet = "0123456789,,\t\t::\n\n\r .-eE+nainfx\xEF\xBB\xBF\0";
  uint64_t state = 12345;
  for (int file = 0; file < 300; ++file) {
    std::string content;
    size_t len = (state >> 33) % 400;
    for (size_t i = 0; i < len; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      content += alphabet[(state >> 33) % alphabet.size()];
    }
    std::string path = Write("fuzz.txt", content);
    for (bool skip : {false, true}) {
      LoadOptions opts;
      opts.skip_bad_lines = skip;
      opts.max_line_bytes = 64;
      Result<Dataset> ds = LoadInteractions(path, opts);
      if (ds.ok()) {
        EXPECT_FALSE(ds->interactions.empty());
      } else {
        EXPECT_EQ(ds.status().code(), Status::Code::kInvalidArgument) << ds.status().ToString();
      }
    }
  }
}

TEST_F(LoaderTest, EmptyIds) {
  std::string path = Write("a.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n ,2,3,4\n");
  EXPECT_EQ(LoadError(path), path + ":3: empty user id");
  path = Write("b.csv", "userId,movieId,rating,timestamp\n1,,3,4\n");
  EXPECT_EQ(LoadError(path), path + ":2: empty item id");
}

TEST_F(LoaderTest, IdsFollowTheApiRules) {
  // Each of these would train a user or item no request can name.
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {std::string("u\0x\t2\t3\t4\n", 10), "user id contains a control character, ',' or '\"'"},
      {"1\ti\x01\t3\t4\n", "item id contains a control character, ',' or '\"'"},
      {"1\ti\x7f\t3\t4\n", "item id contains a control character, ',' or '\"'"},
      {"1\t\"2\"\t3\t4\n", "item id contains a control character, ',' or '\"'"},
      {"caf\xe9\t2\t3\t4\n", "user id is not valid UTF-8"},
      {"1\t\xc3\t3\t4\n", "item id is not valid UTF-8"},
      {std::string(257, 'u') + "\t2\t3\t4\n", "user id must be 1..256 bytes, got 257"},
  };
  for (const Case& c : cases) {
    const std::string path = Write("u.data", "1\t2\t3\t4\n" + c.line);
    EXPECT_EQ(LoadError(path), path + ":2: " + c.reason) << c.reason;
    LoadOptions opts;
    opts.skip_bad_lines = true;
    Result<Dataset> ds = LoadInteractions(path, opts);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(ds->interactions.size(), 1u);
    EXPECT_EQ(ds->users.size(), 1u);
    EXPECT_EQ(ds->items.size(), 1u);
  }
  // UTF-8 text, 256 bytes and inner blanks are IDs.
  const std::string path = Write("u.data", "caf\xc3\xa9 au lait\t\xe2\x82\xac\t3\t4\n" +
                                               std::string(256, 'u') + "\t2\t3\t4\n");
  Result<Dataset> ds = LoadInteractions(path, LoadOptions{});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->users.External(0), "caf\xc3\xa9 au lait");
  EXPECT_EQ(ds->items.External(0), "\xe2\x82\xac");
}

TEST_F(LoaderTest, OverlongLinesAreRejectedAndCanBeSkipped) {
  std::string longline = "1\t" + std::string(100, '7') + "\t3\t4\n";
  std::string path = Write("u.data", "1\t2\t3\t4\n" + longline + "2\t2\t3\t4\n");
  LoadOptions opts;
  opts.max_line_bytes = 32;
  EXPECT_EQ(LoadError(path, opts), path + ":2: line is longer than 32 bytes");

  opts.skip_bad_lines = true;
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(path, opts, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->interactions.size(), 2u);
  EXPECT_EQ(report.bad_lines_skipped, 1u);
  EXPECT_EQ(report.lines_read, 3u);
}

TEST_F(LoaderTest, LineLongerThanAReadChunkIsSkippedWithoutBuffering) {
  // 9 MiB without a newline spans several 4 MiB chunks; the limit stops it.
  std::string huge(9u << 20, 'x');
  std::string path = Write("u.data", "1\t2\t3\t4\n" + huge + "\n3\t4\t5\t6\n" + huge);
  LoadOptions opts;
  EXPECT_EQ(LoadError(path, opts), path + ":2: line is longer than 65536 bytes");
  opts.skip_bad_lines = true;
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(path, opts, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(Records(*ds), (std::vector<Rec>{{"1", "2", 3, 4}, {"3", "4", 5, 6}}));
  EXPECT_EQ(report.bad_lines_skipped, 2u);
  EXPECT_EQ(report.lines_read, 4u);
  EXPECT_EQ(report.bad_line_messages,
            (std::vector<std::string>{path + ":2: line is longer than 65536 bytes",
                                      path + ":4: line is longer than 65536 bytes"}));
}

TEST_F(LoaderTest, ManyLinesAcrossChunkBoundaries) {
  // ~7 MiB: lines straddle the 4 MiB read chunks.
  std::string content;
  const int n = 300000;
  for (int i = 0; i < n; ++i) {
    content += "user" + std::to_string(i % 1000) + "\titem" + std::to_string(i) + "\t" +
               std::to_string(1 + i % 5) + "\t" + std::to_string(1000000 + i) + "\n";
  }
  Result<Dataset> ds = LoadInteractions(Write("big.tsv", content), {});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  ASSERT_EQ(ds->interactions.size(), static_cast<size_t>(n));
  EXPECT_EQ(ds->users.size(), 1000u);
  EXPECT_EQ(ds->items.size(), static_cast<uint32_t>(n));
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const Interaction& r = ds->interactions[i];
    ASSERT_EQ(ds->items.External(r.item), "item" + std::to_string(i));
    ASSERT_EQ(r.timestamp, 1000000 + i);
    sum += r.value;
  }
  EXPECT_EQ(sum, 3.0 * n);  // values cycle 1..5
}

TEST_F(LoaderTest, MissingEmptyAndRecordlessFiles) {
  std::string missing = (dir_ / "nope.csv").string();
  Result<Dataset> r = LoadInteractions(missing, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(), missing + ": no such file");

  std::string empty = Write("empty.csv", "");
  EXPECT_EQ(LoadError(empty), empty + ": file is empty");
  std::string bom = Write("bom.csv", "\xEF\xBB\xBF");
  EXPECT_EQ(LoadError(bom), bom + ": file is empty");
  std::string blank = Write("blank.csv", "\n  \r\n\n");
  EXPECT_EQ(LoadError(blank), blank + ": no records: all 3 lines are blank");
  std::string header = Write("header.csv", "userId,movieId,rating,timestamp\n\n");
  EXPECT_EQ(LoadError(header), header + ": no records after the header line");
  EXPECT_EQ(LoadError(dir_.string()), dir_.string() + ": is a directory, not a file");
}

TEST_F(LoaderTest, HeaderProblems) {
  std::string path = Write("ratings.csv", "1,31,2.5,1260759144\n");
  LoadOptions opts;
  opts.format = InputFormat::kRatingsCsv;
  EXPECT_EQ(LoadError(path, opts),
            path + ":1: expected a header line like userId,movieId,rating,timestamp, got a record");

  path = Write("h.csv", "user,item,rating\na,b,1\n");
  opts.format = InputFormat::kDelimited;
  opts.has_header = true;
  opts.item_column = ColumnRef::Named("movie");
  EXPECT_EQ(LoadError(path, opts),
            path +
                ":1: header has no item column \"movie\" (columns: \"user\", \"item\", "
                "\"rating\")");

  opts.has_header = false;
  EXPECT_EQ(LoadError(path, opts),
            path + ":1: item column named \"movie\" but the file is read without a header line");

  opts.item_column = ColumnRef::Index(7);
  EXPECT_EQ(LoadError(path, opts), path + ":1: item column 7 is past the 3 fields of this line");

  std::string nodelim = Write("one.txt", "justoneword\n");
  EXPECT_EQ(LoadError(nodelim),
            nodelim +
                ":1: cannot detect the format: the first line has no \"::\", tab or comma "
                "separator; pass the format and delimiter explicitly");
}

TEST_F(LoaderTest, SkipBadLinesCountsAndLeavesNoTrace) {
  std::string path = Write("r.csv",
                           "userId,movieId,rating,timestamp\n"
                           "u1,i1,4,10\n"
                           "ghost,i9,four,11\n"
                           "u2,i2,3\n"
                           "u2,i1,5,12\n");
  LoadOptions opts;
  opts.skip_bad_lines = true;
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(path, opts, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(Records(*ds), (std::vector<Rec>{{"u1", "i1", 4, 10}, {"u2", "i1", 5, 12}}));
  // The bad lines' IDs were never added.
  EXPECT_FALSE(ds->users.Find("ghost").has_value());
  EXPECT_FALSE(ds->items.Find("i9").has_value());
  EXPECT_FALSE(ds->items.Find("i2").has_value());
  EXPECT_EQ(report.lines_read, 5u);
  EXPECT_EQ(report.records_loaded, 2u);
  EXPECT_EQ(report.bad_lines_skipped, 2u);
  EXPECT_EQ(report.bad_line_messages,
            (std::vector<std::string>{path + ":3: non-numeric rating \"four\"",
                                      path + ":4: expected 4 fields separated by \",\", got 3"}));

  opts.max_bad_line_messages = 1;
  ASSERT_TRUE(LoadInteractions(path, opts, &report).ok());
  EXPECT_EQ(report.bad_lines_skipped, 2u);
  EXPECT_EQ(report.bad_line_messages.size(), 1u);

  std::string all_bad = Write("bad.csv", "userId,movieId,rating,timestamp\nu1,i1,x,1\n");
  EXPECT_EQ(LoadError(all_bad, opts),
            all_bad + ": no records loaded: all 1 record lines were bad (first: " + all_bad +
                ":2: non-numeric rating \"x\")");
}

// (u1, i1) appears on lines 2, 4 and 6.
constexpr const char* kDuplicates =
    "user,item,rating,timestamp\n"
    "u1,i1,3,100\n"
    "u1,i2,4,200\n"
    "u1,i1,5,150\n"
    "u2,i1,2,300\n"
    "u1,i1,1,120\n";

TEST_F(LoaderTest, DuplicatePolicies) {
  std::string path = Write("dups.csv", kDuplicates);
  struct Case {
    DuplicatePolicy policy;
    std::vector<Rec> expected;
  };
  const std::vector<Case> cases = {
      {DuplicatePolicy::kKeepLast,
       {{"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}, {"u1", "i1", 1, 120}}},
      {DuplicatePolicy::kKeepFirst,
       {{"u1", "i1", 3, 100}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
      {DuplicatePolicy::kSum, {{"u1", "i1", 9, 150}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
      {DuplicatePolicy::kMax, {{"u1", "i1", 5, 150}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(DuplicatePolicyName(c.policy)));
    LoadOptions opts;
    opts.duplicates = c.policy;
    LoadReport report;
    Result<Dataset> ds = LoadInteractions(path, opts, &report);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    EXPECT_EQ(Records(*ds), c.expected);
    EXPECT_EQ(report.duplicates_resolved, 2u);
    EXPECT_EQ(report.records_loaded, 3u);
  }
  LoadOptions opts;
  opts.duplicates = DuplicatePolicy::kError;
  EXPECT_EQ(LoadError(path, opts), path + ":4: duplicate of line 2 (user \"u1\", item \"i1\")");
}

TEST_F(LoaderTest, ImplicitClicksSummedIntoCounts) {
  std::string path = Write("clicks.tsv", "a\tx\nb\tx\na\tx\na\ty\na\tx\n");
  LoadOptions opts;
  opts.duplicates = DuplicatePolicy::kSum;
  Result<Dataset> ds = LoadInteractions(path, opts);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_FALSE(ds->has_values);
  EXPECT_FALSE(ds->has_timestamps);
  EXPECT_EQ(Records(*ds), (std::vector<Rec>{{"a", "x", 3, 0}, {"b", "x", 1, 0}, {"a", "y", 1, 0}}));
}

TEST_F(LoaderTest, WriteThenLoadRoundTrips) {
  std::string src = Write("in.dat",
                          "alice::tt0114709::3.5::978300760\n"
                          "bob::tt0114709::0.1::-5\n"
                          "alice::tt0113497::4.123457::978300761\n");
  Result<Dataset> ds = LoadInteractions(src, {});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // Write a subset in a different order, as a split would.
  std::vector<Interaction> subset = {ds->interactions[2], ds->interactions[0]};
  std::string out = (dir_ / "train.csv").string();
  ASSERT_TRUE(WriteInteractions(out, *ds, subset).ok());
  EXPECT_FALSE(fs::exists(out + ".tmp"));

  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text,
            "user_id,item_id,rating,timestamp\n"
            "alice,tt0113497,4.123457,978300761\n"
            "alice,tt0114709,3.5,978300760\n");

  for (InputFormat format : {InputFormat::kRatingsCsv, InputFormat::kAuto}) {
    LoadOptions opts;
    opts.format = format;
    Result<Dataset> back = LoadInteractions(out, opts);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    std::vector<Rec> expected = Records(*ds);
    EXPECT_EQ(Records(*back), (std::vector<Rec>{expected[2], expected[0]}));
  }

  // Every float survives: shortest round-trip formatting.
  Dataset many;
  many.users.GetOrAdd("u");
  for (int i = 0; i < 1000; ++i) {
    uint32_t item = many.items.GetOrAdd("i" + std::to_string(i));
    many.interactions.push_back({0, item, 1.0f / static_cast<float>(i + 3), i});
  }
  ASSERT_TRUE(WriteInteractions(out, many, many.interactions).ok());
  Result<Dataset> back = LoadInteractions(out, {});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Records(*back), Records(many));
}

TEST_F(LoaderTest, WriteRefusesIdsCsvCannotCarry) {
  Dataset ds;
  ds.users.GetOrAdd("a,b");
  ds.items.GetOrAdd("x");
  std::string out = (dir_ / "o.csv").string();
  Status st = WriteInteractions(out, ds, {{0, 0, 1.0f, 0}});
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), out + ": user id \"a,b\" cannot be written to CSV");
  EXPECT_FALSE(fs::exists(out));

  st = WriteInteractions(out, ds, {{0, 3, 1.0f, 0}});
  EXPECT_EQ(st.message(), out +
                              ": record 0 refers to user 0 / item 3 but the dataset has 1 "
                              "users and 1 items");
  st = WriteInteractions((dir_ / "no" / "such" / "dir.csv").string(), ds, {});
  EXPECT_EQ(st.code(), Status::Code::kIOError);
}

TEST(LoaderNamesTest, ParseRoundTrips) {
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kUData, InputFormat::kRatingsDat,
                        InputFormat::kRatingsCsv, InputFormat::kDelimited}) {
    Result<InputFormat> parsed = ParseInputFormat(InputFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  for (DuplicatePolicy p :
       {DuplicatePolicy::kKeepLast, DuplicatePolicy::kKeepFirst, DuplicatePolicy::kSum,
        DuplicatePolicy::kMax, DuplicatePolicy::kError}) {
    Result<DuplicatePolicy> parsed = ParseDuplicatePolicy(DuplicatePolicyName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(ParseInputFormat("xml").status().message(),
            "unknown input format \"xml\" (expected auto, udata, dat, csv or delimited)");
  EXPECT_FALSE(ParseDuplicatePolicy("avg").ok());
}

TEST(LoaderMovieLensTest, LoadsMl100k) {
  const std::string path = MovieLensDataDir() + "/ml-100k/u.data";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(path, {}, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->interactions.size(), 100000u);
  EXPECT_EQ(ds->users.size(), 943u);
  EXPECT_EQ(ds->items.size(), 1682u);
  EXPECT_EQ(report.format, InputFormat::kUData);
  EXPECT_EQ(report.lines_read, 100000u);
  EXPECT_EQ(report.duplicates_resolved, 0u);
  EXPECT_TRUE(ds->has_values);
  EXPECT_TRUE(ds->has_timestamps);
  const Interaction& first = ds->interactions.front();
  EXPECT_EQ(ds->users.External(first.user), "196");
  EXPECT_EQ(ds->items.External(first.item), "242");
  EXPECT_EQ(first.value, 3.0f);
  EXPECT_EQ(first.timestamp, 881250949);
  double sum = 0;
  for (const Interaction& r : ds->interactions) sum += r.value;
  EXPECT_EQ(sum, 352986.0);  // awk '{s+=$3} END {print s}' u.data
}

}  // namespace
}  // namespace reco
