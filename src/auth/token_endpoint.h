// TokenEndpoint: the Docker token server at GET/POST /v2/token (and /token).
//
//  GET  ?service=&scope=&scope=...&account=&offline_token=true&client_id=
//       with Basic credentials, or none for anonymous (docker, podman, skopeo)
//  POST grant_type=password|refresh_token, username, password, refresh_token,
//       service, scope (space-separated), client_id, access_type=offline (containerd, docker)
// Each scope is granted what the ACL allows of it; a partial grant is a token
// with fewer actions, not an error. Thread-safe.
#pragma once

#include "auth/access_controller.h"
#include "http/exchange.h"

namespace berth::auth {

class TokenEndpoint {
 public:
  explicit TokenEndpoint(AccessController& access) : access_(access) {}
  http::Task<void> Serve(http::Exchange& ex);

 private:
  AccessController& access_;
};

}  // namespace berth::auth
