#include "events/dispatcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include <boost/asio/ssl/context.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http/blocking_socket.h"
#include "http/tls_profile.h"
#include "observability/event_metrics.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/random.h"

namespace berth::events {

bool Ignored(const config::NotificationEndpointConfig& endpoint, const Summary& event) {
  for (const std::string& a : endpoint.ignored_actions) {
    if (a == event.action) return true;
  }
  for (const std::string& m : endpoint.ignored_media_types) {
    if (m == event.media_type) return true;
  }
  return false;
}

std::chrono::milliseconds RetryDelay(int64_t failures, int64_t threshold, std::chrono::milliseconds backoff) {
  // Below the threshold distribution retries at once; a short pause keeps a
  // refusing endpoint from being hammered in a tight loop.
  if (failures < threshold) return std::min(backoff, std::chrono::milliseconds(50));
  const int64_t doublings = std::min<int64_t>(failures - threshold, 6);  // up to 64x
  return backoff * (int64_t{1} << doublings);
}

std::string Signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + HexEncode(mac, len);
}

Result<std::string> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot read secret_file " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Invalid("secret_file " + path + " must not be accessible by group or others (chmod 600)");
  }
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && s.size() < (1 << 20)) s.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  if (s.empty()) return Status::Invalid("secret_file " + path + " is empty");
  return s;
}

Result<EndpointUrl> ParseEndpointUrl(const std::string& url) {
  EndpointUrl u;
  std::string_view rest = url;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    u.tls = true;
  } else {
    return Status::Invalid("endpoint url must start with http:// or https://: " + url);
  }
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!u.target.empty() && u.target[0] == '?') u.target = "/" + u.target;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::Invalid("bad endpoint url: " + url);
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::Invalid("bad endpoint url: " + url);
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return Status::Invalid("bad endpoint url: " + url);
  u.port = u.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return Status::Invalid("bad port in endpoint url: " + url);
    }
    u.port = static_cast<uint16_t>(v);
  }
  return u;
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::Start(const config::NotificationsConfig& config, std::string queue_dir,
                                                      std::string source_addr) {
  std::unique_ptr<Dispatcher> d(new Dispatcher());
  d->instance_id_ = RandomUuid();
  d->source_addr_ = std::move(source_addr);
  QueueOptions qo;
  qo.dir = std::move(queue_dir);
  qo.max_bytes = config.max_queue_bytes;
  qo.lazy_sync = std::chrono::milliseconds(config.pull_sync_ms);
  for (const auto& e : config.endpoints) {
    if (e.disabled) continue;
    Endpoint ep;
    ep.config = e;
    auto url = ParseEndpointUrl(e.url);
    if (!url.ok()) return url.status();
    ep.url = *url;
    if (!e.secret_file.empty()) {
      auto secret = ReadSecretFile(e.secret_file);
      if (!secret.ok()) return Status::Invalid("notifications endpoint " + e.name + ": " + secret.status().message());
      ep.secret = std::move(*secret);
    }
    ep.index = d->endpoints_.size();
    qo.endpoints.push_back(e.name);
    d->endpoints_.push_back(std::move(ep));
  }
  qo.on_drop = [](size_t ep, uint64_t n) { obs::EventStats().AddDropped(ep, n); };
  auto queue = EventQueue::Open(std::move(qo));
  if (!queue.ok()) return queue.status();
  d->queue_ = std::move(*queue);
  std::vector<std::string> names;
  for (const Endpoint& ep : d->endpoints_) names.push_back(ep.config.name);
  EventQueue* q = d->queue_.get();
  obs::EventStats().SetEndpoints(names, [q](size_t i) { return q->Pending(i); });
  for (const Endpoint& ep : d->endpoints_) {
    d->threads_.emplace_back([p = d.get(), &ep] { p->DeliveryLoop(ep); });
  }
  return d;
}

Dispatcher::~Dispatcher() {
  Stop();
  obs::EventStats().SetEndpoints({}, nullptr);
  sync_pool_.join();
}

void Dispatcher::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  stop_cv_.NotifyAll();
  if (queue_) queue_->Stop();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Result<uint64_t> Dispatcher::Write(Event* e, Durability d) {
  Stamp(e);
  e->source_addr = source_addr_;
  e->source_instance_id = instance_id_;
  return queue_->Write(ToRecord(*e), d);
}

bool Dispatcher::Wants(std::string_view action) const {
  for (const Endpoint& ep : endpoints_) {
    bool ignored = false;
    for (const std::string& a : ep.config.ignored_actions) ignored = ignored || a == action;
    if (!ignored) return true;
  }
  return false;
}

Status Dispatcher::WaitDurable(uint64_t offset) { return queue_->WaitDurable(offset); }

bool Dispatcher::Sleep(std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  MutexLock lock(mu_);
  while (!stopping_ && std::chrono::steady_clock::now() < deadline) stop_cv_.WaitUntil(mu_, deadline);
  return !stopping_;
}

bool Dispatcher::Stopping() {
  MutexLock lock(mu_);
  return stopping_;
}

void Dispatcher::DeliveryLoop(const Endpoint& ep) {
  constexpr size_t kReadBatch = 256;  // records read (and filtered) at a time
  constexpr size_t kSendBatch = 32;   // events in one envelope
  int64_t failures = 0;
  const auto backoff = std::chrono::milliseconds(ep.config.backoff_ms);
  while (!Stopping()) {
    if (!queue_->WaitForRecords(ep.index, std::chrono::seconds(1))) continue;
    auto records = queue_->Read(ep.index, kReadBatch);
    if (!records.ok() || records->empty()) {
      if (!Sleep(std::chrono::milliseconds(100))) return;
      continue;
    }
    const size_t n = records->size();
    size_t done = 0;  // records handled: delivered or passed over
    Status failed;
    std::vector<std::string_view> send;
    while (done < n && failed.ok()) {
      send.clear();
      size_t end = done;
      for (; end < n && send.size() < kSendBatch; ++end) {
        const std::string& payload = (*records)[end].payload;
        if (payload.empty()) continue;  // a damaged segment's remainder
        auto summary = Summarize(payload);
        if (!summary || Ignored(ep.config, *summary)) continue;
        send.push_back(summary->json);
      }
      if (!send.empty()) {
        failed = Deliver(ep, send);
        if (!failed.ok()) break;
        obs::EventStats().AddDelivered(ep.index, send.size());
      }
      done = end;
    }
    // The cursor moves past what was handled, also when a later batch failed.
    if (done > 0) {
      if (Status s = queue_->Ack(ep.index, (*records)[done - 1].next, done); !s.ok()) {
        log::Error("event queue: cannot save the delivery cursor",
                   {{"endpoint", ep.config.name}, {"error", s.message()}});
      }
    }
    if (!failed.ok()) {
      ++failures;
      obs::EventStats().AddFailed(ep.index);
      // One line when the endpoint starts failing and one per threshold more, not one per attempt.
      if (failures == 1 || failures % ep.config.threshold == 0) {
        log::Warn("webhook delivery failed", {{"endpoint", ep.config.name},
                                              {"error", failed.message()},
                                              {"failures", std::to_string(failures)},
                                              {"pending", std::to_string(queue_->Pending(ep.index))}});
      }
      if (!Sleep(RetryDelay(failures, ep.config.threshold, backoff))) return;
      continue;
    }
    if (failures > 0) log::Info("webhook delivery recovered", {{"endpoint", ep.config.name}});
    failures = 0;
  }
}

Status Dispatcher::Deliver(const Endpoint& ep, const std::vector<std::string_view>& events) {
  if (ep.config.format == "cloudevents") {
    for (std::string_view e : events) {
      auto ce = ToCloudEvent(e);
      if (!ce) continue;
      if (Status s = Post(ep, kCloudEventMediaType, *ce); !s.ok()) return s;
    }
    return Status::Ok();
  }
  return Post(ep, kEnvelopeMediaType, Envelope(events));
}

Status Dispatcher::Post(const Endpoint& ep, std::string_view content_type, const std::string& body) {
  const auto deadline = http::BlockingSocket::Clock::now() + std::chrono::milliseconds(ep.config.timeout_ms);
  const std::string hostport = (ep.url.host.find(':') != std::string::npos ? "[" + ep.url.host + "]" : ep.url.host) +
                               ":" + std::to_string(ep.url.port);
  http::BlockingSocket sock("webhook " + ep.config.name + " " + hostport);
  if (Status s = sock.Connect(ep.url.host, ep.url.port, deadline); !s.ok()) return s;
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (ep.url.tls) {
    tls = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    if (Status s = http::SetUpClientTls(tls->native_handle()); !s.ok()) return s;
    if (Status s = sock.StartTls(*tls, ep.url.host, /*verify=*/true, deadline); !s.ok()) return s;
  }
  std::string req = "POST " + ep.url.target + " HTTP/1.1\r\nHost: " + hostport +
                    "\r\nUser-Agent: berth-notifications\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& [name, values] : ep.config.headers) {
    for (const std::string& v : values) req += name + ": " + v + "\r\n";
  }
  if (!ep.secret.empty()) req += std::string(kSignatureHeader) + ": " + Signature(ep.secret, body) + "\r\n";
  req += "\r\n";
  req += body;
  if (auto ec = sock.WriteAll(req, deadline)) return Status::IoError(http::BlockingSocket::DescribeError(ec));
  std::string head;
  char buf[1024];
  while (head.find("\r\n") == std::string::npos && head.size() < 8192) {
    size_t n = 0;
    if (auto ec = sock.ReadSome(buf, sizeof buf, &n, deadline)) {
      return Status::IoError(http::BlockingSocket::DescribeError(ec));
    }
    head.append(buf, n);
  }
  sock.Close();
  // "HTTP/1.1 204 No Content"
  unsigned status = 0;
  const size_t sp = head.find(' ');
  if (head.rfind("HTTP/1.", 0) != 0 || sp == std::string::npos || head.size() < sp + 4) {
    return Status::IoError("not an HTTP response");
  }
  std::from_chars(head.data() + sp + 1, head.data() + sp + 4, status);
  // As distribution's httpSink: any 2xx or 3xx is delivered.
  if (status < 200 || status >= 400) return Status::IoError("endpoint answered " + std::to_string(status));
  return Status::Ok();
}

}  // namespace berth::events
