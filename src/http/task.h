// Task<T>: the coroutine type of every asynchronous function (an Asio awaitable).
#pragma once

#include <boost/asio/awaitable.hpp>

namespace berth::http {

template <class T>
using Task = boost::asio::awaitable<T>;

}  // namespace berth::http
