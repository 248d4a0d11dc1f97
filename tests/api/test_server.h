// TestServer: runs the real `berth` binary (BERTH_BINARY, or BERTH_TEST_BINARY
// from the environment) on 127.0.0.1 for the HTTP API tests, in its own
// temporary directory:
//
//   <tmp>/config.yaml   generated configuration
//   <tmp>/data          storage root
//   <tmp>/server.log    the server's stderr (and stdout)
//
// The port is chosen by binding 127.0.0.1:0, reading the port and closing the
// socket; a start that loses that race is retried on a new port. Stop() sends
// SIGTERM and reports how the process ended, so tests can assert a graceful
// shutdown (exit code 0). Restart() stops and starts again on the same data
// directory. The destructor stops a running server (SIGKILL after a grace
// period) and removes the temporary directory.
//
// ServerSuite<T> is a GoogleTest fixture base that shares one server per test
// suite (SetUpTestSuite/TearDownTestSuite) and hands each test a fresh client.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "http/client.h"

namespace berth::apitest {

// The berth binary the tests run (for its CLI too).
const char* ServerBinary();

struct TestServerOptions {
  bool delete_enabled = true;
  // The API tests speak to the registry anonymously: "auth: {mode: none}".
  // Set to false to get the default (token) authentication.
  bool auth_none = true;
  // Extra top-level YAML appended to the generated config.
  std::string extra_config;
  // Extra lines inside the server: section (indented two spaces).
  std::string server_extra;
  // The server speaks TLS (server_extra configures it): it counts as up when
  // plain HTTP gets its "HTTP request to an HTTPS server" 400.
  bool tls = false;
  // The log: section (its stderr lands in server.log either way).
  std::string log = "{level: warn, accesslog: false}";
  // Lines replacing the storage backend line ("  filesystem: {...}\n"), e.g. an s3: section.
  std::string storage_backend;
  // Extra lines inside the storage: section (indented two spaces).
  std::string storage_extra;
  // BERTH_TEST_HOOKS for the server process (src/util/test_hooks.h); empty = none.
  // "{dir}" stands for the server's temporary directory (for hold files).
  std::string test_hooks;
};

class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Starts the server and waits (10 s at most) until GET /v2/ answers 200.
  // Returns "" on success, otherwise a description of the failure including the log.
  std::string Start();
  // SIGTERM, then waits up to `timeout_ms` for the process to exit. Returns its
  // exit code; -1000 - signal when it died of a signal, -1 when it had to be
  // killed after the timeout (or was not running).
  int Stop(int timeout_ms = 15000);
  // Sends `sig` to the server process.
  void Signal(int sig);
  // Waits up to `timeout_ms` for the process to exit by itself (no signal sent).
  // Returns its exit code as Stop() does, or -2 when it is still running.
  int WaitForExit(int timeout_ms);
  // -2 while the server answers GET /v2/; otherwise waits for the process to
  // end and returns its exit status as Stop() does.
  int CheckAlive();
  // Stop() + Start() on the same data directory, on the same port when it is
  // still free. Returns "" on success.
  std::string Restart(int* exit_code = nullptr);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/server.log"; }
  std::string Log() const;
  // The log written since the last Start().
  std::string LogSinceStart() const;
  // How often `text` occurs in the log written since the last Start().
  size_t CountInLog(std::string_view text) const;
  // Waits up to `timeout_ms` until `text` occurs at least `count` times since
  // the last Start(); false on timeout.
  bool WaitForLog(std::string_view text, size_t count, int timeout_ms) const;

  // A new client connected to this server.
  std::unique_ptr<http::HttpClient> Client() const;

 private:
  std::string StartOnce(bool pick_port, bool* port_in_use);
  void WriteConfig();

  TestServerOptions options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  size_t log_start_ = 0;  // size of the log when the current process was started
};

// A currently unused TCP port on 127.0.0.1 (bind to port 0, read it, close).
uint16_t PickFreePort();

// GoogleTest fixture sharing one server per suite. `Derived` may define
//   static TestServerOptions ServerOptions();
// to configure it.
template <class Derived>
class ServerSuite : public ::testing::Test {
 public:
  static TestServerOptions ServerOptions() { return {}; }

  static void SetUpTestSuite() {
    server_ = std::make_unique<TestServer>(Derived::ServerOptions());
    std::string err = server_->Start();
    if (!err.empty()) {
      ADD_FAILURE() << "cannot start berth: " << err;
      server_.reset();
    }
  }

  static void TearDownTestSuite() {
    if (!server_) return;
    if (!server_->running()) {  // a test already stopped (and checked) it
      server_.reset();
      return;
    }
    const int code = server_->Stop();
    EXPECT_EQ(code, 0) << "berth did not shut down gracefully on SIGTERM; log:\n" << server_->LogSinceStart();
    server_.reset();
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(server_ && server_->running()) << "the suite's berth server is not running";
    client_ = server_->Client();
  }

  // A server that died during a test (a crash) fails that test, and is
  // restarted on the same data so that the rest of the suite still runs.
  void TearDown() override {
    client_.reset();
    if (!server_ || !server_->running()) return;  // stopped on purpose by the test
    const int code = server_->CheckAlive();
    if (code == -2) return;
    ADD_FAILURE() << "berth died during this test (exit status " << code << "; -1000-N = killed by signal N); log:\n"
                  << server_->LogSinceStart();
    const std::string err = server_->Start();
    if (!err.empty()) ADD_FAILURE() << "cannot restart berth: " << err;
  }

  http::HttpClient& client() { return *client_; }
  static TestServer& server() { return *server_; }

  static inline std::unique_ptr<TestServer> server_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace berth::apitest
