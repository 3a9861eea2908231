#include "reco/fetch.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../testing/temp_dir.h"
#include "reco/data_dir.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct ZipEntry {
  std::string path;
  std::string content;         // for files
  std::string symlink_target;  // non-empty: a symlink
  bool directory = false;
};

// Writes a real zip with libarchive, entries in the order given.
void WriteZip(const fs::path& path, const std::vector<ZipEntry>& entries) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_set_format_zip(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const ZipEntry& z : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, z.path.c_str());
    if (z.directory) {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (!z.symlink_target.empty()) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, z.symlink_target.c_str());
      archive_entry_set_perm(e, 0777);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(z.content.size()));
    }
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (!z.directory && z.symlink_target.empty()) {
      ASSERT_EQ(archive_write_data(a, z.content.data(), z.content.size()),
                static_cast<la_ssize_t>(z.content.size()));
    }
    archive_entry_free(e);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

// A one-request-at-a-time HTTP/1.1 server on 127.0.0.1, enough for libcurl.
class TestHttpServer {
 public:
  struct Response {
    int status = 200;
    std::string body;
    std::string location;  // for redirects
  };

  TestHttpServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }

  void Route(const std::string& path, Response response) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = std::move(response);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (!ec) Handle(socket);
    }
  }

  void Handle(tcp::socket& socket) {
    boost::system::error_code ec;
    asio::streambuf request;
    asio::read_until(socket, request, "\r\n\r\n", ec);
    if (ec) return;
    std::istream in(&request);
    std::string method, path;
    in >> method >> path;
    ++requests_;
    Response response{404, "not here\n", ""};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = routes_.find(path); it != routes_.end()) response = it->second;
    }
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " X\r\n";
    head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    if (!response.location.empty()) head += "Location: " + response.location + "\r\n";
    head += "Connection: close\r\n\r\n";
    asio::write(socket, asio::buffer(head + response.body), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::map<std::string, Response> routes_;
};

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A developer's proxy settings must not catch loopback requests.
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    dest_ = root_ / "data";
    zip_path_ = root_ / "ml-tiny.zip";
    WriteZip(zip_path_, {{"ml-tiny/", "", "", true},
                         {"ml-tiny/u.data", kRatings},
                         {"ml-tiny/README", "tiny data set\n"}});
    zip_bytes_ = ReadFile(zip_path_);
    zip_sha_ = Sha256OfBytes(zip_bytes_);
    server_.Route("/ml-tiny.zip", {200, zip_bytes_, ""});
  }

  FetchOptions HttpOptions(const std::string& path = "/ml-tiny.zip") {
    FetchOptions o;
    o.dataset = "ml-tiny";
    o.dest_dir = dest_.string();
    o.url = server_.Url(path);
    o.sha256 = zip_sha_;
    o.show_progress = false;
    o.connect_timeout_seconds = 5;
    o.stall_timeout_seconds = 10;
    return o;
  }
  // After a failure the destination holds nothing: no data set, no temp files.
  void ExpectDestEmpty() {
    if (fs::exists(dest_)) {
      EXPECT_EQ(ListDir(dest_), std::vector<std::string>{});
    }
  }

  static constexpr char kRatings[] = "1\t10\t5\t881250949\n2\t10\t3\t891717742\n";
  testing_util::TempDir scratch_{"reco-fetch-test"};
  const fs::path root_ = scratch_.path();
  fs::path dest_, zip_path_;
  std::string zip_bytes_, zip_sha_;
  TestHttpServer server_;
};

TEST(Sha256Test, KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256OfBytes(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256OfBytes("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CatalogueTest, OfficialArchives) {
  ASSERT_EQ(KnownDatasets().size(), 3u);
  const KnownDataset* d = FindKnownDataset("ml-100k");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->url, "https://files.grouplens.org/datasets/movielens/ml-100k.zip");
  EXPECT_EQ(d->sha256, "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229");
  EXPECT_EQ(d->size_bytes, 4924029u);
  EXPECT_NE(FindKnownDataset("ml-1m"), nullptr);
  EXPECT_NE(FindKnownDataset("ml-latest-small"), nullptr);
  EXPECT_EQ(FindKnownDataset("ml-20m"), nullptr);
}

TEST_F(FetchTest, DownloadsVerifiesAndUnpacks) {
  Result<std::string> dir = FetchDataset(HttpOptions());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, (fs::canonical(dest_) / "ml-tiny").string());
  EXPECT_EQ(ListDir(dest_), std::vector<std::string>{"ml-tiny"});  // no temp files left
  EXPECT_EQ(ListDir(*dir), (std::vector<std::string>{"README", "SHA256SUMS", "u.data"}));
  EXPECT_EQ(ReadFile(fs::path(*dir) / "u.data"), kRatings);
  EXPECT_EQ(
      ReadFile(fs::path(*dir) / "SHA256SUMS"),
      Sha256OfBytes("tiny data set\n") + "  README\n" + Sha256OfBytes(kRatings) + "  u.data\n");
  EXPECT_TRUE(VerifySha256Sums(*dir).ok());
  EXPECT_EQ(server_.requests(), 1);
}

TEST_F(FetchTest, FollowsRedirects) {
  server_.Route("/old/ml-tiny.zip", {302, "moved\n", server_.Url("/ml-tiny.zip")});
  Result<std::string> dir = FetchDataset(HttpOptions("/old/ml-tiny.zip"));
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "u.data"), kRatings);
  EXPECT_EQ(server_.requests(), 2);
}

TEST_F(FetchTest, Sha256MismatchLeavesNothing) {
  FetchOptions o = HttpOptions();
  const std::string wrong = Sha256OfBytes("something else");
  o.sha256 = wrong;
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(dir.status().message(),
            "sha256 mismatch for ml-tiny.zip: expected " + wrong + ", got " + zip_sha_);
  ExpectDestEmpty();
}

TEST_F(FetchTest, Http404NamesTheStatus) {
  Result<std::string> dir = FetchDataset(HttpOptions("/missing.zip"));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(dir.status().message(),
            "downloading " + server_.Url("/missing.zip") + ": HTTP status 404");
  ExpectDestEmpty();
}

TEST_F(FetchTest, Http500IsAnIOError) {
  server_.Route("/broken.zip", {500, "oops\n", ""});
  Result<std::string> dir = FetchDataset(HttpOptions("/broken.zip"));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kIOError);
  EXPECT_NE(dir.status().message().find("HTTP status 500"), std::string::npos);
  ExpectDestEmpty();
}

TEST_F(FetchTest, ConnectionRefused) {
  unsigned short port;
  {
    // Bind an ephemeral port, then free it: nothing listens there now.
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  FetchOptions o = HttpOptions();
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/ml-tiny.zip";
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kUnavailable) << dir.status().ToString();
  EXPECT_NE(dir.status().message().find("downloading " + o.url), std::string::npos);
  ExpectDestEmpty();
}

TEST_F(FetchTest, ResponseOverSizeCapIsRefused) {
  FetchOptions o = HttpOptions();
  o.max_download_bytes = 100;
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("larger than the 100-byte limit"), std::string::npos)
      << dir.status().message();
  ExpectDestEmpty();
}

TEST_F(FetchTest, ZipWithDotDotEntryIsRefused) {
  const fs::path evil_zip = root_ / "evil.zip";
  WriteZip(evil_zip, {{"ml-tiny/u.data", kRatings}, {"../evil", "gotcha\n"}});
  std::string bytes = ReadFile(evil_zip);
  server_.Route("/evil.zip", {200, bytes, ""});
  FetchOptions o = HttpOptions("/evil.zip");
  o.sha256 = Sha256OfBytes(bytes);
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kCorruption);
  EXPECT_NE(dir.status().message().find("refusing entry '../evil': '..' path component"),
            std::string::npos)
      << dir.status().message();
  EXPECT_FALSE(fs::exists(dest_.parent_path() / "evil"));
  EXPECT_FALSE(fs::exists(root_ / "evil"));
  ExpectDestEmpty();
}

TEST_F(FetchTest, UnpackRefusesEscapingEntries) {
  const fs::path out = root_ / "out";
  fs::create_directories(out);
  struct Case {
    ZipEntry entry;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"/tmp/abs", "x"}, "refusing entry '/tmp/abs': absolute path"},
      {{"a/../../up", "x"}, "refusing entry 'a/../../up': '..' path component"},
      {{"a/link", "", "../../etc"}, "refusing entry 'a/link': symlink to '../../etc'"},
      {{"a/abs-link", "", "/etc/passwd"}, "refusing entry 'a/abs-link': symlink to '/etc/passwd'"},
  };
  for (const Case& c : cases) {
    const fs::path zip = root_ / "case.zip";
    WriteZip(zip, {c.entry});
    Status st = UnpackArchive(zip.string(), out.string());
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << c.entry.path;
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << st.message();
  }
  EXPECT_EQ(ListDir(out), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists("/tmp/abs"));
}

TEST_F(FetchTest, UnpackAllowsLinksThatStayInside) {
  const fs::path out = root_ / "out";
  fs::create_directories(out);
  const fs::path zip = root_ / "links.zip";
  WriteZip(zip, {{"d/", "", "", true}, {"d/u.data", kRatings}, {"latest", "", "d/u.data"}});
  ASSERT_TRUE(UnpackArchive(zip.string(), out.string()).ok());
  EXPECT_TRUE(fs::is_symlink(out / "latest"));
  EXPECT_EQ(ReadFile(out / "latest"), kRatings);
}

TEST_F(FetchTest, UnpackEnforcesSizeAndEntryLimits) {
  const fs::path out = root_ / "out";
  fs::create_directories(out);
  // kRatings is 2 lines of 17 bytes, the README 14: 48 in all.
  Status st = UnpackArchive(zip_path_.string(), out.string(), {.max_bytes = 47});
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_EQ(st.message(), zip_path_.string() + ": unpacks to more than 47 bytes");
  fs::remove_all(out);
  fs::create_directories(out);
  st = UnpackArchive(zip_path_.string(), out.string(), {.max_bytes = 48, .max_entries = 2});
  EXPECT_EQ(st.message(), zip_path_.string() + ": more than 2 entries");
  fs::remove_all(out);
  fs::create_directories(out);
  EXPECT_TRUE(
      UnpackArchive(zip_path_.string(), out.string(), {.max_bytes = 48, .max_entries = 3}).ok());
}

TEST_F(FetchTest, ArchiveWithoutTopDirectoryBecomesTheDataset) {
  const fs::path flat_zip = root_ / "flat.zip";
  WriteZip(flat_zip, {{"u.data", kRatings}, {"README", "flat\n"}});
  std::string bytes = ReadFile(flat_zip);
  server_.Route("/flat.zip", {200, bytes, ""});
  FetchOptions o = HttpOptions("/flat.zip");
  o.sha256 = Sha256OfBytes(bytes);
  Result<std::string> dir = FetchDataset(o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ListDir(*dir), (std::vector<std::string>{"README", "SHA256SUMS", "u.data"}));
}

TEST_F(FetchTest, SecondFetchIsANoOpUnlessForced) {
  ASSERT_TRUE(FetchDataset(HttpOptions()).ok());
  ASSERT_EQ(server_.requests(), 1);

  Result<std::string> again = FetchDataset(HttpOptions());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(server_.requests(), 1);  // verified locally, no download

  // A damaged copy is not silently accepted, nor silently replaced.
  WriteFile(fs::path(*again) / "u.data", "tampered\n");
  Result<std::string> damaged = FetchDataset(HttpOptions());
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(damaged.status().message().find("not a verified copy (sha256 mismatch for"),
            std::string::npos)
      << damaged.status().message();
  EXPECT_NE(damaged.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(server_.requests(), 1);

  FetchOptions force = HttpOptions();
  force.force = true;
  Result<std::string> refetched = FetchDataset(force);
  ASSERT_TRUE(refetched.ok()) << refetched.status().ToString();
  EXPECT_EQ(server_.requests(), 2);
  EXPECT_EQ(ReadFile(fs::path(*refetched) / "u.data"), kRatings);
  EXPECT_EQ(ListDir(dest_), std::vector<std::string>{"ml-tiny"});
}

TEST_F(FetchTest, FailedForcedFetchKeepsTheOldCopy) {
  ASSERT_TRUE(FetchDataset(HttpOptions()).ok());
  FetchOptions o = HttpOptions("/missing.zip");
  o.force = true;
  ASSERT_FALSE(FetchDataset(o).ok());
  EXPECT_EQ(ListDir(dest_), std::vector<std::string>{"ml-tiny"});
  EXPECT_TRUE(VerifySha256Sums((dest_ / "ml-tiny").string()).ok());
}

TEST_F(FetchTest, FromDirectoryHoldingTheZip) {
  const fs::path mirror = root_ / "mirror";
  fs::create_directories(mirror);
  fs::copy_file(zip_path_, mirror / "ml-tiny.zip");
  FetchOptions o = HttpOptions("/unused");
  o.url.clear();
  o.from_dir = mirror.string();
  Result<std::string> dir = FetchDataset(o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "u.data"), kRatings);
  EXPECT_EQ(server_.requests(), 0);
  EXPECT_TRUE(fs::exists(mirror / "ml-tiny.zip"));  // the source is left alone
}

TEST_F(FetchTest, FromZipWithWrongChecksum) {
  const fs::path mirror = root_ / "mirror";
  WriteFile(mirror / "ml-tiny.zip", zip_bytes_ + "trailing junk");
  FetchOptions o = HttpOptions();
  o.from_dir = mirror.string();
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), "sha256 mismatch for " + (mirror / "ml-tiny.zip").string() +
                                        ": expected " + zip_sha_ + ", got " +
                                        Sha256OfBytes(zip_bytes_ + "trailing junk"));
  ExpectDestEmpty();
}

TEST_F(FetchTest, FromDirectoryWithSha256Sums) {
  const fs::path copy = root_ / "mirror" / "ml-tiny";
  WriteFile(copy / "u.data", kRatings);
  WriteFile(copy / "sub" / "notes.txt", "n\n");
  WriteFile(copy / "SHA256SUMS",
            Sha256OfBytes(kRatings) + "  u.data\n" + Sha256OfBytes("n\n") + " *sub/notes.txt\n");
  FetchOptions o;
  o.dataset = "ml-tiny";
  o.dest_dir = dest_.string();
  o.from_dir = (root_ / "mirror").string();
  Result<std::string> dir = FetchDataset(o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "u.data"), kRatings);
  EXPECT_EQ(ReadFile(fs::path(*dir) / "sub" / "notes.txt"), "n\n");
  EXPECT_EQ(ReadFile(fs::path(*dir) / "SHA256SUMS"), ReadFile(copy / "SHA256SUMS"));

  // Tamper with the source: detected before anything is copied.
  fs::remove_all(dest_);
  WriteFile(copy / "u.data", "1\t10\t1\t881250949\n");
  dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), "sha256 mismatch for " + (copy / "u.data").string() +
                                        ": expected " + Sha256OfBytes(kRatings) + ", got " +
                                        Sha256OfBytes("1\t10\t1\t881250949\n"));
  ExpectDestEmpty();
}

TEST_F(FetchTest, FromDirectoryWithoutSumsGetsOne) {
  const fs::path copy = root_ / "mirror" / "ml-tiny";
  WriteFile(copy / "u.data", kRatings);
  FetchOptions o;
  o.dataset = "ml-tiny";
  o.dest_dir = dest_.string();
  o.from_dir = (root_ / "mirror").string();
  Result<std::string> dir = FetchDataset(o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ReadFile(fs::path(*dir) / "SHA256SUMS"), Sha256OfBytes(kRatings) + "  u.data\n");
}

TEST_F(FetchTest, FromDirectoryMissingEverything) {
  FetchOptions o;
  o.dataset = "ml-tiny";
  o.dest_dir = dest_.string();
  o.from_dir = (root_ / "nowhere").string();
  Result<std::string> dir = FetchDataset(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Status::Code::kNotFound);
  EXPECT_NE(dir.status().message().find("neither"), std::string::npos);
  ExpectDestEmpty();
}

TEST_F(FetchTest, FromSharedMovieLensCopy) {
  const fs::path shared = MovieLensDataDir();
  if (!fs::exists(shared / "ml-100k" / "u.data")) {
    GTEST_SKIP() << "no MovieLens copy at " << shared;
  }
  FetchOptions o;
  o.dataset = "ml-100k";
  o.dest_dir = dest_.string();
  o.from_dir = shared.string();
  o.show_progress = false;
  Result<std::string> dir = FetchDataset(o);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(fs::file_size(fs::path(*dir) / "u.data"), fs::file_size(shared / "ml-100k" / "u.data"));
  EXPECT_TRUE(VerifySha256Sums(*dir).ok());
  // The second call finds it verified and does nothing.
  Result<std::string> again = FetchDataset(o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *dir);
}

TEST_F(FetchTest, BadRequestsAreRejectedUpFront) {
  FetchOptions o;
  o.dest_dir = dest_.string();
  o.dataset = "ml-5k";
  Result<std::string> r = FetchDataset(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("known: ml-100k, ml-1m, ml-latest-small"), std::string::npos)
      << r.status().message();

  o.dataset = "../etc";
  EXPECT_EQ(FetchDataset(o).status().code(), Status::Code::kInvalidArgument);

  o = HttpOptions();
  o.sha256 = "abc";
  r = FetchDataset(o);
  EXPECT_EQ(r.status().message(), "--sha256 'abc' is not 64 hexadecimal digits");

  o = HttpOptions();
  o.sha256.clear();
  r = FetchDataset(o);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(server_.requests(), 0);
}

TEST_F(FetchTest, Sha256SumsParsingErrorsNameTheLine) {
  const fs::path dir = root_ / "sums";
  WriteFile(dir / "a", "a\n");
  WriteFile(dir / "SHA256SUMS", Sha256OfBytes("a\n") + "  a\nnot a checksum line\n");
  Status st = VerifySha256Sums(dir.string());
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_EQ(st.message(), (dir / "SHA256SUMS").string() + ":2: expected '<sha256>  <file>'");

  WriteFile(dir / "SHA256SUMS", Sha256OfBytes("a\n") + "  ../a\n");
  st = VerifySha256Sums(dir.string());
  EXPECT_EQ(st.message(),
            (dir / "SHA256SUMS").string() + ":1: refusing path '../a': '..' path component");

  WriteFile(dir / "SHA256SUMS", Sha256OfBytes("b\n") + "  b\n");
  st = VerifySha256Sums(dir.string());
  EXPECT_EQ(st.message(), (dir / "SHA256SUMS").string() + ":1: listed file " +
                              (dir / "b").string() + " is missing");

  fs::remove(dir / "SHA256SUMS");
  EXPECT_EQ(VerifySha256Sums(dir.string()).code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace reco
