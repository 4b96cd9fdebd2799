// Ports on this machine's loopback address, for what starts servers of its
// own (the tests' PostgreSQL, nats-server, trialcore and haproxy).
#pragma once

namespace trialcore {

// A port no one listens on now (the kernel's choice for port 0), or 0 when
// none could be had. Another process may take it before the caller does: a
// caller that starts a server on it tries again with another then.
int FreeLoopbackPort();

// Whether something accepts TCP connections on the loopback port now.
bool LoopbackAccepts(int port);

}  // namespace trialcore
