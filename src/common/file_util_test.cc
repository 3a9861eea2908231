#include "reco/file_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "../testing/temp_dir.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

class FileUtilTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::set<std::string> Entries() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    return names;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing_util::TempDir scratch_{"reco-file-util"};
  const fs::path dir_ = scratch_.path();
};

TEST_F(FileUtilTest, WriteFileAtomicallyCreatesAndReplaces) {
  ASSERT_TRUE(WriteFileAtomically(Path("a"), "first").ok());
  EXPECT_EQ(Slurp(Path("a")), "first");
  ASSERT_TRUE(WriteFileAtomically(Path("a"), std::string(100000, 'x')).ok());
  EXPECT_EQ(Slurp(Path("a")), std::string(100000, 'x'));
  ASSERT_TRUE(WriteFileAtomically(Path("a"), "").ok());
  EXPECT_EQ(Slurp(Path("a")), "");
  EXPECT_EQ(Entries(), std::set<std::string>{"a"});  // no temporary left behind
}

TEST_F(FileUtilTest, TargetIsOldOrNewNeverPartial) {
  ASSERT_TRUE(WriteFileAtomically(Path("model"), "old contents").ok());
  AtomicFileWriter w;
  ASSERT_TRUE(w.Open(Path("model")).ok());
  const std::string chunk(300000, 'n');  // larger than the write buffer: reaches the disk
  ASSERT_TRUE(w.Append(chunk).ok());
  ASSERT_TRUE(w.Append("tail").ok());
  // Mid-write the target still holds the old bytes; the new ones are beside it.
  EXPECT_EQ(Slurp(Path("model")), "old contents");
  EXPECT_TRUE(fs::exists(w.temp_path()));
  EXPECT_EQ(fs::path(w.temp_path()).parent_path(), dir_);
  EXPECT_TRUE(IsTemporaryFileName(fs::path(w.temp_path()).filename().string()));
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_EQ(Slurp(Path("model")), chunk + "tail");
  EXPECT_EQ(w.bytes_appended(), chunk.size() + 4);
  EXPECT_EQ(Entries(), std::set<std::string>{"model"});
}

TEST_F(FileUtilTest, AbandonedWriterLeavesTargetAndRemovesTemporary) {
  ASSERT_TRUE(WriteFileAtomically(Path("list.csv"), "kept").ok());
  {
    AtomicFileWriter w;
    ASSERT_TRUE(w.Open(Path("list.csv")).ok());
    ASSERT_TRUE(w.Append(std::string(200000, 'z')).ok());
  }  // no Commit: as when the producer fails half way
  EXPECT_EQ(Slurp(Path("list.csv")), "kept");
  EXPECT_EQ(Entries(), std::set<std::string>{"list.csv"});
}

TEST_F(FileUtilTest, FailedRenameRemovesTemporaryAndKeepsTarget) {
  // A directory where the file should go: the rename fails (also as root).
  fs::create_directory(Path("occupied"));
  ASSERT_TRUE(WriteFileAtomically(Path("occupied/inner"), "x").ok());
  const Status st = WriteFileAtomically(Path("occupied"), "new");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("cannot rename"), std::string::npos) << st.message();
  EXPECT_TRUE(fs::is_directory(Path("occupied")));
  EXPECT_EQ(Entries(), std::set<std::string>{"occupied"});
}

TEST_F(FileUtilTest, MissingDirectoryIsAnErrorNamingTheFile) {
  const Status st = WriteFileAtomically(Path("no/such/dir/f"), "x");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find(Path("no/such/dir/f") + ".tmp."), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("No such file or directory"), std::string::npos) << st.message();
  EXPECT_TRUE(Entries().empty());
}

TEST_F(FileUtilTest, ReadOnlyDirectoryRefusesTheWriteAndKeepsTheTarget) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ASSERT_TRUE(WriteFileAtomically(Path("f"), "before").ok());
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  const Status st = WriteFileAtomically(Path("f"), "after");
  fs::permissions(dir_, fs::perms::owner_all);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("Permission denied"), std::string::npos) << st.message();
  EXPECT_EQ(Slurp(Path("f")), "before");
  EXPECT_EQ(Entries(), std::set<std::string>{"f"});
}

TEST_F(FileUtilTest, CommitAndKeepOpenHandsOverTheDescriptor) {
  AtomicFileWriter w;
  ASSERT_TRUE(w.Open(Path("segment")).ok());
  ASSERT_TRUE(w.Append("header").ok());
  Result<int> fd = w.CommitAndKeepOpen();
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(Slurp(Path("segment")), "header");
  ASSERT_EQ(::write(*fd, "+more", 5), 5);  // appends at the end
  ASSERT_EQ(::close(*fd), 0);
  EXPECT_EQ(Slurp(Path("segment")), "header+more");
  EXPECT_EQ(Entries(), std::set<std::string>{"segment"});
}

TEST_F(FileUtilTest, WriterMisuseIsAnErrorNotACrash) {
  AtomicFileWriter w;
  EXPECT_EQ(w.Append("x").code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(w.Commit().code(), Status::Code::kFailedPrecondition);
  AtomicFileWriter once;
  ASSERT_TRUE(once.Open(Path("once")).ok());
  ASSERT_TRUE(once.Commit().ok());
  EXPECT_FALSE(once.Commit().ok());
  EXPECT_TRUE(fs::exists(Path("once")));
}

TEST_F(FileUtilTest, TwoWritersOfOneTargetUseTwoTemporaries) {
  AtomicFileWriter a, b;
  ASSERT_TRUE(a.Open(Path("t")).ok());
  ASSERT_TRUE(b.Open(Path("t")).ok());
  EXPECT_NE(a.temp_path(), b.temp_path());
  ASSERT_TRUE(a.Append("from a").ok());
  ASSERT_TRUE(b.Append("from b").ok());
  ASSERT_TRUE(a.Commit().ok());
  ASSERT_TRUE(b.Commit().ok());
  EXPECT_EQ(Slurp(Path("t")), "from b");  // last commit wins, whole
  EXPECT_EQ(Entries(), std::set<std::string>{"t"});
}

TEST_F(FileUtilTest, TemporaryFileNames) {
  EXPECT_TRUE(IsTemporaryFileName("model.rcfm.tmp.1234.0"));
  EXPECT_TRUE(IsTemporaryFileName("seg-00000001.tmp.7.42"));
  EXPECT_FALSE(IsTemporaryFileName("model.rcfm"));
  EXPECT_FALSE(IsTemporaryFileName("model.tmp"));
  EXPECT_FALSE(IsTemporaryFileName(".tmp.1.2"));
  EXPECT_FALSE(IsTemporaryFileName("a.tmp.12"));
  EXPECT_FALSE(IsTemporaryFileName("a.tmp.1x.2"));
  EXPECT_FALSE(IsTemporaryFileName("a.tmp.1."));
}

TEST_F(FileUtilTest, ReadFileToString) {
  ASSERT_TRUE(WriteFileAtomically(Path("r"), std::string("a\0b", 3)).ok());
  Result<std::string> got = ReadFileToString(Path("r"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::string("a\0b", 3));
  EXPECT_EQ(ReadFileToString(Path("missing")).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ReadFileToString(dir_.string()).status().code(), Status::Code::kIOError);
  ASSERT_TRUE(WriteFileAtomically(Path("empty"), "").ok());
  ASSERT_TRUE(ReadFileToString(Path("empty")).ok());
  EXPECT_EQ(*ReadFileToString(Path("empty")), "");
}

TEST_F(FileUtilTest, ReadFileToStringRefusesFilesOverTheLimit) {
  ASSERT_TRUE(WriteFileAtomically(Path("big"), std::string(1000, 'b')).ok());
  EXPECT_TRUE(ReadFileToString(Path("big"), 1000).ok());
  const Status st = ReadFileToString(Path("big"), 999).status();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), Path("big") + ": 1000 bytes, more than the limit of 999");
}

TEST_F(FileUtilTest, ReadFilePrefix) {
  ASSERT_TRUE(WriteFileAtomically(Path("p"), "0123456789").ok());
  EXPECT_EQ(*ReadFilePrefix(Path("p"), 4), "0123");
  EXPECT_EQ(*ReadFilePrefix(Path("p"), 100), "0123456789");
  EXPECT_EQ(*ReadFilePrefix(Path("p"), 0), "");
  EXPECT_EQ(ReadFilePrefix(Path("missing"), 4).status().code(), Status::Code::kNotFound);
}

TEST_F(FileUtilTest, WriteNewFileSyncedNeverOverwrites) {
  ASSERT_TRUE(WriteNewFileSynced(Path("n"), "one").ok());
  const Status st = WriteNewFileSynced(Path("n"), "two");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("File exists"), std::string::npos) << st.message();
  EXPECT_EQ(Slurp(Path("n")), "one");
}

TEST_F(FileUtilTest, SyncDirectory) {
  EXPECT_TRUE(SyncDirectory(dir_.string()).ok());
  EXPECT_TRUE(SyncParentDirectory(Path("anything")).ok());
  EXPECT_TRUE(SyncParentDirectory("bare_name").ok());  // the working directory
  EXPECT_EQ(SyncDirectory(Path("missing")).code(), Status::Code::kIOError);
  ASSERT_TRUE(WriteFileAtomically(Path("file"), "x").ok());
  const Status st = SyncDirectory(Path("file"));  // a file is not a directory
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("Not a directory"), std::string::npos) << st.message();
}

// Targets a rename cannot replace are written in place, appending, and are
// never unlinked: the cases behind `--json /dev/stdout`.
TEST_F(FileUtilTest, WritesAPipeInPlace) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0) << std::strerror(errno);
  const std::string target = "/proc/self/fd/" + std::to_string(fds[1]);
  ASSERT_TRUE(WriteFileAtomically(target, "streamed\n").ok());
  ::close(fds[1]);
  char buf[64] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof(buf));
  ::close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "streamed\n");
}

TEST_F(FileUtilTest, WritesThroughTheDescriptorAPathAliasesAtItsOffset) {
  // As `{ reco eval --json /dev/stdout; echo done; } > out.json`: the
  // descriptor is a regular file; the write goes after what the process wrote
  // to it, what is written to it afterwards goes after the write, and the
  // file is the same inode throughout.
  ASSERT_TRUE(WriteFileAtomically(Path("out.json"), "").ok());
  struct stat before {};
  ASSERT_EQ(::stat(Path("out.json").c_str(), &before), 0);
  const int fd = ::open(Path("out.json").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "table|", 6), 6);
  AtomicFileWriter w;
  ASSERT_TRUE(w.Open("/proc/self/fd/" + std::to_string(fd)).ok());
  EXPECT_TRUE(w.in_place());
  ASSERT_TRUE(w.Append("json|").ok());
  ASSERT_TRUE(w.Commit().ok());
  ASSERT_EQ(::write(fd, "done", 4), 4);
  ASSERT_TRUE(WriteFileAtomically("/dev/fd/" + std::to_string(fd), "|again").ok());
  ::close(fd);
  EXPECT_EQ(Slurp(Path("out.json")), "table|json|done|again");
  struct stat after {};
  ASSERT_EQ(::stat(Path("out.json").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(Entries(), std::set<std::string>{"out.json"});  // no temporary beside it
}

TEST_F(FileUtilTest, AClosedDescriptorAliasIsAnErrorNamingThePath) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  const std::string target = "/dev/fd/" + std::to_string(fds[1]);
  const Status st = WriteFileAtomically(target, "x");
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_NE(st.message().find(target), std::string::npos) << st.ToString();
}

TEST_F(FileUtilTest, AbandonedInPlaceWriteLeavesTheDeviceAlone) {
  {
    AtomicFileWriter w;
    ASSERT_TRUE(w.Open("/dev/null").ok());
    EXPECT_TRUE(w.in_place());
    ASSERT_TRUE(w.Append("dropped").ok());
  }  // destroyed without Commit
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(WriteFileAtomically("/dev/null", "x").ok());
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(FileUtilTest, ARegularFileUnderDevShmIsWrittenAtomically) {
  if (::access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no writable /dev/shm";
  const std::string target = "/dev/shm/reco-file-util-" + std::to_string(::getpid());
  AtomicFileWriter w;
  ASSERT_TRUE(w.Open(target).ok());
  EXPECT_FALSE(w.in_place());  // a real file in a real directory, not a stream
  ASSERT_TRUE(w.Append("x").ok());
  ASSERT_TRUE(w.Commit().ok());
  EXPECT_EQ(Slurp(target), "x");
  ::unlink(target.c_str());
}

TEST_F(FileUtilTest, AFifoIsWrittenInPlaceAndARegularFileIsNot) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0) << std::strerror(errno);
  // O_RDWR on a FIFO (Linux) opens without waiting for a writer.
  const int reader = ::open(Path("fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(WriteFileAtomically(Path("fifo"), "through").ok());
  char buf[16] = {};
  const ssize_t n = ::read(reader, buf, sizeof(buf));
  ::close(reader);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "through");
  AtomicFileWriter regular;
  ASSERT_TRUE(regular.Open(Path("plain")).ok());
  EXPECT_FALSE(regular.in_place());
  EXPECT_NE(regular.temp_path(), Path("plain"));
}

}  // namespace
}  // namespace reco
