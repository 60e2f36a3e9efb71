// Checks of an LMDB file before liblmdb reads it (db_lmdb.cc). liblmdb
// trusts data.mdb: a damaged meta page made it divide by zero, and a damaged
// B-tree page makes its own assertions abort the process (or it reads past a
// page), both found by tests/fuzz/fuzz_db.cc. Not a public header.
#pragma once

#include <cstddef>
#include <string>

namespace deepspark {
namespace db {

// Reads `source`/data.mdb (an LMDB of format 1 written on a 64-bit machine)
// and throws deepspark::Error naming the file and what is wrong if its meta
// pages, or any page of its main database reachable from the newest meta
// page (branch and leaf pages, node offsets and sizes, overflow pages), are
// not what LMDB would have written. Reads every branch and leaf page once,
// not the values in overflow pages. Does nothing if the file is absent (LMDB
// says so). A database that a writer changes while this runs may be refused.
void CheckLmdbFile(const std::string& source);

// A key for an error message: printable ASCII as is, other bytes as \xNN,
// cut after 64 bytes (a damaged key may be anything).
std::string PrintableKey(const char* data, size_t size);

}  // namespace db
}  // namespace deepspark
