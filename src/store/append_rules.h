// The rules of an append that do not depend on how events are stored: every
// back end's Append calls these, so each rule lives once, above the back
// ends (doc/event_store.md, "Where the rules live").
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/event_store.h"

namespace trialcore {

// Checks everything about a request that does not depend on stored state
// (study id, drafts, expected versions, entity paths inside their stream)
// and returns each draft's payload in canonical bytes, in draft order.
// Errors name the event's position in the batch.
Result<std::vector<std::string>> ValidateAppend(const AppendRequest& request);

// Calls fn(path, value_bytes) for each entity an encoded payload sets (its
// member "set", an object of entity path to value).
Status ForEachSetEntry(std::string_view payload, const std::function<Status(std::string_view, std::string_view)>& fn);

// An encoded payload decoded without its member "set": the entity values,
// which the store projects itself (entity_values) and which a projection
// set's rewrite never reads (EventStore::RewriteProjections). A save's "set"
// repeats its changes by full path: skipping it saves a third of decoding.
Result<Value> DecodePayloadWithoutSet(std::string_view payload);

// The reason-for-change rule (DESIGN.md §1): an event that changes a value an
// entity already has must give a reason. A first entry, a clearing of an
// empty value, or setting the same value again needs none.
// True when the rule needs the entity's stored value to judge the event: with
// a reason any change is allowed, so a back end need not read it.
inline bool ReasonRuleNeedsStoredValue(const Event& event) { return event.reason.empty(); }
// stored: canonical bytes of the entity's value before this event (as of the
// earlier events of the same batch), nullopt when it has none; value: the
// bytes the event sets. FailedPrecondition names the path and event type.
Status CheckReasonForChange(const Event& event, std::string_view path, std::optional<std::string_view> stored,
                            std::string_view value);

// For EventStore::ImportEvents: checks that an event read from another store
// continues this one (its seq is next_seq; it is event number study_size of
// its study and links to study_head) and that its hash is the hash of its
// record; returns its payload's canonical bytes. DataLoss names the event.
Result<std::string> CheckImportedEvent(const Event& event, uint64_t next_seq, uint64_t study_size,
                                       const Hash& study_head);

}  // namespace trialcore
