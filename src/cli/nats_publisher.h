// The publisher to NATS JetStream as `events publish` and `serve --nats` set
// it up: the system log left out, problems reported on ctx.err.
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "publish/event_publisher.h"

namespace trialcore::cli {

// stream empty: the default. InvalidArgument names --nats for a bad URL.
Result<std::unique_ptr<publish::EventPublisher>> MakePublisher(EventStore* store, const std::string& nats_url,
                                                               const std::string& stream, Context& ctx);

}  // namespace trialcore::cli
