// SingleFlight<T>: at most one run of a piece of asynchronous work per key at
// a time (the pull-through cache's "one upstream fetch for many clients").
// The first caller for a key starts the work as a detached coroutine, so a
// caller that goes away (a client that disconnects) does not cancel it; every
// caller for that key, the first included, waits for its result. The next
// call after it finished starts a new run.
// Thread-safe; the instance must outlive the runs it started.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/task.h"
#include "util/mutex.h"
#include "util/status.h"

namespace berth::proxy {

// Suspends the calling coroutine for `d` (a waiter's poll interval).
inline http::Task<void> Pause(std::chrono::steady_clock::duration d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

template <class T>
class SingleFlight {
 public:
  using Work = std::function<http::Task<Result<T>>()>;

  // Runs `work` for `key`, or joins the run in flight for it; its result.
  http::Task<Result<T>> Do(std::string key, Work work) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      MutexLock lock(mu_);
      std::shared_ptr<Flight>& slot = flights_[key];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (leader) {
      auto ex = co_await boost::asio::this_coro::executor;
      boost::asio::co_spawn(ex, Run(key, flight, std::move(work)), boost::asio::detached);
    }
    co_return co_await Wait(flight);
  }

  // Runs in flight now.
  size_t InFlight() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return flights_.size();
  }

 private:
  struct Flight {
    Mutex mu;
    std::optional<Result<T>> result GUARDED_BY(mu);
  };

  http::Task<void> Run(std::string key, std::shared_ptr<Flight> flight, Work work) {
    std::optional<Result<T>> r;
    try {
      r.emplace(co_await work());
    } catch (const std::exception& e) {
      r.emplace(Status::IoError(std::string("unexpected error: ") + e.what()));
    }
    {
      MutexLock lock(mu_);
      flights_.erase(key);
    }
    MutexLock lock(flight->mu);
    flight->result = std::move(r);
  }

  static http::Task<Result<T>> Wait(std::shared_ptr<Flight> flight) {
    // Polled: the run and its waiters live on different strands, and a few
    // milliseconds are nothing next to an upstream round trip.
    auto interval = std::chrono::milliseconds(1);
    while (true) {
      {
        MutexLock lock(flight->mu);
        if (flight->result) co_return *flight->result;
      }
      co_await Pause(interval);
      if (interval < std::chrono::milliseconds(20)) interval *= 2;
    }
  }

  Mutex mu_;
  std::map<std::string, std::shared_ptr<Flight>> flights_ GUARDED_BY(mu_);
};

}  // namespace berth::proxy
