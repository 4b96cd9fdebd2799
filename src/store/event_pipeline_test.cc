#include "store/event_pipeline.h"

#include <gtest/gtest.h>

namespace trialcore {
namespace {

std::vector<Event> Numbered(uint64_t from, uint64_t to) {
  std::vector<Event> batch;
  for (uint64_t seq = from; seq < to; ++seq) {
    Event e;
    e.seq = seq;
    batch.push_back(std::move(e));
  }
  return batch;
}

TEST(EventPipelineTest, EveryEventReachesTheConsumerInOrder) {
  std::vector<uint64_t> seen;
  // Many more batches than the queue holds, so the producer waits for room.
  Status s = PipelineEvents(
      [](const EmitEvents& emit) -> Status {
        for (uint64_t b = 0; b < 50; ++b) TC_RETURN_IF_ERROR(emit(Numbered(b * 7, b * 7 + 7)));
        return Status::Ok();
      },
      [&](const Event& e) {
        seen.push_back(e.seq);
        return Status::Ok();
      },
      2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(seen.size(), 350u);
  for (uint64_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST(EventPipelineTest, AConsumerErrorStopsTheProducerAndIsReturned) {
  Status told_to_stop;
  uint64_t consumed = 0;
  Status s = PipelineEvents(
      [&](const EmitEvents& emit) -> Status {
        for (uint64_t b = 0; b < 1000; ++b) {
          told_to_stop = emit(Numbered(b * 10, b * 10 + 10));
          if (!told_to_stop.ok()) return told_to_stop;
        }
        return Status::Ok();
      },
      [&](const Event& e) -> Status {
        if (e.seq == 25) return InvalidArgument("event 25 is bad");
        ++consumed;
        return Status::Ok();
      },
      1);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "event 25 is bad");
  EXPECT_EQ(consumed, 25u);
  // The producer learnt that the consumer stopped instead of emitting all
  // thousand batches into a queue nobody reads.
  EXPECT_EQ(told_to_stop.code(), StatusCode::kAborted);
}

TEST(EventPipelineTest, AProducerErrorComesAfterTheEventsItEmittedBeforeIt) {
  uint64_t consumed = 0;
  Status s = PipelineEvents(
      [](const EmitEvents& emit) -> Status {
        TC_RETURN_IF_ERROR(emit(Numbered(0, 3)));
        TC_RETURN_IF_ERROR(emit(Numbered(3, 5)));
        return DataLoss("payload of event 6: truncated");
      },
      [&](const Event&) {
        ++consumed;
        return Status::Ok();
      });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "payload of event 6: truncated");
  EXPECT_EQ(consumed, 5u);
}

TEST(EventPipelineTest, NothingToReadIsOk) {
  bool called = false;
  Status s = PipelineEvents([](const EmitEvents&) { return Status::Ok(); },
                            [&](const Event&) {
                              called = true;
                              return Status::Ok();
                            });
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace trialcore
