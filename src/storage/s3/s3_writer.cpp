#include "storage/s3/s3_writer.h"

#include <algorithm>

#include "util/log.h"

namespace berth::storage::s3 {

S3Writer::S3Writer(Bucket& bucket, std::string key, int64_t chunk_size, UploadState state, std::string tail,
                   bool persisted)
    : bucket_(bucket),
      key_(std::move(key)),
      chunk_size_(chunk_size),
      state_(std::move(state)),
      buffer_(std::move(tail)),
      persisted_(persisted) {}

S3Writer::~S3Writer() {
  if (!dirty_ || !failed_.ok()) return;
  if (Status s = Commit(); !s.ok()) {
    log::Warn("S3 upload: could not save unfinished data", {{"key", key_}, {"error", s.message()}});
  }
}

int64_t S3Writer::Size() const { return state_.PartsSize() + static_cast<int64_t>(buffer_.size()); }

Status S3Writer::Write(const char* data, size_t n) {
  if (!failed_.ok()) return failed_;
  while (n > 0) {
    if (buffer_.capacity() < static_cast<size_t>(chunk_size_)) buffer_.reserve(static_cast<size_t>(chunk_size_));
    const size_t room = static_cast<size_t>(chunk_size_) - buffer_.size();
    const size_t take = std::min(room, n);
    buffer_.append(data, take);
    data += take;
    n -= take;
    dirty_ = true;
    if (buffer_.size() == static_cast<size_t>(chunk_size_)) {
      if (Status s = FlushPart(); !s.ok()) {
        // What this writer holds no longer matches anything durable: the
        // upload continues from its last commit in a new writer.
        failed_ = s;
        return s;
      }
    }
  }
  return Status::Ok();
}

Status S3Writer::FlushPart() {
  if (state_.upload_id.empty()) {
    auto id = bucket_.InitiateMultipart(key_);
    if (!id.ok()) return id.status();
    state_.upload_id = *id;
    // Record the id at once, so a Delete of this upload can abort it even if
    // no commit follows.
    UploadState recorded = state_;
    recorded.parts.clear();  // the committed content (old tail) is unchanged
    if (Status s = bucket_.Put(StateKey(key_), recorded.ToJson()); !s.ok()) return s;
    persisted_ = true;
  }
  const int number = static_cast<int>(state_.parts.size()) + 1;
  auto etag = bucket_.UploadPart(key_, state_.upload_id, number, buffer_);
  if (!etag.ok()) return etag.status();
  state_.parts.push_back({number, *etag, static_cast<int64_t>(buffer_.size())});
  buffer_.clear();
  return Status::Ok();
}

Status S3Writer::Commit() {
  if (!failed_.ok()) return failed_;
  if (!dirty_ && persisted_) return Status::Ok();
  UploadState next = state_;
  const int64_t old_generation = state_.generation;
  next.tail_size = static_cast<int64_t>(buffer_.size());
  next.generation = 0;
  if (!buffer_.empty()) {
    next.generation = old_generation + 1;
    if (Status s = bucket_.Put(TailKey(key_, next.generation), buffer_); !s.ok()) return s;
  }
  if (Status s = bucket_.Put(StateKey(key_), next.ToJson()); !s.ok()) return s;
  if (old_generation > 0 && old_generation != next.generation) (void)bucket_.Delete(TailKey(key_, old_generation));
  state_ = std::move(next);
  persisted_ = true;
  dirty_ = false;
  return Status::Ok();
}

}  // namespace berth::storage::s3
