// RunBlocking: runs a slow synchronous function (bcrypt) on a separate thread
// pool and resumes the calling coroutine on its own executor afterwards, so
// the I/O threads never stall on it.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/task.h"

namespace berth::http {

// (Deliberately no coroutine lambdas here: GCC 12 mis-destroys their captures.)
template <class F>
Task<std::invoke_result_t<F>> RunBlocking(boost::asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  namespace asio = boost::asio;
  auto initiation = [&pool](auto handler, F fn) {
    asio::post(pool, [handler = std::move(handler), fn = std::move(fn)]() mutable {
      R result = fn();
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(initiation, asio::use_awaitable,
                                                                                  std::move(f));
}

}  // namespace berth::http
