// The webhook events of the API (docs/events.md): which action a request's
// route entry names (routes.cpp `notify`), what the handler touched, who asked.
#include "http/blocking.h"
#include "registry/api.h"
#include "util/log.h"

namespace berth::registry {
namespace {

// The durable half of an event, on the dispatcher's sync threads (never an I/O
// thread): a named callable, not a lambda, inside co_await (GCC 12).
struct WaitDurableCall {
  events::Dispatcher* events;
  uint64_t offset;
  Status operator()() const { return events->WaitDurable(offset); }
};

std::string Truncated(std::string_view s, size_t max) { return std::string(s.substr(0, max)); }

}  // namespace

events::Target BlobTarget(const oci::Digest& digest, int64_t size) {
  events::Target t;
  t.media_type = "application/octet-stream";  // as distribution: a blob's stored descriptor
  t.size = size;
  t.digest = digest.str();
  return t;
}

events::Target ManifestTarget(std::string media_type, int64_t size, const oci::Digest& digest, std::string tag) {
  events::Target t;
  t.media_type = std::move(media_type);
  t.size = size;
  t.digest = digest.str();
  t.tag = std::move(tag);
  return t;
}

std::string BlobPath(const std::string& name, const oci::Digest& digest) {
  return "/v2/" + name + "/blobs/" + digest.str();
}

std::string ManifestPath(const std::string& name, const oci::Digest& digest) {
  return "/v2/" + name + "/manifests/" + digest.str();
}

void RegistryApi::SetEvents(events::Dispatcher* events, std::string base_url, bool tls) {
  events_ = events;
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  events_base_url_ = std::move(base_url);
  events_tls_ = tls;
}

Task<Status> RegistryApi::Notify(Exchange& ex, const RouteMatch& m, events::Target target, const std::string& path) {
  if (events_ == nullptr || m.method == nullptr || m.method->notify == nullptr) co_return Status::Ok();
  const std::string_view action = m.method->notify(ex, m);
  if (action.empty() || !events_->Wants(action)) co_return Status::Ok();
  events::Event e;
  e.action = std::string(action);
  target.repository = m.name;
  const std::string base = events_base_url_.empty()
                               ? (events_tls_ ? "https://" : "http://") + Truncated(ex.header("Host"), 256)
                               : events_base_url_;
  target.url = base + path;
  e.target = std::move(target);
  e.request.id = std::string(ex.context().request_id());
  e.request.addr = ClientIp(ex);
  e.request.host = Truncated(ex.header("Host"), 256);
  e.request.method = std::string(ex.method_string());
  e.request.useragent = Truncated(ex.header("User-Agent"), 512);
  e.actor = ex.context().user;
  const events::Durability durability =
      action == events::kPull ? events::Durability::kLazy : events::Durability::kDurable;
  auto offset = events_->Write(&e, durability);
  if (!offset.ok()) {
    log::Write(log::Level::kError, "event not recorded", ex.context().LogFields(),
               {{"action", e.action}, {"error", offset.status().message()}});
    co_return Status::Unavailable("the event queue cannot be written: " + offset.status().message());
  }
  if (action == events::kPull) co_return Status::Ok();  // durable within notifications.pull_sync
  WaitDurableCall call{events_, *offset};
  Status synced = co_await http::RunBlocking(events_->sync_pool(), std::move(call));
  if (!synced.ok()) {
    log::Write(log::Level::kError, "event not made durable", ex.context().LogFields(),
               {{"action", e.action}, {"error", synced.message()}});
    co_return Status::Unavailable("the event queue cannot be synced: " + synced.message());
  }
  co_return Status::Ok();
}

}  // namespace berth::registry
