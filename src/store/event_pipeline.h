// Reading and decoding a log's events on one thread while another does the
// work with them: at a rebuild's hundreds of thousands of events, decoding
// the payloads is about a fifth of the time and needs nothing the writer
// holds, so on a second core it overlaps the replay and the inserts.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/projection.h"

namespace trialcore {

// Hands a batch of events to the consumer. Returns Aborted once the consumer
// has stopped (it failed): the producer should then return at once.
using EmitEvents = std::function<Status(std::vector<Event>&&)>;

// Runs produce on a thread of its own and calls consume with every event it
// emits, in order, on the caller's thread; at most max_batches batches wait
// between them, so memory stays bounded whatever the log's size.
// Returns the consumer's first error (the producer is stopped), else the
// producer's (after every event it emitted before it was consumed), else Ok.
// Blocks until the producer's thread has ended.
Status PipelineEvents(const std::function<Status(const EmitEvents&)>& produce, const EventVisitor& consume,
                      size_t max_batches = 4);

}  // namespace trialcore
