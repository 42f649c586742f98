// The SQLite 3 header, plus what Swift cannot import: SQLITE_TRANSIENT is a cast macro.
#ifndef HEALTHLEDGER_CSQLITE_SHIM_H
#define HEALTHLEDGER_CSQLITE_SHIM_H

#include <sqlite3.h>

static inline sqlite3_destructor_type hl_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
