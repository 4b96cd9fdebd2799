#include "store/postgres/pg_pool.h"

namespace trialcore::pg {

Result<Pool::Lease> Pool::Get() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    ++open_;
  }
  auto c = Conn::Connect(url_);
  if (c.ok() && !setup_.empty()) {
    if (Status s = (*c)->Exec(setup_); !s.ok()) c = s;
  }
  if (!c.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(c).value());
}

void Pool::Return(std::unique_ptr<Conn> c) {
  std::lock_guard lock(mu_);
  // A connection left inside a transaction (a failed ROLLBACK) or broken
  // is dropped, never handed to the next caller.
  if (c->broken() || PQtransactionStatus(c->handle()) != PQTRANS_IDLE) {
    --open_;
  } else {
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

}  // namespace trialcore::pg
