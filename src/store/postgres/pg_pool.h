// A pool of PostgreSQL connections for the store's readers and writers.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_conn.h"

namespace trialcore::pg {

// Connections, each used by one thread at a time, made when first needed.
class Pool {
 public:
  // setup runs on each new connection (a reader's read-only default).
  Pool(std::string url, size_t max, std::string setup) : url_(std::move(url)), max_(max), setup_(std::move(setup)) {}

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> c) : pool_(pool), conn_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (pool_ && conn_) pool_->Return(std::move(conn_));
    }
    Conn* operator->() { return conn_.get(); }
    Conn& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  // Waits while every connection is leased and no more may be opened.
  Result<Lease> Get();

 private:
  void Return(std::unique_ptr<Conn> c);

  const std::string url_;
  const size_t max_;
  const std::string setup_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  size_t open_ = 0;
};

}  // namespace trialcore::pg
