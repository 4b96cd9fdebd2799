// Who sent a request when servers stand behind a load balancer (haproxy's
// `option forwardfor`): the login limit per client address and the audit
// trail's client must name the user's machine, not the proxy's, or every
// user behind it would share one limit. Only proxies the operator names are
// believed: anyone else can write an X-Forwarded-For header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trialcore::api {

// The peer, unless it is a trusted proxy and the request carries an
// X-Forwarded-For: then the right-most address in it that is not itself a
// trusted proxy (each proxy appends the address it received from), or the
// left-most when all are. Entries are trimmed; an empty header is ignored.
std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

}  // namespace trialcore::api
