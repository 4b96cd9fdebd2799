// For tests: the store a test runs on, so that one suite runs on every back
// end (issue 14 §7). The ctest entry chooses: TRIALCORE_TEST_BACKEND=postgres
// runs the suite on a PostgreSQL 15 started once for the test process
// (store/postgres/test_server.h), anything else on SQLite as the test asks
// (a file, or a path through its in-memory Env).
#pragma once

#include <memory>
#include <string>

#include "store/event_store.h"
#include "store/open_store.h"

namespace trialcore::testing_util {

bool TestingOnPostgres();

// Opens the test's store named `name`: on SQLite that path (through
// options.env), on PostgreSQL a database of its own for each test and name;
// the same name again within one test opens the same database (a reopen, a
// second server), as the same path would.
Result<std::unique_ptr<EventStore>> OpenTestStore(const std::string& name, const StoreOpenOptions& options = {});

// The `--db` a test gives the trialcore command: the path on SQLite, on
// PostgreSQL the URL of a database of its own for each test and name.
Result<std::string> TestDbArgument(const std::string& name);

// What a test prints to say which back end it ran on.
std::string TestBackendName();

}  // namespace trialcore::testing_util
