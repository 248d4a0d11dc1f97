#include "test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#ifndef BERTH_BINARY
#error "BERTH_BINARY must name the berth executable"
#endif

namespace berth::apitest {

// The server binary: BERTH_TEST_BINARY when set (scripts/test's sanitizer
// variants run these tests against their instrumented build), else the one
// this test binary was built with.
const char* ServerBinary() {
  const char* env = std::getenv("BERTH_TEST_BINARY");
  return env != nullptr && *env != '\0' ? env : BERTH_BINARY;
}

namespace {

using Clock = std::chrono::steady_clock;

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Decodes a waitpid status: exit code, or -1000 - signal.
int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -1000 - WTERMSIG(status);
  return -1;
}

}  // namespace

uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

TestServer::TestServer(TestServerOptions options) : options_(options) {
  char tmpl[] = "/tmp/berth-api.XXXXXX";
  if (const char* d = ::mkdtemp(tmpl); d != nullptr) dir_ = d;
}

TestServer::~TestServer() {
  if (running()) Stop(5000);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void TestServer::WriteConfig() {
  std::ofstream out(dir_ + "/config.yaml", std::ios::trunc);
  out << "server:\n"
      << "  addr: \"127.0.0.1:" << port_ << "\"\n"
      << options_.server_extra << "storage:\n"
      << (options_.storage_backend.empty() ? "  filesystem: {rootdirectory: \"" + data_dir() + "\"}\n"
                                           : options_.storage_backend)
      << options_.storage_extra << "  delete: {enabled: " << (options_.delete_enabled ? "true" : "false") << "}\n"
      << "log: " << options_.log << "\n";
  // These tests cover the registry API; authentication has its own tests.
  if (options_.auth_none) out << "auth: {mode: none}\n";
  out << options_.extra_config;
}

std::string TestServer::Log() const {
  std::ifstream in(log_path());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TestServer::LogSinceStart() const {
  std::string all = Log();
  return log_start_ <= all.size() ? all.substr(log_start_) : all;
}

size_t TestServer::CountInLog(std::string_view text) const {
  const std::string log = LogSinceStart();
  size_t n = 0;
  for (size_t pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + text.size())) ++n;
  return n;
}

bool TestServer::WaitForLog(std::string_view text, size_t count, int timeout_ms) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (CountInLog(text) < count) {
    if (Clock::now() >= deadline) return false;
    SleepMs(5);
  }
  return true;
}

std::unique_ptr<http::HttpClient> TestServer::Client() const {
  return std::make_unique<http::HttpClient>("127.0.0.1", port_);
}

std::string TestServer::Start() {
  if (dir_.empty()) return "mkdtemp failed: " + std::string(std::strerror(errno));
  if (running()) return "already running";
  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool port_in_use = false;
    // A restart first tries the port it had before.
    last_error = StartOnce(/*pick_port=*/port_ == 0 || attempt > 0, &port_in_use);
    if (last_error.empty()) return "";
    if (!port_in_use) break;  // only a lost port race is worth another try
  }
  return last_error;
}

std::string TestServer::StartOnce(bool pick_port, bool* port_in_use) {
  if (pick_port) port_ = PickFreePort();
  if (port_ == 0) return "cannot find a free port";
  WriteConfig();
  log_start_ = Log().size();
  const std::string config = dir_ + "/config.yaml";
  const std::string log = log_path();
  // The child's environment: ours, plus BERTH_TEST_HOOKS when the suite sets hooks
  // (built before fork: the child may only make async-signal-safe calls).
  std::string hooks = "BERTH_TEST_HOOKS=" + options_.test_hooks;
  for (size_t at = hooks.find("{dir}"); at != std::string::npos; at = hooks.find("{dir}", at)) {
    hooks.replace(at, 5, dir_);
  }
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("BERTH_TEST_HOOKS=", 0) != 0) env.push_back(*e);
  }
  if (!options_.test_hooks.empty()) env.push_back(const_cast<char*>(hooks.c_str()));
  env.push_back(nullptr);
  const char* const argv[] = {"berth", "serve", "--config", config.c_str(), nullptr};
  const char* binary = ServerBinary();
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed: " + std::string(std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nullfd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd >= 0) {
      ::dup2(logfd, STDOUT_FILENO);
      ::dup2(logfd, STDERR_FILENO);
    }
    if (nullfd >= 0) ::dup2(nullfd, STDIN_FILENO);
    // Do not leak the test process's sockets (client connections) into the server.
    ::close_range(3, ~0U, 0);
    ::execve(binary, const_cast<char* const*>(argv), env.data());
    _exit(127);
  }
  pid_ = pid;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  http::HttpClient probe("127.0.0.1", port_);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string text = LogSinceStart();
      *port_in_use = text.find("in use") != std::string::npos;
      return "berth exited during startup (status " + std::to_string(DecodeStatus(status)) + "); log:\n" +
             LogSinceStart();
    }
    auto r = probe.Request("GET", "/v2/");
    // 401 is "up" too when authentication is on.
    if (r.ok() &&
        (r->status == 200 || (!options_.auth_none && r->status == 401) || (options_.tls && r->status == 400))) {
      return "";
    }
    probe.Close();
    SleepMs(20);
  }
  Stop(2000);
  return "berth did not answer GET /v2/ with 200 within 10 s; log:\n" + LogSinceStart();
}

void TestServer::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int TestServer::WaitForExit(int timeout_ms) {
  if (!running()) return -1;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return DecodeStatus(status);
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return -1;
    }
    if (Clock::now() >= deadline) return -2;
    SleepMs(5);
  }
}

int TestServer::CheckAlive() {
  if (!running()) return -1;
  http::HttpClient probe("127.0.0.1", port_);
  auto r = probe.Request("GET", "/v2/");
  if (r.ok() && (r->status == 200 || r->status == 401 || (options_.tls && r->status == 400))) {
    // It answered, but it may have been hit a moment ago: a crash shows up as an exit.
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return -2;
    pid_ = -1;
    return DecodeStatus(status);
  }
  const int code = WaitForExit(2000);
  if (code != -2) return code;
  return Stop(5000) == 0 ? -3 : -1;  // alive but not answering: treat as broken
}

int TestServer::Stop(int timeout_ms) {
  if (!running()) return -1;
  ::kill(pid_, SIGTERM);
  const int code = WaitForExit(timeout_ms);
  if (code != -2) return code;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string TestServer::Restart(int* exit_code) {
  int code = Stop();
  if (exit_code != nullptr) *exit_code = code;
  return Start();
}

}  // namespace berth::apitest
