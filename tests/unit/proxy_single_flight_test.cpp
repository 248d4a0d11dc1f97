// proxy/single_flight.h: one run per key however many callers, on several threads.
#include "proxy/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace berth::proxy {
namespace {

namespace asio = boost::asio;

struct Fixture {
  SingleFlight<int> flights;
  std::atomic<int> runs{0};
  std::atomic<int> ok{0};
  std::atomic<int> errors{0};

  // The work: slow enough that every caller arrives while it runs.
  http::Task<Result<int>> Work(int value) {
    runs.fetch_add(1);
    co_await Pause(std::chrono::milliseconds(50));
    if (value < 0) co_return Status::Unavailable("upstream down");
    co_return value;
  }

  http::Task<void> Caller(std::string key, int value) {
    SingleFlight<int>::Work work = [this, value]() { return Work(value); };
    auto r = co_await flights.Do(key, std::move(work));
    if (r.ok() && *r == value) ok.fetch_add(1);
    if (!r.ok()) errors.fetch_add(1);
  }
};

void RunOnThreads(asio::io_context& ioc) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  for (auto& t : threads) t.join();
}

TEST(ProxySingleFlightTest, ConcurrentCallersShareOneRun) {
  asio::io_context ioc;
  Fixture f;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(asio::make_strand(ioc), f.Caller("blob", 7), asio::detached);
  }
  RunOnThreads(ioc);
  EXPECT_EQ(f.runs.load(), 1);
  EXPECT_EQ(f.ok.load(), 20);
  EXPECT_EQ(f.flights.InFlight(), 0u);
}

TEST(ProxySingleFlightTest, KeysAreIndependentAndErrorsShared) {
  asio::io_context ioc;
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(asio::make_strand(ioc), f.Caller("a", 1), asio::detached);
    asio::co_spawn(asio::make_strand(ioc), f.Caller("b", -1), asio::detached);
  }
  RunOnThreads(ioc);
  EXPECT_EQ(f.runs.load(), 2);
  EXPECT_EQ(f.ok.load(), 5);
  EXPECT_EQ(f.errors.load(), 5);
}

TEST(ProxySingleFlightTest, ANewRunAfterTheLastEnded) {
  asio::io_context ioc;
  Fixture f;
  asio::co_spawn(ioc, f.Caller("k", 3), asio::detached);
  ioc.run();
  ioc.restart();
  asio::co_spawn(ioc, f.Caller("k", 3), asio::detached);
  ioc.run();
  EXPECT_EQ(f.runs.load(), 2);
  EXPECT_EQ(f.ok.load(), 2);
}

}  // namespace
}  // namespace berth::proxy
