// Sends a byte range of an open file on a plain (non-TLS) TCP socket without
// reading it into a user-space buffer first.
//
// Two ways, chosen per response:
//  - mapped: the range is mmap'ed and written 1 MiB at a time with write().
//    On loopback and fast links this costs the least CPU per byte: the kernel
//    copies once from page-cache pages into large socket-buffer fragments,
//    which the receiver then copies cheaply. After each megabyte its page
//    table entries are dropped, so the process's RSS grows by at most 1 MiB per
//    mapped stream. The mapping is only ever read by the kernel (write,
//    madvise), never by this process: if the file were truncated under us,
//    write() fails with EFAULT instead of the process taking a SIGBUS.
//  - sendfile: used once kMaxMappedStreams mapped streams are running (their
//    RSS is bounded that way), and wherever mmap is refused. Many concurrent
//    streams amortise sendfile's per-fragment overhead well.
//
// Thread-safety: SendFileRange may run on any number of connections at once;
// each call only touches its own socket, file and mapping (plus one atomic).
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "util/status.h"

namespace berth::http {

inline constexpr int kMaxMappedStreams = 8;

// Sends n bytes of `fd` from `offset`. `timeout` bounds each wait for the
// peer to accept more bytes (re-armed at most once a second). Unsupported
// only when nothing was sent and the caller should stream the bytes itself.
boost::asio::awaitable<Status> SendFileRange(boost::beast::tcp_stream& stream, int fd, int64_t offset, int64_t n,
                                             std::chrono::steady_clock::duration timeout);

}  // namespace berth::http
