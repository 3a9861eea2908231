#include "serve_process.h"

#include <charconv>
#include <filesystem>
#include <thread>

namespace reco::testing_util {
namespace {

// The port in the file, 0 while there is none. The server renames the file
// into place, so once it exists it holds the whole number.
uint16_t ReadPort(const std::string& path) {
  const std::string text = ReadFileOrEmpty(path);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || port == 0 || port > 65535) return 0;
  (void)end;
  return static_cast<uint16_t>(port);
}

}  // namespace

Result<ServeProcess> ServeProcess::Start(std::vector<std::string> command, ServeOptions options) {
  if (options.log_file.empty() || options.port_file.empty()) {
    return Status::InvalidArgument("ServeProcess: log_file and port_file are required");
  }
  std::error_code ec;
  std::filesystem::remove(options.port_file, ec);
  for (const char* flag : {"--port", "0", "--port-file"}) command.emplace_back(flag);
  command.push_back(options.port_file);
  SpawnOptions spawn = options.spawn;
  spawn.stdout_file = options.log_file;
  spawn.stderr_file.clear();
  spawn.append = true;
  RECO_ASSIGN_OR_RETURN(ChildProcess child, SpawnProcess(command, spawn));

  const auto deadline = std::chrono::steady_clock::now() + options.start_limit;
  while (true) {
    if (const uint16_t port = ReadPort(options.port_file); port != 0) {
      return ServeProcess(std::move(child), port, options.log_file);
    }
    if (auto ended = child.Poll()) {
      return Status::Unavailable(command[0] + " exited (" + ended->ToString() +
                                 ") before writing its port file; log:\n" +
                                 ReadFileOrEmpty(options.log_file));
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (void)child.Kill();
  return Status::Unavailable(command[0] + " wrote no port file within " +
                             std::to_string(options.start_limit.count()) + " ms; log:\n" +
                             ReadFileOrEmpty(options.log_file));
}

ExitStatus ServeProcess::Stop(std::chrono::milliseconds grace) { return child_.Terminate(grace); }

}  // namespace reco::testing_util
