// End-to-end tests of the `reco` binary on bad (and a little good) input.
//
// Each test runs the real built binary (RECO_BINARY) in a fresh temporary
// directory with RECO_PROGRESS=0 and checks the exit status, and for failures
// the message: a clean non-zero exit naming the file, the line and the reason,
// never a signal, never a success that silently dropped data. The data files
// are tiny and hand-made, so the whole suite runs in a few seconds.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../testing/process.h"
#include "../testing/temp_dir.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using Outcome = testing_util::CapturedRun;
using testing_util::ReadFileOrEmpty;

constexpr auto kRunLimit = std::chrono::seconds(120);

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    dir_ = root_ / "work";
    fs::create_directory(dir_);
  }

  // Runs `reco args...` with the working directory dir_; stdout and stderr
  // go to files beside (not inside) it.
  Outcome Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {RECO_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    // The bound turns a hang into a failure the test reports.
    return testing_util::RunAndCapture(argv, dir_.string(), root_.string(), kRunLimit);
  }

  fs::path Path(const std::string& name) const { return dir_ / name; }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream f(Path(name), std::ios::binary);
    f << content;
    ASSERT_TRUE(f.good()) << name;
  }
  std::string Read(const std::string& name) const { return ReadFileOrEmpty(Path(name)); }

  // Trains a small explicit model on `train` into `model`; asserts success.
  void TrainModel(const std::string& train, const std::string& model) {
    Outcome r =
        Run({"train", "--train", train, "--factors", "2", "--iterations", "2", "-o", model});
    ASSERT_TRUE(r.exited && r.exit_code == 0) << r;
    ASSERT_TRUE(fs::exists(Path(model))) << r;
  }

  testing_util::TempDir tmp_{"reco-cli-test"};
  fs::path root_, dir_;  // root_ holds the captured output, dir_ the work
};

// Sanitizer builds: a report on stderr is a failure even when the exit code
// looks right (ASan exits 1 after its report, which a failure test expects).
#define EXPECT_NO_SANITIZER_REPORT(r) EXPECT_THAT((r).err, Not(HasSubstr("Sanitizer"))) << (r)

// A clean failure: a normal, non-zero exit with `needle` on stderr.
#define EXPECT_FAILS_WITH(outcome, needle)        \
  do {                                            \
    const Outcome& r_ = (outcome);                \
    EXPECT_TRUE(r_.exited) << r_;                 \
    EXPECT_NE(r_.exit_code, 0) << r_;             \
    EXPECT_THAT(r_.err, HasSubstr(needle)) << r_; \
    EXPECT_NO_SANITIZER_REPORT(r_);               \
  } while (0)

#define EXPECT_SUCCEEDS(outcome)                      \
  do {                                                \
    const Outcome& r_ = (outcome);                    \
    EXPECT_TRUE(r_.exited&& r_.exit_code == 0) << r_; \
    EXPECT_NO_SANITIZER_REPORT(r_);                   \
  } while (0)

// The arguments of a tiny training run (factors 2, iterations 2).
std::vector<std::string> TrainArgs(const std::string& train, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"train",        "--train", train, "--factors", "2",
                                   "--iterations", "2",       "-o",  "m"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// ---------------------------------------------------------------------------
// Every loader format, good and malformed.

// One input format: how records and the header are spelled, and the flags
// that select it.
struct FormatCase {
  const char* name;
  std::vector<std::string> flags;
  std::string delimiter;
  std::string header;               // the first line; empty: no header
  std::array<size_t, 4> column_of;  // columns of user, item, rating, timestamp
  std::string detected;             // LoadReport format name with --format auto

  std::string Record(const std::string& user, const std::string& item, const std::string& rating,
                     const std::string& timestamp) const {
    std::array<std::string, 4> fields;
    fields[column_of[0]] = user;
    fields[column_of[1]] = item;
    fields[column_of[2]] = rating;
    fields[column_of[3]] = timestamp;
    return fields[0] + delimiter + fields[1] + delimiter + fields[2] + delimiter + fields[3] + "\n";
  }
  std::string Head() const { return header.empty() ? "" : header + "\n"; }
  // Line number of the first record.
  int FirstRecordLine() const { return header.empty() ? 1 : 2; }

  // 4 users, 5 items, 12 ratings; line FirstRecordLine() + 2 is the third record.
  std::string GoodFile() const {
    std::string s = Head();
    const char* rows[][3] = {{"1", "10", "5"}, {"1", "11", "3"}, {"1", "12", "4"},
                             {"2", "10", "4"}, {"2", "13", "2"}, {"2", "14", "5"},
                             {"3", "11", "1"}, {"3", "12", "2"}, {"3", "14", "4"},
                             {"4", "10", "3"}, {"4", "13", "5"}, {"4", "14", "1"}};
    int ts = 881250949;
    for (auto& row : rows) s += Record(row[0], row[1], row[2], std::to_string(ts++));
    return s;
  }
  // Two good records, then `bad` as the third record line.
  std::string FileWithBadThirdRecord(const std::string& bad) const {
    return Head() + Record("1", "10", "5", "100") + Record("2", "11", "3", "101") + bad +
           Record("3", "12", "4", "102");
  }
  int ThirdRecordLine() const { return FirstRecordLine() + 2; }
};

std::ostream& operator<<(std::ostream& os, const FormatCase& c) { return os << c.name; }

const FormatCase kFormats[] = {
    {"udata", {"--format", "udata"}, "\t", "", {0, 1, 2, 3}, "udata"},
    {"dat", {"--format", "dat"}, "::", "", {0, 1, 2, 3}, "dat"},
    {"csv", {"--format", "csv"}, ",", "userId,movieId,rating,timestamp", {0, 1, 2, 3}, "csv"},
    // Columns in a different order, picked by name.
    {"delimited_named",
     {"--format", "delimited", "--delimiter", ";", "--header", "--user-col", "who", "--item-col",
      "what", "--value-col", "stars", "--timestamp-col", "when"},
     ";",
     "when;what;who;stars",
     {2, 1, 3, 0},
     "delimited"},
    // Columns picked by index, no header.
    {"delimited_index",
     {"--format", "delimited", "--delimiter", "|", "--user-col", "3", "--item-col", "0",
      "--value-col", "1", "--timestamp-col", "2"},
     "|",
     "",
     {3, 0, 1, 2},
     "delimited"},
};

class LoaderFormatTest : public CliTest, public ::testing::WithParamInterface<FormatCase> {
 protected:
  // `reco train` on `file` with this format's flags.
  Outcome Train(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = TrainArgs(file, GetParam().flags);
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }
  // "f:LINE: " for the third record line.
  std::string At(const std::string& file) const {
    return file + ":" + std::to_string(GetParam().ThirdRecordLine()) + ": ";
  }
};

TEST_P(LoaderFormatTest, GoodFileTrains) {
  Write("good", GetParam().GoodFile());
  Outcome r = Train("good");
  EXPECT_SUCCEEDS(r);
  // Nothing dropped: every user and item made it into the model.
  EXPECT_THAT(r.out, HasSubstr("explicit ALS (2 factors, 2 iterations); 4 users, 5 items)")) << r;
  EXPECT_TRUE(fs::exists(Path("m")));
}

TEST_P(LoaderFormatTest, MissingFile) { EXPECT_FAILS_WITH(Train("nosuch.txt"), "nosuch.txt"); }

TEST_P(LoaderFormatTest, EmptyFile) {
  Write("empty", "");
  EXPECT_FAILS_WITH(Train("empty"), "empty: file is empty");
}

TEST_P(LoaderFormatTest, HeaderOrBlankLinesOnly) {
  const FormatCase& c = GetParam();
  if (c.header.empty()) {
    Write("blank", "\n  \n\n");
    EXPECT_FAILS_WITH(Train("blank"), "blank: no records: all 3 lines are blank");
  } else {
    Write("header", c.Head());
    EXPECT_FAILS_WITH(Train("header"), "header: no records after the header line");
  }
}

TEST_P(LoaderFormatTest, WrongFieldCount) {
  const FormatCase& c = GetParam();
  std::string three = c.Record("9", "19", "3", "100");
  three = three.substr(0, three.rfind(c.delimiter)) + "\n";
  Write("bad", c.FileWithBadThirdRecord(three));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "expected 4 fields separated by");
  EXPECT_FAILS_WITH(Train("bad"), "got 3");
}

TEST_P(LoaderFormatTest, NonNumericRating) {
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "19", "abc", "100")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "non-numeric rating \"abc\"");
}

TEST_P(LoaderFormatTest, EmptyRating) {
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "19", "", "100")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "empty rating");
}

TEST_P(LoaderFormatTest, NonNumericTimestamp) {
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "19", "4", "12:00")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "non-numeric timestamp \"12:00\"");
}

TEST_P(LoaderFormatTest, NotFiniteRating) {
  for (const char* value : {"nan", "inf", "-inf", "NaN"}) {
    SCOPED_TRACE(value);
    Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "19", value, "100")));
    EXPECT_FAILS_WITH(Train("bad"), At("bad") + "rating is not finite: \"" + value + "\"");
  }
}

TEST_P(LoaderFormatTest, RatingOutOfRange) {
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "19", "1e999", "100")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "rating out of range \"1e999\"");
}

TEST_P(LoaderFormatTest, EmptyIds) {
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("", "19", "4", "100")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "empty user id");
  Write("bad", GetParam().FileWithBadThirdRecord(GetParam().Record("9", "", "4", "100")));
  EXPECT_FAILS_WITH(Train("bad"), At("bad") + "empty item id");
}

TEST_P(LoaderFormatTest, SkipBadLinesReportsTheCount) {
  const FormatCase& c = GetParam();
  Write("bad", c.Head() + c.Record("1", "10", "5", "100") + c.Record("1", "11", "x", "100") +
                   c.Record("2", "10", "4", "101") + c.Record("2", "11", "nan", "101") +
                   c.Record("", "12", "4", "101") + c.Record("3", "12", "2", "102"));
  Outcome strict = Train("bad");
  EXPECT_FAILS_WITH(strict, "bad:" + std::to_string(c.FirstRecordLine() + 1) + ": ");
  Outcome r = Train("bad", {"--skip-bad-lines"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.err, HasSubstr("bad: skipped 3 malformed lines")) << r;
  // The skipped lines add nothing, not even their ids: item 11 only ever
  // appeared on bad lines.
  EXPECT_THAT(r.out, HasSubstr("(2 factors, 2 iterations); 3 users, 2 items)")) << r;
}

INSTANTIATE_TEST_SUITE_P(Formats, LoaderFormatTest, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(info.param.name); });

// The named formats are recognised from the content alone.
TEST_F(CliTest, AutoDetection) {
  for (const FormatCase& c : kFormats) {
    if (c.detected == "delimited") continue;  // needs its column flags
    SCOPED_TRACE(c.name);
    Write("good", c.GoodFile());
    Outcome r = Run(TrainArgs("good"));
    EXPECT_SUCCEEDS(r);
    // The log line goes to spdlog's sink (stdout today, perhaps stderr later).
    EXPECT_THAT(r.err + r.out,
                HasSubstr("good: 12 records, 4 users, 5 items (" + c.detected + " format)"))
        << r;
  }
}

TEST_F(CliTest, CsvFormatWithoutHeaderIsRefused) {
  Write("r.csv", "1,10,5,100\n2,10,4,101\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.csv", {"--format", "csv"})),
                    "r.csv:1: expected a header line like userId,movieId,rating,timestamp");
}

TEST_F(CliTest, UnknownNamedColumn) {
  Write("r.csv", "user,item,rating\n1,10,5\n2,10,4\n");
  EXPECT_FAILS_WITH(
      Run(TrainArgs("r.csv", {"--format", "delimited", "--header", "--item-col", "movie"})),
      "header has no item column \"movie\" (columns: \"user\", \"item\", \"rating\")");
}

TEST_F(CliTest, NamedColumnWithoutHeader) {
  Write("r.csv", "1,10,5\n2,10,4\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.csv", {"--format", "delimited", "--item-col", "movie"})),
                    "item column named \"movie\" but the file is read without a header line");
}

TEST_F(CliTest, ColumnIndexPastTheFields) {
  Write("r.csv", "1,10,5\n2,10,4\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.csv", {"--format", "delimited", "--item-col", "7"})),
                    "item column 7 is past the 3 fields of this line");
  EXPECT_FAILS_WITH(
      Run(TrainArgs("r.csv", {"--format", "delimited", "--item-col", "99999999999999999999999"})),
      "--item-col 99999999999999999999999: column index out of range");
}

TEST_F(CliTest, UndetectableFormat) {
  Write("r.txt", "1 10 5 100\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.txt")), "cannot detect the format");
}

TEST_F(CliTest, TabDelimiterSpelledOut) {
  Write("r.tsv", "u\ti\n1\t10\n1\t11\n2\t10\n2\t12\n");
  EXPECT_SUCCEEDS(Run(TrainArgs(
      "r.tsv", {"--format", "delimited", "--delimiter", "\\t", "--header", "--implicit"})));
  EXPECT_SUCCEEDS(Run(TrainArgs(
      "r.tsv", {"--format", "delimited", "--delimiter", "tab", "--header", "--implicit"})));
}

TEST_F(CliTest, BinaryGarbageIsAnError) {
  std::string garbage;
  uint64_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    garbage.push_back(static_cast<char>(x >> 56));
  }
  Write("garbage", garbage);
  Outcome r = Run(TrainArgs("garbage"));
  EXPECT_FAILS_WITH(r, "garbage");
}

// ---------------------------------------------------------------------------
// Implicit input.

TEST_F(CliTest, ImplicitClicksWithoutValueColumn) {
  Write("clicks.csv", "user,item\nu1,a\nu1,b\nu2,a\nu2,c\nu3,b\nu3,c\nu4,a\nu4,d\nu1,d\n");
  Outcome r = Run(TrainArgs(
      "clicks.csv", {"--format", "delimited", "--header", "--value-col", "none", "--implicit"}));
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("implicit ALS (2 factors, 2 iterations); 4 users, 4 items)")) << r;
  // And without a timestamp there is no chronological split.
  EXPECT_FAILS_WITH(Run(TrainArgs("clicks.csv", {"--format", "delimited", "--header", "--value-col",
                                                 "none", "--implicit", "--split", "chrono"})),
                    "timestamp");
}

TEST_F(CliTest, ImplicitOnRatings) {
  Write("r.tsv", kFormats[0].GoodFile());
  Outcome r = Run(TrainArgs("r.tsv", {"--implicit", "--solver", "cholesky"}));
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("implicit ALS (2 factors, 2 iterations); 4 users, 5 items)")) << r;
}

TEST_F(CliTest, ChronoSplitNeedsTimestamps) {
  Write("r.csv", "1,10,5\n1,11,4\n2,10,3\n2,11,2\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.csv", {"--split", "chrono"})), "timestamp");
  Write("r.tsv", kFormats[0].GoodFile());
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--split", "chrono", "--timestamp-col", "none"})),
                    "timestamp");
  EXPECT_SUCCEEDS(Run(TrainArgs("r.tsv", {"--split", "chrono"})));
}

// ---------------------------------------------------------------------------
// Duplicate (user, item) pairs.

// Lines 2 and 4 rate (1, 10): 2 then 5.
const char kDuplicates[] = "1\t11\t4\t100\n1\t10\t2\t101\n2\t10\t3\t102\n1\t10\t5\t103\n";

TEST_F(CliTest, DuplicatesErrorNamesBothLines) {
  Write("dup.tsv", kDuplicates);
  EXPECT_FAILS_WITH(Run(TrainArgs("dup.tsv", {"--duplicates", "error"})),
                    "dup.tsv:4: duplicate of line 2 (user \"1\", item \"10\")");
}

TEST_F(CliTest, UnknownDuplicatePolicy) {
  Write("dup.tsv", kDuplicates);
  EXPECT_FAILS_WITH(Run(TrainArgs("dup.tsv", {"--duplicates", "newest"})), "newest");
}

// Each policy keeps one record of the pair with the value it promises; read
// back through `reco data split`, whose two outputs hold every record.
TEST_F(CliTest, DuplicatePoliciesKeepTheRightValue) {
  Write("dup.tsv", kDuplicates);
  const std::map<std::string, std::string> expected = {{"keep_last", "1,10,5,103"},
                                                       {"keep_first", "1,10,2,101"},
                                                       {"sum", "1,10,7,103"},
                                                       {"max", "1,10,5,103"}};
  for (const auto& [policy, line] : expected) {
    SCOPED_TRACE(policy);
    EXPECT_SUCCEEDS(Run(TrainArgs("dup.tsv", {"--duplicates", policy})));
    Outcome r = Run({"data", "split", "dup.tsv", "--duplicates", policy, "--split", "random",
                     "--train-ratio", "0.5"});
    EXPECT_SUCCEEDS(r);
    EXPECT_THAT(r.out, HasSubstr("split of 3 records")) << r;
    std::string both = Read("train.csv") + Read("test.csv");
    EXPECT_THAT(both, HasSubstr(line + "\n"));
    EXPECT_THAT(both, HasSubstr("1,11,4,100\n"));
    EXPECT_THAT(both, HasSubstr("2,10,3,102\n"));
  }
}

// ---------------------------------------------------------------------------
// Flags.

TEST_F(CliTest, BadFlagValues) {
  Write("r.tsv", kFormats[0].GoodFile());
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--format", "parquet"})), "parquet");
  for (const char* ratio : {"0", "1", "1.5", "-0.5", "abc", "nan"}) {
    SCOPED_TRACE(ratio);
    EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--split", "random", "--train-ratio", ratio})),
                      "--train-ratio");
  }
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--split", "alphabetical"})), "alphabetical");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--implicit", "--solver", "qr"})),
                    "--solver must be cg or cholesky, got 'qr'");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--factors", "0"})), "--factors");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--iterations", "0"})), "--iterations");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--reg", "-1"})), "--reg");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--k", "0"})), "--k");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--threads", "-1"})), "--threads");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--factors", "two"})), "--factors");
  // Both a held-out file and a split: which one validates is ambiguous.
  Write("t.tsv", "1\t13\t4\t1\n");
  EXPECT_FAILS_WITH(Run(TrainArgs("r.tsv", {"--test", "t.tsv", "--split", "random"})),
                    "--split and --test exclude each other");
  // The valid ratio in the same spelling is accepted.
  EXPECT_SUCCEEDS(Run(TrainArgs("r.tsv", {"--split", "random", "--train-ratio", "0.5"})));
}

TEST_F(CliTest, UsageErrors) {
  Write("x", "1\t10\t5\t100\n");
  EXPECT_FAILS_WITH(Run({}), "reco needs a subcommand");
  EXPECT_FAILS_WITH(Run({"frobnicate"}), "frobnicate");
  EXPECT_FAILS_WITH(Run({"train"}), "--train is required");
  EXPECT_FAILS_WITH(Run({"train", "--train", "x", "--bogus-flag"}), "--bogus-flag");
  EXPECT_FAILS_WITH(Run({"train", "--train", "x", "--factors"}), "--factors");
  EXPECT_FAILS_WITH(Run({"eval", "--test", "x"}), "--model is required");
  EXPECT_FAILS_WITH(Run({"recommend"}), "--model is required");
  EXPECT_FAILS_WITH(Run({"precompute"}), "--model is required");
  EXPECT_FAILS_WITH(Run({"data"}), "subcommand");
  EXPECT_FAILS_WITH(Run({"data", "split"}), "input is required");
  EXPECT_FAILS_WITH(Run({"data", "fetch"}), "dataset is required");
  EXPECT_FAILS_WITH(Run({"store"}), "subcommand");
  EXPECT_FAILS_WITH(Run({"serve"}), "--store is required");
  EXPECT_FAILS_WITH(Run({"loadtest"}), "--url is required");
}

// The item-item families on the command line: they train, save and
// recommend like ALS; EASE over its memory limit and an unknown family are
// clean, specific failures.
TEST_F(CliTest, ModelFamilyFlags) {
  Write("train.csv",
        "user_id,item_id,rating,timestamp\n"
        "u1,a,5,1\nu1,b,3,2\nu1,c,4,3\n"
        "u2,a,4,1\nu2,c,2,2\nu2,d,5,3\n"
        "u3,b,1,1\nu3,c,2,2\nu3,d,4,3\n");
  for (const char* family : {"ease", "knn"}) {
    SCOPED_TRACE(family);
    EXPECT_SUCCEEDS(Run({"train", "--train", "train.csv", "--family", family, "-o", "m"}));
    EXPECT_SUCCEEDS(Run({"recommend", "-m", "m", "--k", "1", "-o", "recs.csv"}));
    EXPECT_THAT(Read("recs.csv"), HasSubstr("u1,d,"));  // u1's only unseen item
  }
  EXPECT_SUCCEEDS(Run({"train", "--train", "train.csv", "--family", "knn", "--similarity",
                       "jaccard", "--half-life-days", "1", "-o", "m"}));

  // 400 items: EASE needs 12 bytes per item^2, about 1.8 MiB, over 1 MiB.
  std::string big = "user_id,item_id,rating,timestamp\n";
  for (int i = 0; i < 400; ++i)
    big += "u" + std::to_string(i % 7) + ",i" + std::to_string(i) + ",1,1\n";
  Write("big.csv", big);
  Outcome r = Run(
      {"train", "--train", "big.csv", "--family", "ease", "--max-memory", "1", "-o", "big.model"});
  EXPECT_FAILS_WITH(r, "catalogue of 400 items");
  EXPECT_THAT(r.err, HasSubstr("memory limit of 1.0 MiB (--max-memory)")) << r;
  EXPECT_FALSE(fs::exists(Path("big.model")));
  // A limit below one byte is still a limit, not the default.
  EXPECT_FAILS_WITH(Run({"train", "--train", "train.csv", "--family", "ease", "--max-memory",
                         "1e-9", "-o", "m2"}),
                    "catalogue of 4 items");

  EXPECT_FAILS_WITH(Run({"train", "--train", "train.csv", "--family", "svd", "-o", "m3"}),
                    "unknown model family 'svd' (expected als, ials, ease or knn)");
  EXPECT_FAILS_WITH(
      Run({"train", "--train", "train.csv", "--family", "knn", "--similarity", "dice"}),
      "unknown similarity 'dice' (expected cosine, jaccard or lift)");
  EXPECT_FAILS_WITH(
      Run({"train", "--train", "train.csv", "--family", "ease", "--ease-lambda", "-1"}),
      "--ease-lambda");
}

// A misspelt command is named, and usage errors exit 2.
TEST_F(CliTest, UnknownSubcommandIsNamed) {
  EXPECT_FAILS_WITH(Run({"frobnicate"}), "frobnicate");
  EXPECT_FAILS_WITH(Run({"data", "fecth", "ml-100k"}), "fecth");
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"train", "--factors", "0", "--train", "x"}).exit_code, 2);
  EXPECT_EQ(Run({"--log-level", "bogus", "data"}).exit_code, 2);
}

// Outputs that cannot be written are errors naming the path.
TEST_F(CliTest, UnwritableOutputs) {
  Write("r.tsv", kFormats[0].GoodFile());
  EXPECT_FAILS_WITH(
      Run({"train", "--train", "r.tsv", "--factors", "2", "--iterations", "2", "-o", "nodir/m"}),
      "nodir/m");
  TrainModel("r.tsv", "m");
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "m", "-o", "nodir/r.csv"}), "nodir/r.csv");
  EXPECT_FAILS_WITH(Run({"eval", "-m", "m", "--test", "r.tsv", "--json", "nodir/e.json"}),
                    "nodir/e.json");
  EXPECT_FAILS_WITH(Run({"data", "split", "r.tsv", "--train-out", "nodir/a.csv"}), "nodir/a.csv");
  // An id the CSV cannot carry breaks the API's ID rules, so the loader
  // refuses it before anything could be written as a broken line.
  Write("comma.tsv", "u,1\t10\t5\t100\nu2\t10\t4\t101\nu3\t10\t4\t101\n");
  EXPECT_FAILS_WITH(Run({"data", "split", "comma.tsv", "--split", "random"}),
                    "comma.tsv:1: user id contains a control character, ',' or '\"'");
}

TEST_F(CliTest, HelpOfEverySubcommand) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{}, {"train", "eval", "recommend", "precompute", "pipeline", "serve", "data", "store"}},
      {{"train"},
       {"--train", "--test", "--format", "--delimiter", "--duplicates", "--skip-bad-lines",
        "--split", "--train-ratio", "--implicit", "--factors", "--solver", "--threads"}},
      {{"eval"}, {"--model", "--test", "--train", "--k", "--json"}},
      {{"recommend"}, {"--model", "--users", "--seen", "--k", "--out"}},
      {{"precompute"}, {"--model", "--store", "--seen", "--k", "--similar-k"}},
      {{"pipeline"},
       {"--data", "--dataset", "--out", "--models", "--explicit-factors", "--implicit-factors"}},
      {{"data"}, {"fetch", "split"}},
      {{"data", "fetch"}, {"dataset", "--dest", "--from", "--url", "--sha256"}},
      {{"data", "split"}, {"input", "--train-out", "--test-out", "--split", "--split-seed"}},
      {{"store"}, {"versions", "activate", "delete", "prune", "show", "verify"}},
      {{"store", "verify"}, {"--store"}},
      {{"serve"}, {"--store", "--port", "--threads"}},
      {{"loadtest"}, {"--url", "--concurrency", "--duration", "--rate"}},
      {{"tune"},
       {"--train", "--out", "--families", "--trials", "--time-budget", "--metric", "--report",
        "--max-memory", "validation split carved"}},
  };
  for (const auto& [command, flags] : cases) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    SCOPED_TRACE(::testing::PrintToString(args));
    Outcome r = Run(args);
    EXPECT_SUCCEEDS(r);
    for (const auto& flag : flags) EXPECT_THAT(r.out, HasSubstr(flag)) << r;
  }
}

// Two taste groups of users on 12 items, 6 ratings each: enough to carve a
// validation split from and to rank a user's own group first.
std::string TwoGroupsCsv() {
  std::string csv = "user_id,item_id,rating,timestamp\n";
  for (int u = 0; u < 16; ++u) {
    const int base = (u % 2 == 0) ? 0 : 6;
    for (int j = 0; j < 6; ++j) {
      csv += "u" + std::to_string(u) + ",i" + std::to_string(base + (u + j) % 6) + "," +
             std::to_string(1 + (u + j) % 5) + "," + std::to_string(100 + u * 10 + j) + "\n";
    }
  }
  return csv;
}

TEST_F(CliTest, TuneWritesTrialsAndAModelEveryReaderTakes) {
  Write("train.csv", TwoGroupsCsv());
  Outcome r = Run({"tune", "--train", "train.csv", "--families", "ials", "--trials", "3",
                   "--max-iterations", "2", "--metric", "precision@3", "--report", "tuning", "-o",
                   "tuned.model", "--threads", "1"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("trial 0 ials: precision@3"));
  EXPECT_THAT(r.out, HasSubstr("trial 2 ials:"));
  EXPECT_THAT(r.out, HasSubstr("best: trial "));
  EXPECT_THAT(r.out, HasSubstr("held out of 96"));
  const std::string tsv = Read("tuning/trials.tsv");
  EXPECT_EQ(std::count(tsv.begin(), tsv.end(), '\n'), 4) << tsv;  // header + 3 trials
  EXPECT_TRUE(fs::exists(Path("tuning/trials.json")));
  // A normal model file: recommend reads it and the seen items from --train.
  Outcome rec = Run({"recommend", "-m", "tuned.model", "-k", "3", "-o", "recs.csv"});
  EXPECT_SUCCEEDS(rec);
  EXPECT_THAT(rec.out, HasSubstr("wrote top-3 for 16 users"));
  EXPECT_THAT(Read("recs.csv"), HasSubstr("\nu0,i"));
}

TEST_F(CliTest, PipelineTuneAddsTheTunedModelAndRecordsTheTrials) {
  Write("data.csv", TwoGroupsCsv());
  Outcome r = Run({"pipeline", "--data", "data.csv", "--models", "implicit", "--implicit-factors",
                   "2", "--implicit-iterations", "2", "--tune", "--tune-trials", "2",
                   "--tune-families", "ials", "--out", "out", "--threads", "1"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("implicit-als"));
  EXPECT_THAT(r.out, HasSubstr("tuned-ials"));
  EXPECT_TRUE(fs::exists(Path("out/tuned-ials.model")));
  const std::string tsv = Read("out/trials.tsv");
  EXPECT_EQ(std::count(tsv.begin(), tsv.end(), '\n'), 3) << tsv;  // header + 2 trials
  const std::string report = Read("out/report.json");
  EXPECT_THAT(report, HasSubstr("\"tune\""));
  EXPECT_THAT(report, HasSubstr("\"best_config\""));
  EXPECT_THAT(Read("out/report.html"), HasSubstr("Tuning on the validation split"));
  EXPECT_FAILS_WITH(
      Run({"pipeline", "--data", "data.csv", "--tune", "--tune-families", "svd", "--out", "out2"}),
      "--tune-families");
}

TEST_F(CliTest, TuneBadInputsFailCleanly) {
  Write("train.csv", TwoGroupsCsv());
  EXPECT_FAILS_WITH(Run({"tune", "--train", "train.csv", "--families", "ials,svd"}), "--families");
  EXPECT_FAILS_WITH(Run({"tune", "--train", "train.csv", "--metric", "auc@10"}), "unknown metric");
  EXPECT_FAILS_WITH(Run({"tune", "--train", "train.csv", "--trials", "0"}), "--trials");
  EXPECT_FAILS_WITH(Run({"tune", "--train", "train.csv", "--time-budget", "-1"}), "--time-budget");
  EXPECT_FAILS_WITH(Run({"tune", "--train", "nosuch.csv"}), "nosuch.csv");
  // Every EASE trial over a 1-byte memory limit: the search reports each
  // trial's reason and saves nothing.
  Outcome r = Run({"tune", "--train", "train.csv", "--families", "ease", "--trials", "2",
                   "--max-memory", "0.000001", "--report", "failed"});
  EXPECT_FAILS_WITH(r, "every trial failed");
  EXPECT_THAT(r.err, HasSubstr("trial 1 (ease)"));
  EXPECT_FALSE(fs::exists(Path("model.reco")));
  // ...and keeps the record of the failed trials.
  const std::string tsv = Read("failed/trials.tsv");
  EXPECT_EQ(std::count(tsv.begin(), tsv.end(), '\n'), 3) << tsv;  // header + 2 trials
  EXPECT_THAT(tsv, HasSubstr("more than the memory limit"));
  EXPECT_THAT(Read("failed/trials.json"), HasSubstr("\"best_trial\": null"));
}

// ---------------------------------------------------------------------------
// Model files.

class ModelFileTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    Write("train.tsv", kFormats[0].GoodFile());
    Write("test.tsv", "1\t13\t4\t1\n2\t11\t3\t1\n");
    TrainModel("train.tsv", "good.model");
    const std::string bytes = Read("good.model");
    ASSERT_GT(bytes.size(), 64u);
    Write("truncated.model", bytes.substr(0, bytes.size() / 2));
    Write("cut-header.model", bytes.substr(0, 6));
    std::string noise(bytes.size(), '\0');
    uint64_t x = 7;
    for (char& c : noise) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      c = static_cast<char>(x >> 56);
    }
    Write("random.model", noise);
    std::string flipped = bytes;
    flipped[flipped.size() - 5] ^= 0x10;
    Write("flipped.model", flipped);
    Write("empty.model", "");
  }
  // The three commands that read a model, given `model`.
  std::vector<std::vector<std::string>> Commands(const std::string& model) const {
    return {{"eval", "-m", model, "--test", "test.tsv", "--train", "train.tsv"},
            {"recommend", "-m", model, "--seen", "train.tsv"},
            {"precompute", "-m", model, "--seen", "train.tsv", "--store", "memory://"}};
  }
};

TEST_F(ModelFileTest, MissingModel) {
  for (const auto& args : Commands("nosuch.model")) {
    SCOPED_TRACE(args[0]);
    EXPECT_FAILS_WITH(Run(args), "nosuch.model");
  }
}

TEST_F(ModelFileTest, DamagedModels) {
  for (const char* model :
       {"truncated.model", "cut-header.model", "random.model", "flipped.model", "empty.model"}) {
    for (const auto& args : Commands(model)) {
      SCOPED_TRACE(std::string(model) + " " + args[0]);
      Outcome r = Run(args);
      EXPECT_FAILS_WITH(r, std::string("reco: error: ") + model);
    }
  }
}

TEST_F(ModelFileTest, GoodModelWorksWithEveryReader) {
  for (const auto& args : Commands("good.model")) {
    SCOPED_TRACE(args[0]);
    EXPECT_SUCCEEDS(Run(args));
  }
}

// The data files the model readers load get the loader's file:line errors too.
TEST_F(ModelFileTest, BadDataFilesBesideAGoodModel) {
  Write("bad.tsv", "1\t10\t5\t100\n1\t11\tfive\t100\n");
  EXPECT_FAILS_WITH(Run({"eval", "-m", "good.model", "--test", "bad.tsv"}),
                    "bad.tsv:2: non-numeric rating \"five\"");
  EXPECT_FAILS_WITH(Run({"eval", "-m", "good.model", "--test", "test.tsv", "--train", "bad.tsv"}),
                    "bad.tsv:2: non-numeric rating \"five\"");
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "good.model", "--seen", "bad.tsv"}),
                    "bad.tsv:2: non-numeric rating \"five\"");
  EXPECT_FAILS_WITH(
      Run({"precompute", "-m", "good.model", "--seen", "bad.tsv", "--store", "memory://"}),
      "bad.tsv:2: non-numeric rating \"five\"");
  EXPECT_FAILS_WITH(Run({"pipeline", "--data", "bad.tsv", "--out", "out"}),
                    "bad.tsv:2: non-numeric rating \"five\"");
  EXPECT_FAILS_WITH(Run({"pipeline", "--dataset", "ml-nonexistent", "--out", "out"}),
                    "ml-nonexistent");
  EXPECT_FAILS_WITH(Run({"pipeline", "--data", "train.tsv", "--models", "neither", "--out", "out"}),
                    "--models: unknown model 'neither'");
}

TEST_F(ModelFileTest, PrecomputeStores) {
  Outcome r = Run({"precompute", "-m", "good.model", "--store", "memory://", "--k", "2"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("4 user lists")) << r;
  EXPECT_FAILS_WITH(Run({"precompute", "-m", "good.model", "--store", "bogus://x"}), "bogus");
  EXPECT_FAILS_WITH(Run({"precompute", "-m", "good.model", "--store", "nowhere"}), "nowhere");
}

// `reco store verify` on an LMDB store: clean is exit 0; one flipped byte in
// one user's list is exit 1 naming that key, while other lists still show.
// A truncated data file is a clean exit 1 naming the file for every store
// command, never a signal.
TEST_F(ModelFileTest, StoreVerifyAndDamagedLmdbFiles) {
  const std::string uri = "lmdb://" + Path("store").string();
  EXPECT_SUCCEEDS(
      Run({"precompute", "-m", "good.model", "--store", uri, "--k", "2", "--version", "v1"}));
  Outcome r = Run({"store", "verify", "--store", uri});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("no damage found")) << r;

  // User 3 has seen 11, 12 and 14, so its list is items 10 and 13: a
  // 20-byte value (format, count, 2 x {length, 2-byte id, score}, checksum)
  // right after its key in an LMDB leaf node (u16 size, u16 size_hi, u16
  // flags, u16 key size, key, value). Every copy is damaged (copy-on-write
  // leaves stale ones).
  std::string file = Read("store/data.mdb");
  const std::string key = "reco/v/v1/u/3";
  int flipped = 0;
  for (size_t at = file.find(key); at != std::string::npos; at = file.find(key, at + 1)) {
    const size_t value = at + key.size();
    if (at < 8 || value + 20 > file.size() || file[at - 8] != 20 || file[at - 7] != 0 ||
        file[at - 2] != static_cast<char>(key.size()) || file[value] != 0x01 ||
        file[value + 1] != 0x02) {
      continue;
    }
    file[value + 4] = static_cast<char>(file[value + 4] ^ 0x01);  // "10" -> "00"
    ++flipped;
  }
  ASSERT_GE(flipped, 1);
  Write("store/data.mdb", file);
  r = Run({"store", "verify", "--store", uri});
  EXPECT_TRUE(r.exited && r.exit_code == 1) << r;
  EXPECT_THAT(r.out, HasSubstr("damaged: \"reco/v/v1/u/3\": list value checksum mismatch")) << r;
  EXPECT_THAT(r.err, HasSubstr("reco: error: 1 damaged keys in " + uri)) << r;
  EXPECT_FAILS_WITH(Run({"store", "show", "--store", uri, "--user", "3"}),
                    "reco/v/v1/u/3: list value checksum mismatch");
  r = Run({"store", "show", "--store", uri, "--user", "1"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("# version v1, 2 items")) << r;

  Write("store/data.mdb", file.substr(0, file.size() / 2));
  for (const char* command : {"versions", "verify"}) {
    SCOPED_TRACE(command);
    r = Run({"store", command, "--store", uri});
    EXPECT_TRUE(r.exited && r.exit_code == 1) << r;
    EXPECT_THAT(r.err, HasSubstr("reco: error: lmdb " + fs::canonical(Path("store")).string() +
                                 "/data.mdb: truncated or damaged: the file has " +
                                 std::to_string(file.size() / 2) + " bytes"))
        << r;
  }
}

// ---------------------------------------------------------------------------
// Happy paths whose outcome is known without the model: every user has
// exactly one item left unseen in train, and that item is its test item, so
// whatever the factors, each top-k list starts with the test item.

// Items a..d; user u misses exactly one in train, which is its test record.
const char kLeaveOneTrain[] =
    "user_id,item_id,rating,timestamp\n"
    "u1,a,5,1\nu1,b,3,2\nu1,c,4,3\n"
    "u2,a,4,1\nu2,b,2,2\nu2,d,5,3\n"
    "u3,b,1,1\nu3,c,2,2\nu3,d,4,3\n"
    "u4,a,3,1\nu4,c,5,2\nu4,d,1,3\n";
const char kLeaveOneTest[] =
    "user_id,item_id,rating,timestamp\n"
    "u1,d,4,9\nu2,c,3,9\nu3,a,5,9\nu4,b,2,9\n";

TEST_F(CliTest, EvalOnLeaveOneOut) {
  Write("train.csv", kLeaveOneTrain);
  Write("test.csv", kLeaveOneTest);
  TrainModel("train.csv", "m");
  // --train defaults to the file recorded in the model.
  Outcome r = Run({"eval", "-m", "m", "--test", "test.csv", "--k", "1", "--json", "e.json"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("test records 4 (0 cold")) << r;
  EXPECT_THAT(r.out, HasSubstr("precision@1   1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("recall@1      1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("ndcg@1        1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("map@1         1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("rmse")) << r;
  EXPECT_THAT(Read("e.json"), HasSubstr("\"test\": \"test.csv\""));
  // A stream target is written in place, after the table (the test's stdout
  // is a regular file here, as with `> out.txt`), never renamed over.
  r = Run({"eval", "-m", "m", "--test", "test.csv", "--k", "1", "--json", "/dev/stdout"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("precision@1   1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("\"test\": \"test.csv\"")) << r;
  EXPECT_LT(r.out.find("precision@1"), r.out.find("\"test\": ")) << r;
  EXPECT_TRUE(fs::is_symlink("/dev/stdout"));

  // At k = 2 a list has one hit in two slots (precision 1/2), and the hit
  // is first (NDCG and MAP 1).
  r = Run({"eval", "-m", "m", "--test", "test.csv", "--train", "train.csv", "--k", "2"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("precision@2   0.500000")) << r;
  EXPECT_THAT(r.out, HasSubstr("recall@2      1.000000")) << r;
  EXPECT_THAT(r.out, HasSubstr("ndcg@2        1.000000")) << r;
}

TEST_F(CliTest, EvalWithUnknownUsersAndItems) {
  Write("train.csv", kLeaveOneTrain);
  Write("test.csv", "user_id,item_id,rating,timestamp\nu1,d,4,9\nstranger,a,3,9\nu2,zzz,1,9\n");
  TrainModel("train.csv", "m");
  Outcome r = Run({"eval", "-m", "m", "--test", "test.csv"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("test records 3 (2 cold")) << r;
}

// Parses the recommendations CSV into user -> [(item, rank)].
std::map<std::string, std::vector<std::pair<std::string, int>>> ParseRecs(const std::string& csv,
                                                                          std::string* header) {
  std::map<std::string, std::vector<std::pair<std::string, int>>> recs;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, *header);
  double last_score = 0;
  std::string last_user;
  while (std::getline(in, line)) {
    std::array<std::string, 4> f;
    std::istringstream fields(line);
    for (auto& field : f) std::getline(fields, field, ',');
    const double score = std::stod(f[2]);
    if (f[0] == last_user) {
      EXPECT_LE(score, last_score) << "scores must not increase: " << line;
    }
    last_user = f[0];
    last_score = score;
    recs[f[0]].emplace_back(f[1], std::stoi(f[3]));
  }
  return recs;
}

TEST_F(CliTest, RecommendNeverRepeatsSeenItems) {
  // Items a..e. u1 saw four (one left), u2 two, u3 three (exactly two left).
  Write("train.csv",
        "user_id,item_id,rating,timestamp\n"
        "u1,a,5,1\nu1,b,3,2\nu1,c,4,3\nu1,d,2,4\n"
        "u2,a,4,1\nu2,e,2,2\n"
        "u3,b,1,1\nu3,c,2,2\nu3,d,4,3\n");
  TrainModel("train.csv", "m");
  Outcome r = Run({"recommend", "-m", "m", "--k", "2", "-o", "recs.csv"});
  EXPECT_SUCCEEDS(r);
  std::string header;
  auto recs = ParseRecs(Read("recs.csv"), &header);
  EXPECT_EQ(header, "user_id,item_id,score,rank");
  ASSERT_EQ(recs.size(), 3u);
  using P = std::pair<std::string, int>;
  EXPECT_THAT(recs["u1"], ::testing::ElementsAre(P{"e", 1}));
  ASSERT_EQ(recs["u2"].size(), 2u);
  for (const auto& [item, rank] : recs["u2"]) EXPECT_THAT(item, ::testing::AnyOf("b", "c", "d"));
  EXPECT_EQ(recs["u2"][0].second, 1);
  EXPECT_EQ(recs["u2"][1].second, 2);
  std::set<std::string> u3;
  for (const auto& p : recs["u3"]) u3.insert(p.first);
  EXPECT_EQ(u3, (std::set<std::string>{"a", "e"}));

  // A user file picks users; unknown ids are skipped with a warning, a
  // repeated id is listed once.
  Write("users.txt", "user_id\nu3\nnobody\nu3\n");
  r = Run({"recommend", "-m", "m", "--k", "1", "--users", "users.txt", "-o", "one.csv"});
  EXPECT_SUCCEEDS(r);
  recs = ParseRecs(Read("one.csv"), &header);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs.begin()->first, "u3");
  EXPECT_EQ(recs["u3"].size(), 1u);
  EXPECT_THAT(r.err + r.out, HasSubstr("1 user ids unknown to the model")) << r;

  Write("strangers.txt", "x\ny\n");
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "m", "--users", "strangers.txt"}),
                    "strangers.txt: no user known to the model");
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "m", "--users", "absent.txt"}), "absent.txt");
  fs::create_directory(Path("dir"));
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "m", "--users", "dir"}), "dir: is a directory");
  EXPECT_FAILS_WITH(Run({"recommend", "-m", "m", "--k", "0"}), "--k");
}

// A model whose training file moved away: the error says which file and how
// to recover, rather than recommending already-seen items.
TEST_F(CliTest, RecommendWhenTrainingFileIsGone) {
  Write("train.csv", kLeaveOneTrain);
  TrainModel("train.csv", "m");
  fs::remove(Path("train.csv"));
  Outcome r = Run({"recommend", "-m", "m"});
  EXPECT_FAILS_WITH(r, "train.csv");
  EXPECT_FALSE(fs::exists(Path("recommendations.csv")));
}

// ---------------------------------------------------------------------------
// reco data split / fetch.

TEST_F(CliTest, DataSplitIsReproducibleAndTrainable) {
  // 6 users with 8 ratings each over 10 items.
  std::string data;
  for (int u = 0; u < 6; ++u) {
    for (int j = 0; j < 8; ++j) {
      data += std::to_string(u) + "\t" + std::to_string((u * 3 + j) % 10) + "\t" +
              std::to_string(1 + (u + j) % 5) + "\t" + std::to_string(1000 + j) + "\n";
    }
  }
  Write("all.tsv", data);
  auto split = [&](const std::string& seed, const std::string& train, const std::string& test) {
    Outcome r = Run({"data", "split", "all.tsv", "--split-seed", seed, "--train-out", train,
                     "--test-out", test});
    EXPECT_SUCCEEDS(r);
    // 0.75 * 8 = 6 of each user's 8 in train.
    EXPECT_THAT(r.out, HasSubstr("stratified split of 48 records (0 removed by min counts): 36 "
                                 "train -> " +
                                 train + ", 12 test -> " + test))
        << r;
  };
  split("1", "a.csv", "b.csv");
  split("1", "a2.csv", "b2.csv");
  split("2", "c.csv", "d.csv");
  EXPECT_EQ(Read("a.csv"), Read("a2.csv"));
  EXPECT_EQ(Read("b.csv"), Read("b2.csv"));
  EXPECT_NE(Read("a.csv"), Read("c.csv"));
  EXPECT_THAT(Read("a.csv"), ::testing::StartsWith("user_id,item_id,rating,timestamp\n"));

  Outcome r = Run({"train", "--train", "a.csv", "--test", "b.csv", "--factors", "2", "--iterations",
                   "2", "-o", "m"});
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("test RMSE")) << r;
  EXPECT_THAT(r.out, HasSubstr("); 6 users, 10 items)")) << r;

  EXPECT_FAILS_WITH(Run({"data", "split", "all.tsv", "--train-ratio", "1"}), "--train-ratio");
  EXPECT_FAILS_WITH(Run({"data", "split", "all.tsv", "--split", "none"}), "none");
  EXPECT_FAILS_WITH(Run({"data", "split", "nosuch.tsv"}), "nosuch.tsv");
  EXPECT_FAILS_WITH(Run({"data", "split", "all.tsv", "--min-user-ratings", "100"}), "");
}

TEST_F(CliTest, DataFetchErrors) {
  Outcome r = Run({"data", "fetch", "ml-nonexistent", "--dest", "d"});
  EXPECT_FAILS_WITH(r, "unknown data set 'ml-nonexistent'");
  EXPECT_THAT(r.err, HasSubstr("ml-100k")) << r;
  EXPECT_FAILS_WITH(Run({"data", "fetch", "ml-100k", "--dest", "d", "--from", "no-such-dir"}),
                    "no-such-dir");
  EXPECT_FAILS_WITH(Run({"data", "fetch", "../evil", "--dest", "d"}), "not a data set name");
  EXPECT_FAILS_WITH(Run({"data", "fetch", "ml-100k", "--dest", "d", "--sha256", "xyz"}),
                    "--sha256 'xyz' is not 64 hexadecimal digits");
  EXPECT_FALSE(fs::exists(Path("d/ml-100k")));
}

}  // namespace
}  // namespace reco
