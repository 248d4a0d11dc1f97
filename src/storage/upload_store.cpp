#include "storage/upload_store.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "storage/layout.h"
#include "storage/store_walk.h"
#include "util/random.h"
#include "util/test_hooks.h"

namespace berth::storage {
namespace {

// Bound on cached hash states; past it the oldest-keyed entries are dropped and
// recomputed from disk if their upload continues.
constexpr size_t kMaxCachedHashes = 4096;
constexpr size_t kRehashBuffer = 1 << 20;

// Seconds since the epoch from a startedat file: Berth writes them as such,
// distribution (whose data directories Berth serves) as RFC 3339 in UTC,
// "2024-05-01T10:20:30.123456789Z". -1 when neither.
int64_t ParseStartedAt(std::string_view text) {
  int64_t secs = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc() && p == text.data() + text.size()) return secs;
  std::tm tm{};
  const std::string s(text);
  const char* rest = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return -1;
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  if (std::string_view(rest) != "Z") return -1;  // distribution writes UTC
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

bool IsValidUploadId(std::string_view id) {
  // Our ids are UUIDs; registry:2 uses the same form. Accept [0-9a-f-] only.
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

UploadSession::UploadSession(UploadStore& store, std::string name, std::string uuid, std::unique_ptr<FileWriter> writer,
                             oci::Hasher hasher)
    : store_(store),
      name_(std::move(name)),
      uuid_(std::move(uuid)),
      writer_(std::move(writer)),
      hasher_(std::move(hasher)) {}

UploadSession::~UploadSession() {
  (void)FinishPieces();  // the writer must outlive its write, and the hash must match the data
  if (!finished_ && !store_.driver_.Info().can_read_unfinished) {
    // The next request may be served by another process (a restart, or
    // another replica sharing the bucket) that cannot re-read the bytes of an
    // unfinished upload (an S3 multipart upload): everything acknowledged so
    // far is made durable and the running hash is saved next to it. (A local
    // file is re-read instead: no fsync and no extra file per PATCH.)
    if (writer_->Commit().ok()) {
      std::string state = std::to_string(writer_->Size()) + "\n" + hasher_.SaveState();
      (void)store_.driver_.PutContent(layout::UploadHashState(name_, uuid_), state);
    }
  }
  store_.Release(uuid_, writer_->Size(), finished_ ? nullptr : &hasher_);
}

Status UploadSession::Append(const char* data, size_t n) {
  if (Status s = FinishPieces(); !s.ok()) return s;
  Status s = writer_->Write(data, n);
  if (s.ok()) hasher_.Update(data, n);
  return s;
}

Status UploadSession::AppendPiece(std::span<const char> piece) {
  if (Status s = FinishPieces(); !s.ok()) return s;
  if (piece.size() < kPipelinedPiece) return Append(piece.data(), piece.size());
  in_flight_ = store_.WriteInPool(*writer_, piece);
  // Hash the piece while the pool writes it, keeping the hash from before in
  // case the write fails.
  before_piece_.emplace(hasher_.Clone());
  hasher_.Update(piece.data(), piece.size());
  return Status::Ok();
}

Status UploadSession::FinishPieces() {
  if (!in_flight_.valid()) return Status::Ok();
  Status s = in_flight_.get();
  if (!s.ok() && before_piece_) hasher_ = std::move(*before_piece_);  // nothing of the piece was stored
  before_piece_.reset();
  return s;
}

Status UploadSession::Commit(const oci::Digest& expected, Linking linking) {
  if (Status s = FinishPieces(); !s.ok()) return s;
  if (Status s = writer_->Commit(); !s.ok()) return s;
  const std::string data = layout::UploadData(name_, uuid_);
  oci::Digest actual;
  if (expected.algorithm() == hasher_.algorithm()) {
    actual = hasher_.Current();
  } else {
    auto h = store_.Rehash(data, expected.algorithm(), writer_->Size());
    if (!h.ok()) return h.status();
    actual = h->Current();
  }
  finished_ = true;
  if (actual != expected) {
    (void)store_.Remove(name_, uuid_);
    return Status::Invalid("digest mismatch: content is " + actual.str());
  }
  // Replacing an existing blob with identical bytes is harmless, and avoids a
  // check-then-act race between two uploads of the same blob.
  if (Status s = store_.driver_.Move(data, layout::BlobData(expected)); !s.ok()) return s;
  test_hooks::Reach("upload.commit.moved");  // tests/api/concurrency_test.cpp
  if (linking == Linking::kHere) {
    if (Status s = store_.blobs_.Link(name_, expected); !s.ok()) return s;
  }
  (void)store_.Remove(name_, uuid_);
  return Status::Ok();
}

struct UploadStore::WritePool {
  boost::asio::thread_pool threads{std::max(1u, std::thread::hardware_concurrency())};
};

UploadStore::UploadStore(StorageDriver& driver, BlobStore& blobs) : driver_(driver), blobs_(blobs) {}

UploadStore::~UploadStore() = default;

std::future<Status> UploadStore::WriteInPool(FileWriter& writer, std::span<const char> piece) {
  std::call_once(pool_started_, [this] { pool_ = std::make_unique<WritePool>(); });
  auto task = std::make_shared<std::packaged_task<Status()>>(
      [&writer, piece] { return writer.Write(piece.data(), piece.size()); });
  std::future<Status> done = task->get_future();
  boost::asio::post(pool_->threads, [task] { (*task)(); });
  return done;
}

Result<std::string> UploadStore::Start(std::string_view name) {
  std::string uuid = RandomUuid();
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string started = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  if (Status s = driver_.PutContent(layout::UploadStartedAt(name, uuid), started); !s.ok()) return s;
  return uuid;
}

Result<int64_t> UploadStore::Size(std::string_view name, std::string_view uuid) {
  if (!driver_.Stat(layout::UploadStartedAt(name, uuid)).ok()) return Status::NotFound("upload unknown");
  auto info = driver_.Stat(layout::UploadData(name, uuid));
  if (!info.ok()) return info.status().IsNotFound() ? Result<int64_t>(int64_t{0}) : info.status();
  return info->size;
}

size_t UploadStore::InProgress() {
  MutexLock lock(mu_);
  return busy_.size();
}

Result<std::unique_ptr<UploadSession>> UploadStore::Acquire(std::string_view name, std::string_view uuid_sv) {
  std::string uuid(uuid_sv);
  if (!Hold(uuid)) return Status::Busy("upload is in use by another request");
  auto fail = [&](Status s) -> Result<std::unique_ptr<UploadSession>> {
    Unhold(uuid);
    return s;
  };
  if (!driver_.Stat(layout::UploadStartedAt(name, uuid)).ok()) return fail(Status::NotFound("upload unknown"));
  auto writer = driver_.Writer(layout::UploadData(name, uuid));
  if (!writer.ok()) return fail(writer.status());
  const int64_t size = (*writer)->Size();
  std::optional<oci::Hasher> hasher;
  {
    MutexLock lock(mu_);
    auto it = hashes_.find(uuid);
    if (it != hashes_.end()) {
      if (it->second.size == size) hasher.emplace(std::move(it->second.hasher));
      hashes_.erase(it);
    }
  }
  if (!hasher) hasher = LoadHashState(name, uuid, size);
  if (!hasher) {
    auto h = Rehash(layout::UploadData(name, uuid), oci::DigestAlgorithm::kSha256, size);
    if (!h.ok()) return fail(h.status());
    hasher.emplace(std::move(*h));
  }
  return std::unique_ptr<UploadSession>(
      new UploadSession(*this, std::string(name), uuid, std::move(*writer), std::move(*hasher)));
}

void UploadStore::Release(const std::string& uuid, int64_t size, oci::Hasher* hasher) {
  MutexLock lock(mu_);
  busy_.erase(uuid);
  if (hasher == nullptr) return;
  if (hashes_.size() >= kMaxCachedHashes) hashes_.erase(hashes_.begin());
  hashes_.insert_or_assign(uuid, CachedHash{size, std::move(*hasher)});
}

std::optional<oci::Hasher> UploadStore::LoadHashState(std::string_view name, std::string_view uuid, int64_t size) {
  auto saved = driver_.GetContent(layout::UploadHashState(name, uuid));
  if (!saved.ok()) return std::nullopt;
  std::string_view text(*saved);
  auto nl = text.find('\n');
  if (nl == std::string_view::npos || text.substr(0, nl) != std::to_string(size)) return std::nullopt;  // stale
  auto h = oci::Hasher::RestoreState(text.substr(nl + 1));
  if (!h.ok()) return std::nullopt;
  return std::move(*h);
}

Result<oci::Hasher> UploadStore::Rehash(const std::string& path, oci::DigestAlgorithm a, int64_t expected_size) {
  oci::Hasher h(a);
  if (expected_size == 0) return h;
  auto reader = driver_.Reader(path, 0);
  if (!reader.ok()) return reader.status();
  std::vector<char> buf(kRehashBuffer);
  int64_t total = 0;
  while (total < expected_size) {
    size_t want = static_cast<size_t>(std::min<int64_t>(buf.size(), expected_size - total));
    auto n = (*reader)->Read(buf.data(), want);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::IoError("upload data shorter than expected");
    h.Update(buf.data(), *n);
    total += static_cast<int64_t>(*n);
  }
  return h;
}

Status UploadStore::Remove(std::string_view name, std::string_view uuid) {
  {
    MutexLock lock(mu_);
    hashes_.erase(std::string(uuid));
  }
  return driver_.Delete(layout::Upload(name, uuid));
}

UploadStore::PurgeResult UploadStore::PurgeStarted(std::chrono::system_clock::time_point cutoff, bool dry_run) {
  PurgeResult out;
  const int64_t cutoff_s = std::chrono::duration_cast<std::chrono::seconds>(cutoff.time_since_epoch()).count();
  for (const auto& name : walk::Repositories(driver_)) {
    auto ids = driver_.List(layout::UploadsDir(name));
    if (!ids.ok()) continue;  // no uploads (or unreadable: nothing to decide on)
    for (const auto& id : *ids) {
      if (!IsValidUploadId(id)) {
        ++out.kept;
        continue;
      }
      if (!Hold(id)) {  // held for the check and the removal, so no request can acquire it meanwhile
        ++out.kept;
        continue;
      }
      auto started = driver_.GetContent(layout::UploadStartedAt(name, id));
      const int64_t started_s = started.ok() ? ParseStartedAt(*started) : -1;
      if (started_s < 0 || started_s >= cutoff_s) {
        ++out.kept;
      } else if (dry_run) {
        ++out.removed;
      } else if (Status s = Remove(name, id); s.ok() || s.IsNotFound()) {
        ++out.removed;
      } else {
        ++out.failed;
        out.errors.push_back(name + "/" + id + ": " + s.message());
      }
      Unhold(id);
    }
  }
  return out;
}

bool UploadStore::Hold(const std::string& uuid) {
  MutexLock lock(mu_);
  return busy_.insert(uuid).second;
}

void UploadStore::Unhold(const std::string& uuid) {
  MutexLock lock(mu_);
  busy_.erase(uuid);
}

Status UploadStore::Cancel(std::string_view name, std::string_view uuid) {
  std::string id(uuid);
  {
    MutexLock lock(mu_);
    if (busy_.count(id) != 0) return Status::Busy("upload is in use by another request");
  }
  if (!driver_.Stat(layout::UploadStartedAt(name, uuid)).ok()) return Status::NotFound("upload unknown");
  return Remove(name, uuid);
}

}  // namespace berth::storage
