#include "auth/key_ring.h"

namespace berth::auth {

Result<std::shared_ptr<const KeyRing>> KeyRing::Make(std::shared_ptr<const SigningKey> current,
                                                     std::vector<std::shared_ptr<const SigningKey>> accepted) {
  if (current == nullptr || !current->can_sign()) return Status::Invalid("the current token key must be a private key");
  std::shared_ptr<KeyRing> ring(new KeyRing());
  ring->current_ = std::move(current);
  for (auto& k : accepted) {
    if (k == nullptr) return Status::Invalid("missing token key");
    // The kid is a hash of the public key: the same kid is the same key, listed
    // twice (or the current key also listed as accepted). Harmless; keep one.
    if (ring->Find(k->kid()) != nullptr) continue;
    ring->accepted_.push_back(std::move(k));
  }
  return std::shared_ptr<const KeyRing>(ring);
}

const SigningKey* KeyRing::Find(std::string_view kid) const {
  if (current_->kid() == kid) return current_.get();
  for (const auto& k : accepted_) {
    if (k->kid() == kid) return k.get();
  }
  return nullptr;
}

std::string KeyRing::CertificateBundlePem() const {
  std::string out = current_->certificate_pem();
  for (const auto& k : accepted_) out += k->certificate_pem();
  return out;
}

nlohmann::json KeyRing::Jwks() const {
  nlohmann::json keys = nlohmann::json::array({current_->Jwk()});
  for (const auto& k : accepted_) keys.push_back(k->Jwk());
  return nlohmann::json{{"keys", keys}};
}

}  // namespace berth::auth
