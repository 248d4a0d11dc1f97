#include "auth/ldap/directory.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "auth/ldap/filter.h"
#include "util/log.h"
#include "util/random.h"

namespace berth::auth::ldap {
namespace {

constexpr int kMaxGroups = 1000;

// "cn=developers,ou=groups,dc=example,dc=test" -> "developers" (the first
// RDN's value, with DN escapes \, \+ \" \\ and \XX undone).
std::string FirstRdnValue(std::string_view dn) {
  const size_t eq = dn.find('=');
  if (eq == std::string_view::npos) return std::string(dn);
  std::string out;
  for (size_t i = eq + 1; i < dn.size(); ++i) {
    const char c = dn[i];
    if (c == ',' || c == '+') break;
    if (c == '\\' && i + 1 < dn.size()) {
      auto hex = [](char h) {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      if (i + 2 < dn.size() && hex(dn[i + 1]) >= 0 && hex(dn[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(dn[i + 1]) * 16 + hex(dn[i + 2])));
        i += 2;
      } else {
        out.push_back(dn[++i]);
      }
      continue;
    }
    out.push_back(c);
  }
  return out;
}

bool IsAcceptableUserName(std::string_view user) {
  if (user.empty() || user.size() > 256) return false;
  for (unsigned char c : user) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Directory::Directory(DirectoryOptions options) : options_(std::move(options)) {
  (void)RandomBytes(hmac_key_, sizeof hmac_key_);
}

Result<std::shared_ptr<Directory>> Directory::FromConfig(const config::LdapConfig& c) {
  DirectoryOptions o;
  auto url = ParseLdapUrl(c.url);
  if (!url.ok()) return Status::Invalid("auth.ldap.url: " + url.status().message());
  o.client.url = *url;
  if (!url->tls && !c.start_tls) {
    // Allowed by auth.ldap.insecure_plaintext only (config.cpp); said at every start and reload.
    log::Warn(
        "auth.ldap: the directory is reached WITHOUT TLS (insecure_plaintext): passwords cross the network "
        "in cleartext",
        {{"url", c.url}});
  }
  o.client.start_tls = c.start_tls;
  o.client.ca_file = c.ca_file;
  o.client.timeout = std::chrono::seconds(c.timeout_seconds);
  o.bind_dn = c.bind_dn;
  if (!c.bind_password_file.empty()) {
    std::ifstream in(c.bind_password_file);
    if (!in) return Status::Invalid("auth.ldap.bind_password_file: cannot read " + c.bind_password_file);
    std::getline(in, o.bind_password);
    if (!o.bind_password.empty() && o.bind_password.back() == '\r') o.bind_password.pop_back();
    if (o.bind_password.empty()) {
      return Status::Invalid("auth.ldap.bind_password_file: " + c.bind_password_file + " has an empty first line");
    }
  }
  o.user_base = c.user_base;
  o.user_filter = c.user_filter;
  o.username_attribute = c.username_attribute;
  o.group_base = c.group_base;
  o.group_filter = c.group_filter;
  o.group_name_attribute = c.group_name_attribute;
  o.member_of = c.member_of;
  o.cache_ttl = std::chrono::seconds(c.cache_seconds);
  return std::make_shared<Directory>(std::move(o));
}

std::string Directory::CacheKey(std::string_view user, std::string_view password) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::string msg;
  msg.reserve(user.size() + password.size() + 1);
  msg.append(user).push_back('\0');
  msg.append(password);
  HMAC(EVP_sha256(), hmac_key_, sizeof hmac_key_, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
       &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return std::string(reinterpret_cast<char*>(out), len);
}

std::shared_ptr<const GroupSet> Directory::CachedGroups(std::string_view user) const {
  MutexLock lock(mu_);
  auto it = groups_.find(user);
  if (it == groups_.end() || it->second.expires <= Clock::now()) return nullptr;
  return it->second.groups;
}

Directory::Login Directory::Authenticate(std::string_view user, std::string_view password) {
  if (password.empty()) return {Outcome::kBad, "empty password"};
  if (!IsAcceptableUserName(user)) return {Outcome::kBad, "not a user name"};
  const std::string key = CacheKey(user, password);
  const auto now = Clock::now();
  {
    MutexLock lock(mu_);
    auto it = logins_.find(key);
    if (it != logins_.end()) {
      // A hit only with the user's groups still known (else the ACL's group entries would stop matching).
      auto groups = groups_.find(user);
      if (it->second.expires > now && groups != groups_.end() && groups->second.expires > now) {
        return {Outcome::kOk, ""};
      }
      logins_.erase(it);
    }
  }
  GroupSet groups;
  Login result = Lookup(user, password, &groups);
  if (result.outcome != Outcome::kOk) return result;
  const auto expires = Clock::now() + options_.cache_ttl;
  auto shared = std::make_shared<const GroupSet>(std::move(groups));
  MutexLock lock(mu_);
  const size_t max_entries = std::max<size_t>(1, options_.max_cached_logins);
  if (logins_.size() >= max_entries || groups_.size() >= max_entries) {
    const auto t = Clock::now();
    std::erase_if(logins_, [t](const auto& e) { return e.second.expires <= t; });
    std::erase_if(groups_, [t](const auto& e) { return e.second.expires <= t; });
    // Still full: forget both together (never logins without their groups).
    if (logins_.size() >= max_entries || groups_.size() >= max_entries) {
      logins_.clear();
      groups_.clear();
    }
  }
  logins_[key] = Cached{std::string(user), shared, expires};
  groups_[std::string(user)] = Cached{std::string(user), shared, expires};
  return result;
}

Directory::Login Directory::Lookup(std::string_view user, std::string_view password, GroupSet* groups) const {
  auto client = LdapClient::Connect(options_.client);
  if (!client.ok()) return {Outcome::kUnavailable, client.status().message()};
  LdapClient& c = **client;
  if (!options_.bind_dn.empty()) {
    if (Status s = c.Bind(options_.bind_dn, options_.bind_password); !s.ok()) {
      return {Outcome::kUnavailable, "the service account (bind_dn) cannot bind: " + s.message()};
    }
  }
  const std::map<std::string, std::string> user_vars{{"username", std::string(user)}};
  std::vector<std::string> attributes{options_.username_attribute};
  if (!options_.member_of.empty()) attributes.push_back(options_.member_of);
  auto found =
      c.Search(options_.user_base, SearchScope::kSubtree, ExpandFilter(options_.user_filter, user_vars), attributes, 2);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kUnavailable) return {Outcome::kUnavailable, found.status().message()};
    return {Outcome::kBad, found.status().message()};  // e.g. more than one entry: ambiguous, refused
  }
  if (found->empty()) return {Outcome::kBad, "no such user in the directory"};
  if (found->size() > 1) return {Outcome::kBad, "the user filter matches several entries"};
  const SearchEntry& entry = found->front();
  if (entry.dn.empty()) return {Outcome::kBad, "the directory returned an entry without a DN"};
  bool same_name = false;
  if (auto names = entry.attributes.find(ToLower(options_.username_attribute)); names != entry.attributes.end()) {
    for (const auto& n : names->second) same_name = same_name || n == user;
  }
  if (!same_name) {
    return {Outcome::kBad, "the login name is not exactly the entry's " + options_.username_attribute};
  }

  if (!options_.member_of.empty()) {
    auto it = entry.attributes.find(ToLower(options_.member_of));
    if (it != entry.attributes.end()) {
      for (const auto& group_dn : it->second) groups->insert(FirstRdnValue(group_dn));
    }
  } else if (!options_.group_base.empty()) {
    const std::map<std::string, std::string> group_vars{{"username", std::string(user)}, {"dn", entry.dn}};
    auto in_groups =
        c.Search(options_.group_base, SearchScope::kSubtree, ExpandFilter(options_.group_filter, group_vars),
                 {options_.group_name_attribute}, kMaxGroups);
    if (!in_groups.ok()) {
      if (in_groups.status().code() == StatusCode::kUnavailable) {
        return {Outcome::kUnavailable, in_groups.status().message()};
      }
      return {Outcome::kBad, in_groups.status().message()};
    }
    const std::string name_attribute = ToLower(options_.group_name_attribute);
    for (const auto& g : *in_groups) {
      auto it = g.attributes.find(name_attribute);
      if (it != g.attributes.end()) {
        for (const auto& name : it->second) groups->insert(name);
      }
    }
  }

  int code = -1;
  Status bound = c.Bind(entry.dn, std::string(password), &code);
  if (bound.ok()) return {Outcome::kOk, ""};
  if (bound.code() == StatusCode::kUnavailable) return {Outcome::kUnavailable, bound.message()};
  return {Outcome::kBad, "the directory refused the password: " + bound.message()};
}

}  // namespace berth::auth::ldap
