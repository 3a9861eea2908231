#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "process.h"
#include "serve_process.h"
#include "temp_dir.h"

namespace reco::testing_util {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Bounds for children that should end at once; only a broken helper waits
// this long.
constexpr auto kLimit = seconds(30);

TEST(TempDirTest, IsAFreshDirectoryRemovedWithItsContents) {
  std::string path;
  {
    TempDir dir("reco-tempdir-test");
    path = dir.path();
    ASSERT_TRUE(fs::is_directory(path));
    EXPECT_TRUE(fs::is_empty(path));
    EXPECT_NE(fs::path(path).filename().string().find("reco-tempdir-test-"), std::string::npos);
    EXPECT_EQ(dir.PathOf("a.txt"), path + "/a.txt");
    fs::create_directories(dir.PathOf("sub/deeper"));
    std::ofstream(dir.PathOf("sub/deeper/f")) << "x";
    // A directory the test made unreadable is removed too.
    fs::permissions(dir.PathOf("sub"), fs::perms::none);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TempDirTest, TwoAreNeverTheSame) {
  TempDir a, b;
  EXPECT_NE(a.path(), b.path());
}

TEST(SpawnProcessTest, ReportsTheExitCode) {
  for (int code : {0, 1, 3, 42}) {
    auto child = SpawnProcess({"/bin/sh", "-c", "exit " + std::to_string(code)});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    const ExitStatus s = child->Wait(kLimit);
    EXPECT_TRUE(s.exited);
    EXPECT_FALSE(s.timed_out);
    EXPECT_EQ(s.exit_code, code);
    EXPECT_EQ(s.success(), code == 0);
    EXPECT_EQ(s.ToString(), "exit " + std::to_string(code));
    EXPECT_EQ(child->pid(), -1) << "reaped";
  }
}

TEST(SpawnProcessTest, ReportsTheSignal) {
  auto child = SpawnProcess({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  const ExitStatus s = child->Wait(kLimit);
  EXPECT_FALSE(s.exited);
  EXPECT_EQ(s.signal, SIGTERM);
}

TEST(SpawnProcessTest, WaitKillsAChildThatOutlivesTheBound) {
  auto child = SpawnProcess({"sleep", "600"});  // found through $PATH
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  const pid_t pid = child->pid();
  const ExitStatus s = child->Wait(milliseconds(50));
  EXPECT_TRUE(s.timed_out);
  EXPECT_FALSE(s.exited);
  EXPECT_EQ(s.signal, SIGKILL);
  EXPECT_EQ(s.ToString(), "timed out, then signal 9 (Killed)");
  EXPECT_NE(kill(pid, 0), 0) << "the child is gone (reaped)";
}

TEST(SpawnProcessTest, DestructionKillsARunningChild) {
  pid_t pid;
  {
    auto child = SpawnProcess({"sleep", "600"});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    pid = child->pid();
    EXPECT_TRUE(child->running());
  }
  EXPECT_NE(kill(pid, 0), 0);
}

TEST(SpawnProcessTest, TerminateEscalatesToSigkillForAChildIgnoringSigterm) {
  TempDir dir;
  // The child says when its trap is set, so SIGTERM cannot arrive before it.
  auto child = SpawnProcess({"/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 600"},
                            {.stdout_file = dir.PathOf("out")});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  for (int i = 0; i < 6000 && ReadFileOrEmpty(dir.PathOf("out")).empty(); ++i) {
    usleep(5000);
  }
  ASSERT_EQ(ReadFileOrEmpty(dir.PathOf("out")), "ready\n");
  const ExitStatus s = child->Terminate(milliseconds(100));
  EXPECT_TRUE(s.timed_out);
  EXPECT_EQ(s.signal, SIGKILL);
}

TEST(SpawnProcessTest, CapturesOutputWorkingDirectoryAndEnvironment) {
  TempDir dir;
  fs::create_directory(dir.PathOf("work"));
  SpawnOptions options;
  options.working_dir = dir.PathOf("work");
  options.stdout_file = dir.PathOf("out");
  options.stderr_file = dir.PathOf("err");
  options.env = {"RECO_TESTING_TEST=value"};
  auto s = RunProcess({"/bin/sh", "-c", "pwd; echo \"$RECO_TESTING_TEST\"; echo oops >&2"}, options,
                      kLimit);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->success());
  EXPECT_EQ(ReadFileOrEmpty(dir.PathOf("out")),
            fs::canonical(dir.PathOf("work")).string() + "\nvalue\n");
  EXPECT_EQ(ReadFileOrEmpty(dir.PathOf("err")), "oops\n");

  // Without stderr_file both streams share one file; append keeps earlier runs.
  options.stderr_file.clear();
  options.append = true;
  ASSERT_TRUE(RunProcess({"/bin/sh", "-c", "echo two >&2"}, options, kLimit).ok());
  EXPECT_EQ(ReadFileOrEmpty(dir.PathOf("out")),
            fs::canonical(dir.PathOf("work")).string() + "\nvalue\ntwo\n");
}

TEST(SpawnProcessTest, AProgramThatCannotStartIsAnError) {
  auto missing = SpawnProcess({"/nonexistent/reco-no-such-program"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("execve /nonexistent/reco-no-such-program"),
            std::string::npos)
      << missing.status().ToString();
  auto bad_dir = SpawnProcess({"/bin/true"}, {.working_dir = "/nonexistent/dir"});
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_NE(bad_dir.status().message().find("chdir /nonexistent/dir"), std::string::npos);
}

TEST(SpawnProcessTest, RunProcessToSuccessQuotesTheOutputOfAFailure) {
  TempDir dir;
  const SpawnOptions options{.stdout_file = dir.PathOf("log")};
  EXPECT_TRUE(RunProcessToSuccess({"/bin/sh", "-c", "echo fine"}, options, kLimit).ok());
  const Status st = RunProcessToSuccess({"/bin/sh", "-c", "echo why >&2; exit 2"}, options, kLimit);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "/bin/sh: exit 2: why\n");
}

TEST(SpawnProcessTest, RunAndCaptureReadsBothStreams) {
  TempDir dir;
  const CapturedRun run =
      RunAndCapture({"/bin/sh", "-c", "echo \"progress=$RECO_PROGRESS\"; echo bad >&2; exit 1"},
                    dir.path(), dir.path(), kLimit);
  EXPECT_TRUE(run.exited);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "progress=0\n");
  EXPECT_EQ(run.err, "bad\n");
  std::ostringstream text;
  text << run;
  EXPECT_EQ(text.str(), "exit 1\n--- stdout ---\nprogress=0\n--- stderr ---\nbad\n");
}

TEST(ForkChildTest, RunsTheBodyAndExitsWithItsResult) {
  auto child = ForkChild([] { return 7; });
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  const ExitStatus s = child->Wait(kLimit);
  EXPECT_TRUE(s.exited);
  EXPECT_EQ(s.exit_code, 7);
}

// A stand-in for `reco serve`: writes a port file the way it does (to a
// temporary name, then renamed), then serves until SIGTERM. $4 is the port
// file: ServeProcess appends --port 0 --port-file FILE. The SIGTERM handler
// is in place before the port file exists, as in reco serve: a Stop() right
// after Start() must find it.
constexpr const char* kFakeServer =
    "trap 'echo draining; exit 0' TERM; echo \"starting $1 $2\"; "
    "printf 4242 > \"$4.tmp\" && mv \"$4.tmp\" \"$4\"; while :; do sleep 0.01; done";

TEST(ServeProcessTest, StartsFindsThePortAndStopsWithSigterm) {
  TempDir dir;
  ServeOptions options{.log_file = dir.PathOf("log"), .port_file = dir.PathOf("port")};
  auto server = ServeProcess::Start({"/bin/sh", "-c", kFakeServer, "fake-serve"}, options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ(server->port(), 4242);
  EXPECT_TRUE(server->running());
  const ExitStatus s = server->Stop(kLimit);
  EXPECT_TRUE(s.success()) << s.ToString();
  EXPECT_FALSE(s.timed_out);
  EXPECT_EQ(server->log(), "starting --port 0\ndraining\n");
  EXPECT_FALSE(server->running());
}

TEST(ServeProcessTest, AServerThatExitsFirstIsAnErrorQuotingItsLog) {
  TempDir dir;
  ServeOptions options{.log_file = dir.PathOf("log"), .port_file = dir.PathOf("port")};
  auto server =
      ServeProcess::Start({"/bin/sh", "-c", "echo 'bad flag' >&2; exit 2", "serve"}, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("exited (exit 2)"), std::string::npos);
  EXPECT_NE(server.status().message().find("bad flag"), std::string::npos);
}

TEST(ServeProcessTest, AServerThatNeverWritesItsPortIsKilledAtTheBound) {
  TempDir dir;
  ServeOptions options{.log_file = dir.PathOf("log"),
                       .port_file = dir.PathOf("port"),
                       .start_limit = milliseconds(100)};
  auto server = ServeProcess::Start({"/bin/sh", "-c", "exec sleep 600", "serve"}, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("wrote no port file within 100 ms"), std::string::npos)
      << server.status().ToString();
}

}  // namespace
}  // namespace reco::testing_util
