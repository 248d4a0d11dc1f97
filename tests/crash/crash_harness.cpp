// crash_harness: kills Berth with SIGKILL at random moments under concurrent
// pushes, and checks after every kill that nothing acknowledged was lost and
// nothing half-written became visible (issue #6).
//
// Each iteration: start berth (auth none, 127.0.0.1, data in a temp dir), run K
// client threads doing random operations, SIGKILL the server after a random
// delay, run `berth verify` on the data directory (must exit 0), restart, and
// check through the API that
//   - every blob/manifest acknowledged (201) is there byte for byte, unless an
//     acknowledged delete (202) removed it; what was in flight at the kill may
//     be either way, but if it is there it is complete;
//   - every tag resolves to a manifest acknowledged for it (or the one in flight);
//   - every listed tag resolves (no dangling tag);
//   - an interrupted upload either resumes (GET shows at least the acknowledged
//     bytes, and finishing it yields the right digest) or is 404 BLOB_UPLOAD_UNKNOWN;
//   - no request ever gets a 5xx;
//   - `berth verify` run while the clients push (every 5th iteration) is clean too.
// The metadata database (docs/metadata.md), checked when the server keeps one
// (DATA/metadata.db): after every kill `berth db check` and the database part
// of `berth verify` may only report storage *ahead* of the database for work
// that was not acknowledged (the write order: bytes and links first, the row
// after; deletes the row first): a *-missing-in-db or tag-mismatch finding for
// an object in flight at some kill is allowed (until it is acknowledged again);
// anything else, and any finding about acknowledged work, is a failure.
// Each client owns one repository, so what each operation did is exact; the
// clients share blob content (the same blobs are pushed by several of them).
// Blob content is generated from (seed, size), so nothing big is kept in memory.
//
//   crash_harness [--iterations N (150)] [--clients K] [--seed S] [--fresh-every M]
//                 [--min-delay-ms A] [--max-delay-ms B] [--live-verify-every N (5)]
//                 [--import-before-start]
// --import-before-start runs `berth db import` before each start, so there is a
// database to check even with a server that does not write it: a self-test of
// the database checks (with such a server they must fail: what the clients push
// never reaches the database).
// Exit 0 when every check passed; 1 with a description of the first failure.
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "oci/digest.h"
#include "../api/test_server.h"

namespace {

using berth::http::ClientResponse;
using berth::http::Headers;
using berth::http::HttpClient;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";
const std::vector<std::string> kTags = {"latest", "v1", "v2", "stable"};

// ---------------------------------------------------------------- failures ---

std::mutex g_fail_mu;
std::string g_failure;  // the first failure
std::atomic<bool> g_failed{false};

void Fail(const std::string& what) {
  std::lock_guard lock(g_fail_mu);
  if (!g_failed.exchange(true)) g_failure = what;
}

// Thrown when the connection broke: expected only once the server was killed.
struct Disconnected {};
// Thrown to stop a client after a failure was recorded.
struct Abort {};

// ------------------------------------------------------------------ content ---

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct BlobSpec {
  uint64_t seed = 0;
  int64_t size = 0;
};

// Deterministic content: byte p of blob `seed`.
void Fill(uint64_t seed, int64_t offset, char* buf, size_t n) {
  for (size_t i = 0; i < n;) {
    const int64_t p = offset + static_cast<int64_t>(i);
    const uint64_t w = Mix(seed * 0x100000001b3ULL ^ static_cast<uint64_t>(p >> 3));
    for (int b = static_cast<int>(p & 7); b < 8 && i < n; ++b, ++i) buf[i] = static_cast<char>(w >> (b * 8));
  }
}

std::mutex g_digest_mu;
std::map<std::pair<uint64_t, int64_t>, std::string> g_digests;

std::string DigestOfSpec(const BlobSpec& s) {
  {
    std::lock_guard lock(g_digest_mu);
    auto it = g_digests.find({s.seed, s.size});
    if (it != g_digests.end()) return it->second;
  }
  berth::oci::Hasher h;
  std::vector<char> buf(1 << 16);
  for (int64_t off = 0; off < s.size;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(buf.size(), s.size - off));
    Fill(s.seed, off, buf.data(), n);
    h.Update(buf.data(), n);
    off += static_cast<int64_t>(n);
  }
  std::string d = h.Current().str();
  std::lock_guard lock(g_digest_mu);
  g_digests.emplace(std::make_pair(s.seed, s.size), d);
  return d;
}

// -------------------------------------------------------------------- model ---

enum class St { kPresent, kAbsent, kUnknown };

struct PendingUpload {
  std::string location;
  BlobSpec spec;
  std::string digest;
  int64_t acked = 0;  // bytes the server acknowledged (202)
  // The final PUT was sent: the server may have committed the blob before the
  // kill (the upload's data then became the blob: it resumes from 0 or is gone).
  bool finishing = false;
};

// What one repository must contain. Only its own client thread touches it
// while the server runs; the main thread checks it between runs.
struct Repo {
  std::string name;
  std::map<std::string, std::pair<BlobSpec, St>> blobs;         // digest -> content, state
  std::map<std::string, std::pair<std::string, St>> manifests;  // digest -> body, state
  std::map<std::string, std::set<std::string>> tags;            // tag -> acceptable digests ("" = no tag)
  std::vector<PendingUpload> uploads;
  // Objects the database may lack although the store has them: "b:<digest>"
  // (blob or manifest bytes, link, revision) and "t:<tag>" that were in flight
  // at a kill. An acknowledged push of the same object takes it out again.
  std::set<std::string> db_may_lack;

  // After a kill: what was in flight may be in the store but not in the database.
  void NoteInFlight() {
    for (const auto& [d, v] : blobs) {
      if (v.second == St::kUnknown) db_may_lack.insert("b:" + d);
    }
    for (const auto& [d, v] : manifests) {
      if (v.second == St::kUnknown) db_may_lack.insert("b:" + d);
    }
    for (const auto& [t, set] : tags) {
      if (set.size() > 1) db_may_lack.insert("t:" + t);
    }
  }

  std::vector<std::string> Present(bool manifests_too) const {
    std::vector<std::string> out;
    for (const auto& [d, v] : blobs) {
      if (v.second == St::kPresent) out.push_back(d);
    }
    if (manifests_too) {
      for (const auto& [d, v] : manifests) {
        if (v.second == St::kPresent) out.push_back(d);
      }
    }
    return out;
  }
  std::vector<std::string> PresentManifests() const {
    std::vector<std::string> out;
    for (const auto& [d, v] : manifests) {
      if (v.second == St::kPresent) out.push_back(d);
    }
    return out;
  }
};

struct Stats {
  std::atomic<int64_t> acked_blob_pushes{0}, acked_manifest_puts{0}, acked_deletes{0}, acked_chunks{0};
  std::atomic<int64_t> bytes_pushed{0}, bytes_verified{0}, gets{0};
  std::atomic<int64_t> uploads_resumed{0}, uploads_gone{0}, inflight_at_kill{0};
  std::atomic<int64_t> uploads_committed_unanswered{0};
  int64_t kills = 0, verify_runs = 0, live_verify_runs = 0, fresh_stores = 0, db_checks = 0;
};
Stats g_stats;

// ------------------------------------------------------------------- client ---

// One client's connection. Every response is screened: a 5xx is a failure.
class Api {
 public:
  Api(uint16_t port, const std::atomic<bool>* killed) : http_("127.0.0.1", port), killed_(killed) {}

  ClientResponse Do(std::string_view method, const std::string& target, const Headers& h = {},
                    std::string_view body = {}) {
    return Check(http_.Request(method, target, h, body), method, target);
  }
  ClientResponse Stream(std::string_view method, const std::string& target, const Headers& h, const BlobSpec& s,
                        int64_t from, int64_t to) {
    int64_t off = from;
    HttpClient::Source src = [&](char* buf, size_t n) -> size_t {
      size_t k = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), to - off));
      Fill(s.seed, off, buf, k);
      off += static_cast<int64_t>(k);
      return k;
    };
    return Check(http_.RequestStream(method, target, h, to - from, src), method, target);
  }
  // GET of a blob, hashed on the way: returns status and the digest and size of the body.
  ClientResponse Fetch(const std::string& target, std::string* digest, int64_t* size) {
    berth::oci::Hasher h;
    int64_t n = 0;
    HttpClient::Sink sink = [&](const char* data, size_t len) {
      h.Update(data, len);
      n += static_cast<int64_t>(len);
    };
    auto r = Check(http_.Download("GET", target, {}, sink), "GET", target);
    *digest = h.Current().str();
    *size = n;
    return r;
  }

 private:
  ClientResponse Check(berth::Result<ClientResponse> r, std::string_view method, const std::string& target) {
    if (!r.ok()) {
      if (killed_ != nullptr) {
        // The kill may land a moment before the main thread says so.
        for (int i = 0; i < 500 && !killed_->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (killed_->load()) throw Disconnected{};
      }
      Fail(std::string(method) + " " + target +
           ": transport error while the server was running: " + r.status().message());
      throw Abort{};
    }
    if (r->status >= 500) {
      Fail(std::string(method) + " " + target + ": " + std::to_string(r->status) + " " + r->body);
      throw Abort{};
    }
    return std::move(*r);
  }

  HttpClient http_;
  const std::atomic<bool>* killed_;
};

void Require(bool cond, const std::string& what) {
  if (!cond) {
    Fail(what);
    throw Abort{};
  }
}

std::string ErrorCode(const ClientResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    return j["errors"][0].value("code", "");
  }
  return "";
}

// Parses "0-N" into N+1 ("0-0" gives 1, though it also stands for 0 bytes: see CheckRepo).
int64_t RangeEnd(const std::string& range) {
  auto dash = range.find('-');
  if (dash == std::string::npos) return -1;
  return std::stoll(range.substr(dash + 1)) + 1;
}

class Client {
 public:
  Client(Repo& repo, uint16_t port, uint64_t seed, const std::atomic<bool>& killed)
      : repo_(repo), api_(port, &killed), rng_(seed) {}

  void Run(const std::atomic<bool>& killed) {
    try {
      while (!killed.load() && !g_failed.load()) Step();
    } catch (const Disconnected&) {
      g_stats.inflight_at_kill++;
    } catch (const Abort&) {
    }
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  template <class T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }

  BlobSpec NewSpec() {
    int64_t kind = Uniform(0, 99);
    if (kind < 20) {
      // Shared pool: the same blobs pushed by every client (and again later).
      uint64_t i = static_cast<uint64_t>(Uniform(0, 7));
      return BlobSpec{1000 + i, i == 0 ? 0 : static_cast<int64_t>(i * 37 * 1024 + i)};
    }
    int64_t size = kind < 50 ? Uniform(0, 4096) : kind < 85 ? Uniform(0, 256 << 10) : Uniform(0, 2 << 20);
    return BlobSpec{rng_(), size};
  }

  void Step() {
    const int64_t op = Uniform(0, 99);
    if (op < 28)
      PushBlob(false);
    else if (op < 50)
      PushBlob(true);
    else if (op < 68)
      PutManifest(false);
    else if (op < 74)
      PutManifest(true);  // an index over earlier manifests
    else if (op < 80)
      Retag();
    else if (op < 85)
      DeleteManifest();
    else if (op < 89)
      DeleteBlob();
    else
      GetSomething();
  }

  const std::string Base() const { return "/v2/" + repo_.name; }

  void PushBlob(bool chunked) {
    BlobSpec spec = NewSpec();
    const std::string digest = DigestOfSpec(spec);
    auto r = api_.Do("POST", Base() + "/blobs/uploads/");
    Require(r.status == 202, "POST upload: " + std::to_string(r.status) + " " + r.body);
    repo_.uploads.push_back(PendingUpload{r.header("Location"), spec, digest, 0});
    auto prev = repo_.blobs.find(digest);
    const St before = prev == repo_.blobs.end() ? St::kAbsent : prev->second.second;
    repo_.blobs[digest] = {spec, before == St::kPresent ? St::kPresent : St::kUnknown};
    const size_t slot = repo_.uploads.size() - 1;
    std::string loc = repo_.uploads[slot].location;
    int64_t sent = 0;
    if (chunked && spec.size > 0) {
      const int64_t chunks = Uniform(1, 4);
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t end =
            c == chunks - 1 ? spec.size : std::min(spec.size, sent + Uniform(0, spec.size / chunks + 1));
        Headers h = {{"Content-Type", "application/octet-stream"},
                     {"Content-Range", std::to_string(sent) + "-" + std::to_string(end > sent ? end - 1 : sent)}};
        if (end == sent) continue;
        auto p = api_.Stream("PATCH", loc, h, spec, sent, end);
        Require(p.status == 202, "PATCH " + loc + ": " + std::to_string(p.status) + " " + p.body);
        Require(RangeEnd(p.header("Range")) == end,
                "PATCH " + loc + ": Range " + p.header("Range") + " after " + std::to_string(end) + " bytes");
        sent = end;
        repo_.uploads[slot].acked = sent;
        loc = p.header("Location");
        repo_.uploads[slot].location = loc;
        g_stats.acked_chunks++;
      }
    }
    const std::string target = loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
    repo_.uploads[slot].finishing = true;
    auto put = api_.Stream("PUT", target, {{"Content-Type", "application/octet-stream"}}, spec, sent, spec.size);
    Require(put.status == 201, "PUT " + target + ": " + std::to_string(put.status) + " " + put.body);
    Require(put.header("Docker-Content-Digest") == digest, "PUT upload: wrong Docker-Content-Digest");
    repo_.uploads.erase(repo_.uploads.begin() + static_cast<long>(slot));
    repo_.blobs[digest] = {spec, St::kPresent};
    repo_.db_may_lack.erase("b:" + digest);
    g_stats.acked_blob_pushes++;
    g_stats.bytes_pushed += spec.size;
  }

  // Pushes a manifest (by tag or by digest) and records it. A re-push of an old
  // body (`may_miss`) may name blobs or manifests deleted since: then the
  // registry must refuse it with MANIFEST_BLOB_UNKNOWN and nothing changes.
  void PushManifestBody(const std::string& body, const char* type, const std::string& tag, bool may_miss) {
    const std::string digest = berth::oci::DigestOf(body).str();
    auto prev = repo_.manifests.find(digest);
    const St before = prev == repo_.manifests.end() ? St::kAbsent : prev->second.second;
    std::optional<std::set<std::string>> tag_before;
    if (auto t = repo_.tags.find(tag); t != repo_.tags.end()) tag_before = t->second;
    repo_.manifests[digest] = {body, before == St::kPresent ? St::kPresent : St::kUnknown};
    if (!tag.empty()) repo_.tags.try_emplace(tag, std::set<std::string>{""}).first->second.insert(digest);
    auto r = api_.Do("PUT", Base() + "/manifests/" + (tag.empty() ? digest : tag), {{"Content-Type", type}}, body);
    if (may_miss && r.status == 400 && ErrorCode(r) == "MANIFEST_BLOB_UNKNOWN") {
      repo_.manifests[digest].second = before;
      if (!tag.empty()) {
        if (tag_before)
          repo_.tags[tag] = *tag_before;
        else
          repo_.tags.erase(tag);
      }
      return;
    }
    Require(r.status == 201, "PUT manifest: " + std::to_string(r.status) + " " + r.body);
    Require(r.header("Docker-Content-Digest") == digest, "PUT manifest: wrong Docker-Content-Digest");
    repo_.manifests[digest].second = St::kPresent;
    repo_.db_may_lack.erase("b:" + digest);
    if (!tag.empty()) repo_.tags[tag] = {digest};
    if (!tag.empty()) repo_.db_may_lack.erase("t:" + tag);
    g_stats.acked_manifest_puts++;
  }

  void PutManifest(bool index) {
    const bool by_tag = Uniform(0, 2) != 0;
    const std::string tag = by_tag ? Pick(kTags) : "";
    json j;
    if (index) {
      auto ms = repo_.PresentManifests();
      if (ms.empty()) return;
      json list = json::array();
      for (int64_t i = Uniform(1, 2); i > 0; --i) {
        const std::string d = Pick(ms);
        list.push_back({{"mediaType", kManifestType},
                        {"digest", d},
                        {"size", repo_.manifests[d].first.size()},
                        {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}});
      }
      j = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", list}};
    } else {
      auto blobs = repo_.Present(false);
      if (blobs.empty()) {
        PushBlob(false);
        return;
      }
      json layers = json::array();
      for (int64_t i = Uniform(1, 3); i > 0; --i) {
        const std::string d = Pick(blobs);
        layers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                          {"digest", d},
                          {"size", repo_.blobs[d].first.size}});
      }
      const std::string cfg = Pick(blobs);
      j = {{"schemaVersion", 2},
           {"mediaType", kManifestType},
           {"config",
            {{"mediaType", "application/vnd.oci.image.config.v1+json"},
             {"digest", cfg},
             {"size", repo_.blobs[cfg].first.size}}},
           {"layers", layers}};
    }
    j["annotations"] = {{"org.example.nonce", std::to_string(rng_())}};
    PushManifestBody(j.dump(), index ? kIndexType : kManifestType, tag, false);
  }

  // Points a tag at an existing manifest (a tag overwrite, same bytes again).
  void Retag() {
    auto ms = repo_.PresentManifests();
    if (ms.empty()) return;
    const std::string d = Pick(ms);
    const std::string body = repo_.manifests[d].first;
    const bool is_index = body.find("\"manifests\"") != std::string::npos;
    PushManifestBody(body, is_index ? kIndexType : kManifestType, Pick(kTags), true);
  }

  void DeleteManifest() {
    auto ms = repo_.PresentManifests();
    if (ms.empty()) return;
    const std::string d = Pick(ms);
    repo_.manifests[d].second = St::kUnknown;
    for (auto& [t, set] : repo_.tags) {
      if (set.count(d) != 0) set.insert("");
    }
    auto r = api_.Do("DELETE", Base() + "/manifests/" + d);
    Require(r.status == 202, "DELETE manifest " + d + ": " + std::to_string(r.status) + " " + r.body);
    repo_.manifests[d].second = St::kAbsent;
    for (auto& [t, set] : repo_.tags) {
      if (set.erase(d) != 0) set.insert("");
    }
    g_stats.acked_deletes++;
  }

  void DeleteBlob() {
    auto bs = repo_.Present(false);
    if (bs.empty()) return;
    const std::string d = Pick(bs);
    repo_.blobs[d].second = St::kUnknown;
    auto r = api_.Do("DELETE", Base() + "/blobs/" + d);
    Require(r.status == 202, "DELETE blob " + d + ": " + std::to_string(r.status) + " " + r.body);
    repo_.blobs[d].second = St::kAbsent;
    g_stats.acked_deletes++;
  }

  void GetSomething() {
    auto bs = repo_.Present(false);
    if (bs.empty()) return;
    const std::string d = Pick(bs);
    std::string got;
    int64_t size = 0;
    auto r = api_.Fetch(Base() + "/blobs/" + d, &got, &size);
    Require(r.status == 200 && got == d && size == repo_.blobs[d].first.size,
            "GET blob " + d + " in " + repo_.name + " during the run: status " + std::to_string(r.status) +
                ", content " + got);
    g_stats.gets++;
    g_stats.bytes_verified += size;
  }

  Repo& repo_;
  Api api_;
  std::mt19937_64 rng_;
};

// -------------------------------------------------------------------- check ---

// After a restart: everything acknowledged is there; unknowns are resolved to what is observed.
void CheckRepo(Repo& repo, uint16_t port) {
  Api api(port, nullptr);
  const std::string base = "/v2/" + repo.name;
  for (auto& [d, v] : repo.blobs) {
    std::string got;
    int64_t size = 0;
    auto r = api.Fetch(base + "/blobs/" + d, &got, &size);
    const bool there = r.status == 200;
    Require(there || r.status == 404, "GET blob " + d + ": " + std::to_string(r.status));
    if (there) {
      Require(got == d && size == v.first.size, "blob " + d + " in " + repo.name + " is not byte-identical (" +
                                                    std::to_string(size) + " bytes hashing to " + got + ")");
      g_stats.bytes_verified += size;
    }
    if (v.second == St::kPresent) Require(there, "acknowledged blob " + d + " is missing from " + repo.name);
    if (v.second == St::kAbsent) Require(!there, "blob " + d + " deleted (202) from " + repo.name + " is back");
    v.second = there ? St::kPresent : St::kAbsent;
  }
  const Headers accept = {{"Accept", std::string(kManifestType) + ", " + kIndexType}};
  for (auto& [d, v] : repo.manifests) {
    auto r = api.Do("GET", base + "/manifests/" + d, accept);
    const bool there = r.status == 200;
    Require(there || r.status == 404, "GET manifest " + d + ": " + std::to_string(r.status));
    if (there) Require(r.body == v.first, "manifest " + d + " in " + repo.name + " is not byte-identical");
    if (v.second == St::kPresent) Require(there, "acknowledged manifest " + d + " is missing from " + repo.name);
    if (v.second == St::kAbsent) Require(!there, "manifest " + d + " deleted (202) from " + repo.name + " is back");
    v.second = there ? St::kPresent : St::kAbsent;
    g_stats.bytes_verified += static_cast<int64_t>(r.body.size());
  }
  for (auto& [t, set] : repo.tags) {
    auto r = api.Do("GET", base + "/manifests/" + t, accept);
    std::string desc;
    for (const auto& s : set) desc += (s.empty() ? "(none)" : s) + " ";
    if (r.status == 404) {
      Require(set.count("") != 0, "tag " + repo.name + ":" + t + " is gone; expected one of " + desc);
      set = {""};
      continue;
    }
    Require(r.status == 200, "GET tag " + t + ": " + std::to_string(r.status));
    const std::string d = r.header("Docker-Content-Digest");
    Require(set.count(d) != 0, "tag " + repo.name + ":" + t + " resolves to " + d + "; expected one of " + desc);
    Require(berth::oci::DigestOf(r.body).str() == d, "tag " + t + ": body does not match its digest");
    set = {d};
  }
  // No dangling tag: every listed tag resolves.
  auto list = api.Do("GET", base + "/tags/list");
  if (list.status == 200) {
    auto j = json::parse(list.body, nullptr, false);
    Require(j.is_object(), "tags/list is not JSON: " + list.body);
    if (j.contains("tags") && j["tags"].is_array()) {
      for (const auto& t : j["tags"]) {
        auto r = api.Do("GET", base + "/manifests/" + t.get<std::string>(), accept);
        Require(r.status == 200,
                "listed tag " + t.get<std::string>() + " does not resolve: " + std::to_string(r.status) + " " + r.body);
      }
    }
  } else {
    Require(list.status == 404, "tags/list: " + std::to_string(list.status));
  }
  // Interrupted uploads: resumable from at least the acknowledged size, or cleanly gone.
  for (const auto& up : repo.uploads) {
    auto r = api.Do("GET", up.location);
    if (r.status == 404) {
      Require(ErrorCode(r) == "BLOB_UPLOAD_UNKNOWN", "interrupted upload answers 404 with " + r.body);
      g_stats.uploads_gone++;
      continue;
    }
    Require(r.status == 204, "GET " + up.location + ": " + std::to_string(r.status) + " " + r.body);
    const std::string range = r.header("Range");
    int64_t have = RangeEnd(range);
    Require(have >= 1 && have <= std::max<int64_t>(up.spec.size, 1),
            "interrupted upload reports Range " + range + " for a " + std::to_string(up.spec.size) + "-byte blob");
    std::string loc = r.header("Location").empty() ? up.location : r.header("Location");
    if (range == "0-0") {
      // 0 or 1 bytes: a one-byte probe chunk tells (416 when it does not start at the end).
      if (up.spec.size == 0) {
        have = 0;
      } else {
        const int64_t probe = up.spec.size >= 2 ? 1 : 0;
        Headers h = {{"Content-Type", "application/octet-stream"},
                     {"Content-Range", std::to_string(probe) + "-" + std::to_string(probe)}};
        auto p = api.Stream("PATCH", loc, h, up.spec, probe, probe + 1);
        Require(p.status == 202 || p.status == 416,
                "probe PATCH " + loc + ": " + std::to_string(p.status) + " " + p.body);
        have = p.status == 202 ? probe + 1 : 1 - probe;
        if (p.status == 202) loc = p.header("Location");
      }
    }
    // Committed before the kill but not answered: its data became the blob, and
    // the upload (removed last) resumes from 0.
    const bool committed = have < up.acked && up.finishing && have == 0;
    if (committed) g_stats.uploads_committed_unanswered++;
    Require(committed || have >= up.acked, "interrupted upload " + loc + " (Range " + range + ", finishing " +
                                               std::to_string(up.finishing) +
                                               ") lost acknowledged bytes: the server has " + std::to_string(have) +
                                               ", " + std::to_string(up.acked) + " were acknowledged");
    if (have < up.spec.size) {
      Headers h = {{"Content-Type", "application/octet-stream"},
                   {"Content-Range", std::to_string(have) + "-" + std::to_string(up.spec.size - 1)}};
      auto p = api.Stream("PATCH", loc, h, up.spec, have, up.spec.size);
      Require(p.status == 202, "resuming PATCH " + loc + ": " + std::to_string(p.status) + " " + p.body);
      loc = p.header("Location");
    }
    const std::string target = loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + up.digest;
    auto put = api.Do("PUT", target);
    Require(put.status == 201, "finishing resumed upload: " + std::to_string(put.status) + " " + put.body);
    repo.blobs[up.digest] = {up.spec, St::kPresent};
    g_stats.uploads_resumed++;
  }
  repo.uploads.clear();
}

// Runs a berth command on a config; its exit status (-1 when it did not exit) and output.
int RunBerth(const std::string& args, const std::string& config, std::string* out) {
  const std::string cmd = std::string(BERTH_BINARY) + " " + args + " --config '" + config + "' 2>&1";
  out->clear();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *out = "popen failed";
    return -1;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The findings in the output of `berth db check` (or verify's database part)
// that the write order does not allow; "" when there are none. Each line is
// "<kind> [<repository>] [<object>]: <detail>" (metadata/import.h). With
// `quiet_store` false (verify while clients push) the comparison races the
// pushes, so only the store's part counts and findings are not judged.
std::string DisallowedFindings(const std::string& output, const std::vector<Repo>& repos, bool quiet_store) {
  if (!quiet_store) return "";
  auto repo_of = [&](const std::string& name) -> const Repo* {
    for (const auto& r : repos) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  auto any_may_lack = [&](const std::string& key) {
    for (const auto& r : repos) {
      if (r.db_may_lack.count(key) != 0) return true;
    }
    return false;
  };
  std::string bad;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    start = end + 1;
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::vector<std::string> words;
    for (size_t i = 0; i < colon;) {
      size_t sp = line.find(' ', i);
      if (sp == std::string::npos || sp > colon) sp = colon;
      if (sp > i) words.push_back(line.substr(i, sp - i));
      i = sp + 1;
    }
    if (words.empty()) continue;
    const std::string& kind = words[0];
    const bool is_finding = kind.starts_with("repository-") || kind.starts_with("link-") ||
                            kind.starts_with("manifest-") || kind.starts_with("tag-") || kind.starts_with("blob-");
    if (!is_finding ||
        !(kind.ends_with("-missing-in-db") || kind.ends_with("-missing-in-store") || kind.ends_with("-mismatch"))) {
      continue;
    }
    bool allowed = false;
    if (kind == "blob-missing-in-db" && words.size() >= 2) {
      allowed = any_may_lack("b:" + words[1]);
    } else if (kind == "repository-missing-in-db" && words.size() >= 2) {
      const Repo* r = repo_of(words[1]);
      allowed = r != nullptr && !r->db_may_lack.empty();
    } else if ((kind == "link-missing-in-db" || kind == "manifest-missing-in-db") && words.size() >= 3) {
      const Repo* r = repo_of(words[1]);
      allowed = r != nullptr && r->db_may_lack.count("b:" + words[2]) != 0;
    } else if ((kind == "tag-missing-in-db" || kind == "tag-mismatch") && words.size() >= 3) {
      const Repo* r = repo_of(words[1]);
      allowed = r != nullptr && r->db_may_lack.count("t:" + words[2]) != 0;
    }
    if (!allowed) bad += "  " + line + "\n";
  }
  return bad;
}

// Runs `berth verify`; "" when the store is clean and the database (when the
// server keeps one) shows nothing the write order forbids, else what is wrong.
std::string RunVerify(const std::string& config, const std::vector<Repo>& repos, bool quiet_store) {
  std::string out;
  const int code = RunBerth("verify", config, &out);
  const size_t db_part = out.find("\nchecking metadata database ");
  const std::string store_part = out.substr(0, db_part);
  const bool store_clean = store_part.find("OK: no problems") != std::string::npos;
  std::string bad;
  if (code == 0 && store_clean) return "";
  if (code == 1 && store_clean && db_part != std::string::npos) {
    bad = DisallowedFindings(out.substr(db_part), repos, quiet_store);
    if (bad.empty()) return "";
  }
  return "berth verify exited with status " + std::to_string(code) + ":\n" + out +
         (bad.empty() ? "" : "findings the write order does not allow:\n" + bad);
}

// After a kill: `berth db check` when the server keeps a metadata database
// (SQLite in the data directory); "" when it shows nothing the write order forbids.
std::string RunDbCheck(const std::string& config, const std::string& data_dir, const std::vector<Repo>& repos,
                       bool* checked) {
  *checked = false;
  std::error_code ec;
  if (!std::filesystem::exists(data_dir + "/metadata.db", ec)) return "";
  *checked = true;
  std::string out;
  const int code = RunBerth("db check", config, &out);
  if (code == 0) return "";
  if (code == 1) {
    const std::string bad = DisallowedFindings(out, repos, true);
    if (bad.empty()) return "";
    return "berth db check reports what the write order does not allow:\n" + bad + "full output:\n" + out;
  }
  return "berth db check could not run (status " + std::to_string(code) + "):\n" + out;
}

struct Options {
  int iterations = 150;
  int clients = 4;
  uint64_t seed = 0;
  int fresh_every = 25;
  int min_delay_ms = 20;
  int max_delay_ms = 300;
  int live_verify_every = 5;  // also run verify while the clients push, every Nth iteration (0: never)
  bool import_before_start = false;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  o.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long long {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return std::stoll(argv[++i]);
    };
    if (a == "--iterations")
      o.iterations = static_cast<int>(next());
    else if (a == "--clients")
      o.clients = static_cast<int>(next());
    else if (a == "--seed")
      o.seed = static_cast<uint64_t>(next());
    else if (a == "--fresh-every")
      o.fresh_every = static_cast<int>(next());
    else if (a == "--min-delay-ms")
      o.min_delay_ms = static_cast<int>(next());
    else if (a == "--max-delay-ms")
      o.max_delay_ms = static_cast<int>(next());
    else if (a == "--live-verify-every")
      o.live_verify_every = static_cast<int>(next());
    else if (a == "--import-before-start")
      o.import_before_start = true;
    else
      throw std::invalid_argument("unknown argument " + a);
  }
  if (o.iterations < 1 || o.clients < 1 || o.fresh_every < 1 || o.min_delay_ms < 0 || o.max_delay_ms < o.min_delay_ms) {
    throw std::invalid_argument("bad option value");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "crash_harness: " << e.what() << "\n"
              << "usage: crash_harness [--iterations N] [--clients K] [--seed S] [--fresh-every M]"
                 " [--min-delay-ms A] [--max-delay-ms B] [--live-verify-every N] [--import-before-start]\n";
    return 2;
  }
  std::cout << "crash_harness: " << opt.iterations << " kills, " << opt.clients << " clients, seed " << opt.seed
            << " (rerun with --seed " << opt.seed << ")" << std::endl;
  const auto started = Clock::now();
  berth::apitest::TestServer server;
  std::mt19937_64 rng(opt.seed);
  std::vector<Repo> repos;
  auto fresh = [&] {
    repos.assign(static_cast<size_t>(opt.clients), Repo{});
    for (int c = 0; c < opt.clients; ++c) repos[static_cast<size_t>(c)].name = "crash/client" + std::to_string(c);
    std::error_code ec;
    std::filesystem::remove_all(server.data_dir(), ec);
    g_stats.fresh_stores++;
  };
  fresh();
  int it = 0;
  for (; it < opt.iterations && !g_failed.load(); ++it) {
    if (it > 0 && it % opt.fresh_every == 0) fresh();  // keeps the store (and verify's work) bounded
    if (opt.import_before_start && it > 0) {
      std::string out;
      if (RunBerth("db import", server.dir() + "/config.yaml", &out) != 0) {
        Fail("berth db import before the start failed:\n" + out);
        break;
      }
    }
    if (std::string err = server.Start(); !err.empty()) {
      Fail("cannot start berth: " + err);
      break;
    }
    try {
      for (auto& repo : repos) CheckRepo(repo, server.port());
    } catch (const Abort&) {
      break;
    }
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < opt.clients; ++c) {
      const uint64_t s = rng();
      threads.emplace_back([&, c, s] {
        Client client(repos[static_cast<size_t>(c)], server.port(), s, killed);
        client.Run(killed);
      });
    }
    const int delay = static_cast<int>(std::uniform_int_distribution<int>(opt.min_delay_ms, opt.max_delay_ms)(rng));
    if (opt.live_verify_every > 0 && it % opt.live_verify_every == opt.live_verify_every - 1) {
      // `berth verify` is read-only and must not report a problem while pushes are under way.
      std::this_thread::sleep_for(std::chrono::milliseconds(delay / 2));
      if (std::string v = RunVerify(server.dir() + "/config.yaml", repos, false); !v.empty()) {
        Fail("live verify: " + v);
      }
      g_stats.live_verify_runs++;
      std::this_thread::sleep_for(std::chrono::milliseconds(delay - delay / 2));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    server.Signal(SIGKILL);
    const int code = server.WaitForExit(10000);
    killed = true;
    for (auto& t : threads) t.join();
    if (code != -1000 - SIGKILL) {
      Fail("berth did not die of SIGKILL (status " + std::to_string(code) + "); log:\n" + server.LogSinceStart());
      break;
    }
    g_stats.kills++;
    for (auto& repo : repos) repo.NoteInFlight();
    bool db_checked = false;
    const std::string db_problem = RunDbCheck(server.dir() + "/config.yaml", server.data_dir(), repos, &db_checked);
    if (db_checked) g_stats.db_checks++;
    if (!db_problem.empty()) {
      Fail("after kill " + std::to_string(g_stats.kills) + ": " + db_problem);
      break;
    }
    if (std::string v = RunVerify(server.dir() + "/config.yaml", repos, true); !v.empty()) {
      Fail("after kill " + std::to_string(g_stats.kills) + ": " + v);
      break;
    }
    g_stats.verify_runs++;
    if ((it + 1) % 10 == 0) {
      std::cout << "  " << (it + 1) << " kills, " << g_stats.acked_blob_pushes + g_stats.acked_manifest_puts
                << " pushes acknowledged so far" << std::endl;
    }
  }
  // A last restart and check: what the final kill left must be consistent too.
  if (!g_failed.load()) {
    if (std::string err = server.Start(); !err.empty()) {
      Fail("cannot start berth: " + err);
    } else {
      try {
        for (auto& repo : repos) CheckRepo(repo, server.port());
      } catch (const Abort&) {
      }
      server.Stop();
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "crash_harness summary: kills " << g_stats.kills << ", berth verify runs " << g_stats.verify_runs
            << " after kills + " << g_stats.live_verify_runs
            << " while pushing (all clean: " << (g_failed.load() ? "no" : "yes") << "), berth db check runs "
            << g_stats.db_checks << (g_stats.db_checks == 0 ? " (the server kept no metadata.db)" : "")
            << ", fresh stores " << g_stats.fresh_stores << "\n  acknowledged: blob pushes "
            << g_stats.acked_blob_pushes << " (" << g_stats.acked_chunks << " PATCH chunks, " << g_stats.bytes_pushed
            << " bytes), manifest PUTs " << g_stats.acked_manifest_puts << ", deletes " << g_stats.acked_deletes
            << "\n  operations in flight at a kill " << g_stats.inflight_at_kill << "; interrupted uploads resumed "
            << g_stats.uploads_resumed << " (" << g_stats.uploads_committed_unanswered
            << " of them committed but unanswered at the kill), cleanly gone " << g_stats.uploads_gone
            << "\n  bytes verified byte-for-byte " << g_stats.bytes_verified << " (" << g_stats.gets
            << " GETs during runs), " << secs << " s\n";
  if (g_failed.load()) {
    std::cout << "FAIL (seed " << opt.seed << ", iteration " << it << "): " << g_failure << "\n"
              << "server log since last start:\n"
              << server.LogSinceStart() << std::endl;
    return 1;
  }
  std::cout << "PASS" << std::endl;
  return 0;
}
