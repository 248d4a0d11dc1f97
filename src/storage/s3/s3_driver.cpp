#include "storage/s3/s3_driver.h"

#include <ctime>
#include <set>

#include "storage/s3/s3_writer.h"
#include "util/random.h"

namespace berth::storage::s3 {
namespace {

class S3Reader final : public FileReader {
 public:
  explicit S3Reader(std::unique_ptr<ObjectStream> s) : stream_(std::move(s)) {}
  Result<size_t> Read(char* buf, size_t n) override { return stream_->Read(buf, n); }

 private:
  std::unique_ptr<ObjectStream> stream_;
};

}  // namespace

S3Driver::S3Driver(S3DriverOptions options, std::unique_ptr<S3Client> client)
    : options_(std::move(options)), bucket_(std::move(client)) {
  std::string r = options_.root_directory;
  while (!r.empty() && r.front() == '/') r.erase(r.begin());
  while (!r.empty() && r.back() == '/') r.pop_back();
  root_ = r.empty() ? "" : r + "/";
  bucket_.SetCopyLimits(options_.copy_limit, options_.copy_part);
}

Result<std::unique_ptr<S3Driver>> S3Driver::Open(S3DriverOptions options) {
  if (options.chunk_size < kMinChunkSize) {
    return Status::Invalid("storage.s3.chunksize must be at least " + std::to_string(kMinChunkSize));
  }
  if (!options.root_directory.empty() && options.root_directory != "/" &&
      !IsCleanStoragePath(options.root_directory.back() == '/'
                              ? options.root_directory.substr(0, options.root_directory.size() - 1)
                              : options.root_directory)) {
    return Status::Invalid("storage.s3.rootdirectory must be an absolute path like /berth");
  }
  auto client = S3Client::Create(options.client);
  if (!client.ok()) return client.status();
  std::unique_ptr<S3Driver> d(new S3Driver(std::move(options), std::move(*client)));
  if (Status s = d->bucket_.Check(); !s.ok()) return s;
  return d;
}

std::string S3Driver::Describe() const {
  return const_cast<Bucket&>(bucket_).client().Describe() + (root_.empty() ? "" : " root /" + root_);
}

Result<std::string> S3Driver::Key(const std::string& path) const {
  if (path == "/") return root_.empty() ? root_ : root_.substr(0, root_.size() - 1);  // the whole root
  if (!IsCleanStoragePath(path)) return Status::Invalid("unclean storage path");
  return root_ + path.substr(1);
}

Result<std::optional<UploadState>> S3Driver::LoadState(const std::string& key) {
  auto json = bucket_.GetSmall(StateKey(key));
  if (!json.ok()) {
    if (json.status().IsNotFound()) return std::optional<UploadState>();
    return json.status();
  }
  auto st = UploadState::FromJson(*json);
  if (!st.ok()) return st.status();
  return std::optional<UploadState>(std::move(*st));
}

Result<std::string> S3Driver::GetContent(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  return bucket_.GetSmall(*key);
}

Status S3Driver::PutContent(const std::string& path, std::string_view content) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  return bucket_.Put(*key, content);  // a PUT replaces atomically
}

Result<std::unique_ptr<FileReader>> S3Driver::Reader(const std::string& path, int64_t offset) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  auto stream = bucket_.client().Get(*key, offset);
  if (stream.ok()) return std::unique_ptr<FileReader>(new S3Reader(std::move(*stream)));
  if (!stream.status().IsNotFound()) return stream.status();
  auto state = LoadState(*key);
  if (state.ok() && state->has_value()) {
    return Status::Unsupported("S3 storage cannot read " + path +
                               ": it is an unfinished upload, readable only once complete");
  }
  return stream.status();
}

Result<std::unique_ptr<FileWriter>> S3Driver::Writer(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  auto state = LoadState(*key);
  if (!state.ok()) return state.status();
  if (state->has_value()) {
    UploadState st = std::move(**state);
    std::string tail;
    if (st.tail_size > 0) {
      auto t = bucket_.GetSmall(TailKey(*key, st.generation));
      if (!t.ok()) return Status::IoError("S3 upload " + path + ": cannot load its tail: " + t.status().message());
      if (static_cast<int64_t>(t->size()) != st.tail_size) {
        return Status::IoError("S3 upload " + path + ": its tail object has the wrong size");
      }
      tail = std::move(*t);
    }
    return std::unique_ptr<FileWriter>(
        new S3Writer(bucket_, *key, options_.chunk_size, std::move(st), std::move(tail), true));
  }
  // A plain object becomes the start of an upload (small ones only: the
  // registry never appends to a large finished object).
  auto info = bucket_.Head(*key);
  if (!info.ok() && !info.status().IsNotFound()) return info.status();
  if (!info.ok()) {
    return std::unique_ptr<FileWriter>(new S3Writer(bucket_, *key, options_.chunk_size, UploadState{}, "", false));
  }
  if (info->size > options_.chunk_size) {
    return Status::Unsupported("S3 storage cannot append to the finished object " + path);
  }
  auto content = bucket_.GetSmall(*key);
  if (!content.ok()) return content.status();
  auto w = std::make_unique<S3Writer>(bucket_, *key, options_.chunk_size, UploadState{}, "", false);
  if (Status s = w->Write(content->data(), content->size()); !s.ok()) return s;
  if (Status s = w->Commit(); !s.ok()) return s;
  if (Status s = bucket_.Delete(*key); !s.ok()) return s;
  return std::unique_ptr<FileWriter>(std::move(w));
}

Result<FileInfo> S3Driver::Stat(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  if (path != "/") {
    auto info = bucket_.Head(*key);
    if (info.ok()) return FileInfo{info->size, false, info->modified_unix};
    if (!info.status().IsNotFound()) return info.status();
    // One listing tells an unfinished upload (<key>.s3state) and a directory
    // (<key>/...) apart from nothing at all.
    bool has_state = false;
    bool is_dir = false;
    std::string token;
    do {
      auto page = bucket_.List(*key, "/", token);
      if (!page.ok()) return page.status();
      for (const auto& o : page->objects) has_state = has_state || o.key == StateKey(*key);
      for (const auto& p : page->prefixes) is_dir = is_dir || p == *key + "/";
      token = (has_state || is_dir) ? "" : page->next_token;
    } while (!token.empty());
    if (has_state) {
      auto state = LoadState(*key);
      if (!state.ok()) return state.status();
      if (state->has_value()) return FileInfo{(*state)->Size(), false, static_cast<int64_t>(std::time(nullptr))};
    }
    if (is_dir) return FileInfo{0, true, 0};
    return Status::NotFound("stat " + path + ": not found");
  }
  auto page = bucket_.List(root_, "", "", 1);
  if (!page.ok()) return page.status();
  if (page->objects.empty()) return Status::NotFound("stat " + path + ": not found");
  return FileInfo{0, true, 0};
}

Result<std::vector<std::string>> S3Driver::List(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  const std::string prefix = path == "/" ? root_ : *key + "/";
  std::set<std::string> names;
  std::string token;
  do {
    auto page = bucket_.List(prefix, "/", token);
    if (!page.ok()) return page.status();
    for (const auto& p : page->prefixes) {
      std::string name = p.substr(prefix.size());
      if (!name.empty() && name.back() == '/') name.pop_back();
      if (!name.empty()) names.insert(name);
    }
    for (const auto& o : page->objects) {
      std::string name = o.key.substr(prefix.size());
      if (name.empty() || IsTailKey(name)) continue;
      if (name.size() > kStateSuffix.size() && name.ends_with(kStateSuffix)) {
        name.resize(name.size() - kStateSuffix.size());  // an unfinished upload shows as its file
      }
      names.insert(name);
    }
    token = page->next_token;
  } while (!token.empty());
  if (names.empty()) return Status::NotFound("list " + path + ": not found");
  return std::vector<std::string>(names.begin(), names.end());
}

Result<std::vector<std::string>> S3Driver::AllKeys(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string token;
  do {
    auto page = bucket_.List(prefix, "", token);
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) keys.push_back(std::move(o.key));
    token = page->next_token;
  } while (!token.empty());
  return keys;
}

Status S3Driver::DropUploadHelpers(const std::string& key, const std::optional<UploadState>& state) {
  if (state && !state->upload_id.empty()) {
    if (Status s = bucket_.AbortMultipart(key, state->upload_id); !s.ok()) return s;
  }
  auto tails = AllKeys(key + std::string(kTailSuffix));
  if (!tails.ok()) return tails.status();
  std::vector<std::string> doomed;
  for (auto& t : *tails) {
    if (IsTailKey(t) && t.rfind(kTailSuffix) == key.size()) doomed.push_back(std::move(t));
  }
  doomed.push_back(StateKey(key));
  return bucket_.DeleteMany(doomed);
}

Status S3Driver::FinishUpload(const std::string& key, UploadState st) {
  if (st.parts.empty()) {
    // Small (or empty) upload: the tail is the whole content.
    if (st.tail_size > 0) return bucket_.Copy(TailKey(key, st.generation), key, st.tail_size);
    return bucket_.Put(key, "");
  }
  if (st.tail_size > 0) {
    const int number = static_cast<int>(st.parts.size()) + 1;
    auto etag = bucket_.UploadPartCopy(key, st.upload_id, number, TailKey(key, st.generation), 0, st.tail_size - 1);
    if (!etag.ok()) return etag.status();
    st.parts.push_back({number, *etag, st.tail_size});
  }
  return bucket_.CompleteMultipart(key, st.upload_id, st.parts);
}

Status S3Driver::Move(const std::string& from, const std::string& to) {
  auto src = Key(from);
  auto dst = Key(to);
  if (!src.ok()) return src.status();
  if (!dst.ok()) return dst.status();
  auto info = bucket_.Head(*src);
  if (!info.ok() && !info.status().IsNotFound()) return info.status();
  std::optional<UploadState> state;
  if (!info.ok()) {
    // An unfinished upload: complete it into a plain object first.
    auto st = LoadState(*src);
    if (!st.ok()) return st.status();
    if (!st->has_value()) return Status::NotFound("move " + from + ": not found");
    state = **st;
    if (Status s = FinishUpload(*src, **st); !s.ok()) return s;
    info = bucket_.Head(*src);
    if (!info.ok()) return info.status();
    if (info->size != state->Size()) {
      return Status::IoError("S3 move " + from + ": completed object has " + std::to_string(info->size) +
                             " bytes, expected " + std::to_string(state->Size()));
    }
  }
  if (*src != *dst) {
    if (Status s = bucket_.Copy(*src, *dst, info->size); !s.ok()) return s;
    if (Status s = bucket_.Delete(*src); !s.ok()) return s;
  }
  if (state) {
    state->upload_id.clear();  // completed: nothing to abort
    (void)DropUploadHelpers(*src, state);
  }
  return Status::Ok();
}

Status S3Driver::Delete(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  std::vector<std::string> doomed;
  // The object itself and its upload helpers: keys starting with `key` and no further '/'.
  std::string token;
  do {
    auto page = bucket_.List(*key, "/", token);
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) {
      std::string_view rest = std::string_view(o.key).substr(key->size());
      if (rest.empty() || rest == kStateSuffix || (rest.starts_with(kTailSuffix) && IsTailKey(o.key))) {
        doomed.push_back(std::move(o.key));
      }
    }
    token = page->next_token;
  } while (!token.empty());
  if (path != "/") {
    auto tree = AllKeys(*key + "/");
    if (!tree.ok()) return tree.status();
    for (auto& k : *tree) doomed.push_back(std::move(k));
  } else {
    auto tree = AllKeys(root_);
    if (!tree.ok()) return tree.status();
    doomed = std::move(*tree);
  }
  if (doomed.empty()) return Status::NotFound("delete " + path + ": not found");
  // Unfinished uploads in the tree: abort their multipart uploads too.
  for (const auto& k : doomed) {
    if (k.size() > kStateSuffix.size() && k.ends_with(kStateSuffix)) {
      const std::string base = k.substr(0, k.size() - kStateSuffix.size());
      auto st = LoadState(base);
      if (st.ok() && st->has_value() && !(*st)->upload_id.empty()) {
        if (Status s = bucket_.AbortMultipart(base, (*st)->upload_id); !s.ok()) return s;
      }
    }
  }
  for (size_t i = 0; i < doomed.size(); i += 1000) {
    std::vector<std::string> batch(doomed.begin() + static_cast<std::ptrdiff_t>(i),
                                   doomed.begin() + static_cast<std::ptrdiff_t>(std::min(doomed.size(), i + 1000)));
    if (Status s = bucket_.DeleteMany(batch); !s.ok()) return s;
  }
  return Status::Ok();
}

Status S3Driver::CheckWritable() {
  const std::string key = root_ + "_berth_tmp/probe-" + RandomHex(8);
  if (Status s = bucket_.Put(key, "probe"); !s.ok()) return Status::IoError("storage not writable: " + s.message());
  if (Status s = bucket_.Delete(key); !s.ok()) return Status::IoError("storage not writable: " + s.message());
  return Status::Ok();
}

Result<std::string> S3Driver::RedirectUrl(const std::string& path) {
  auto key = Key(path);
  if (!key.ok()) return key.status();
  return bucket_.client().PresignGet(*key, options_.redirect_seconds);
}

}  // namespace berth::storage::s3
