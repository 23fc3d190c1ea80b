/* full_vfs.h - a disk that fills up on demand, for tests: an SQLite VFS that wraps the default
 * one and, while armed, refuses every write with SQLITE_FULL, as the unix VFS does on ENOSPC.
 * Reads, locks and the WAL index go through untouched, so readers keep working. Installed as
 * the process's default VFS: every connection opened afterwards uses it. Test-only; the flag is
 * the one piece of process-wide state, as a VFS registration is. */
#pragma once
#include <stdbool.h>

/* Registers the wrapper as the default VFS (once; later calls do nothing). 0 or -1. */
int full_vfs_install(void);
void full_vfs_arm(bool full);
/* Writes refused since install (so a test can tell the disk was really hit). */
long full_vfs_refused(void);
