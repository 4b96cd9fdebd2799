// trialcore events publish and trialcore events tail: the event log on NATS
// JetStream (src/publish, doc/events_on_nats.md).
#include <signal.h>

#include <ostream>
#include <thread>

#include "api/users.h"
#include "cli/commands.h"
#include "cli/nats_publisher.h"
#include "cli/stop_signals.h"
#include "cli/store_access.h"
#include "notify/notifier.h"
#include "publish/event_publisher.h"
#include "publish/event_tail.h"
#include "safety/meddra_store.h"

namespace trialcore::cli {

Result<std::unique_ptr<publish::EventPublisher>> MakePublisher(EventStore* store, const std::string& nats_url,
                                                               const std::string& stream, Context& ctx) {
  publish::PublisherOptions o;
  o.nats_url = nats_url;
  if (!stream.empty()) o.stream_name = stream;
  // Accounts, password and token hashes stay in the database, and so do
  // the sponsor's licensed MedDRA copy and the contacts' e-mail addresses of
  // the notification log: events of the studies only.
  o.skip_studies = {api::kSystemStudy, safety::kMeddraLog, notify::kNotificationsLog};
  const std::string where = "JetStream stream " + o.stream_name + " at " + nats_url;
  o.on_problem = [&ctx, where](const Status& s) {
    if (s.ok()) {
      ctx.err << "trialcore: publishing to " << where << " again" << std::endl;
    } else {
      ctx.err << "trialcore: publishing to " << where << ": " << s.message() << std::endl;
    }
  };
  auto made = publish::EventPublisher::Create(store, std::move(o));
  if (!made.ok()) return made.status().WithContext("--nats");
  return made;
}

Status EventsPublish(const EventsPublishArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env, args.once ? StoreUse::kCommand : StoreUse::kServer));
  TC_ASSIGN_OR_RETURN(auto publisher, MakePublisher(store.get(), args.nats_url, args.stream, ctx));
  const std::string stream = args.stream.empty() ? publish::kDefaultStreamName : args.stream;
  if (args.once) {
    TC_ASSIGN_OR_RETURN(uint64_t n, publisher->PublishPending());
    ctx.out << "published " << n << " events to JetStream stream " << stream << " at " << args.nats_url
            << "; it holds every event up to " << publisher->position() << std::endl;
    return Status::Ok();
  }
  StopSignals stop_signals;  // before the publisher's thread starts
  publisher->Start();
  ctx.out << "publishing every event of " << args.db << " to JetStream stream " << stream << " at " << args.nats_url
          << " as it is committed (stop with Ctrl-C)" << std::endl;
  Status st = stop_signals.RunUntilStopped([&] { return publisher->Wait(); }, [&] { publisher->RequestStop(); });
  ctx.out << "stopped; the stream holds every event up to " << publisher->position() << std::endl;
  return st;
}

Status EventsTail(const EventsTailArgs& args, Context& ctx) {
  publish::TailOptions o;
  o.nats_url = args.nats_url;
  if (!args.stream.empty()) o.stream_name = args.stream;
  o.study = args.study;
  o.from_start = args.from_start;
  if (args.limit) o.limit = *args.limit;
  return publish::TailStudy(o, [&](std::string_view json) {
    ctx.out << json << std::endl;  // a line at a time, for a pipe's reader
    return ctx.out ? Status::Ok() : IoError("cannot write to standard output");
  });
}

}  // namespace trialcore::cli
