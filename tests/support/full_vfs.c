/* full_vfs.c - see full_vfs.h. Every method forwards to the wrapped VFS's file; only xWrite
 * looks at the flag. */
#include "full_vfs.h"
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

typedef struct fv_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct (szOsFile covers both) */
} fv_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs full_vfs;
static atomic_bool armed;
static atomic_long refused;

#define REAL(f) (((fv_file *)(f))->real)

static int fv_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int fv_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int fv_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    if (atomic_load(&armed)) {
        atomic_fetch_add(&refused, 1);
        return SQLITE_FULL;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int fv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int fv_sync(sqlite3_file *f, int flags) { return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int fv_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int fv_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int fv_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int fv_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int fv_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int fv_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int fv_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int fv_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, p);
}
static int fv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void fv_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int fv_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int fv_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int fv_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods fv_io = {
    .iVersion = 3,
    .xClose = fv_close, .xRead = fv_read, .xWrite = fv_write, .xTruncate = fv_truncate,
    .xSync = fv_sync, .xFileSize = fv_size, .xLock = fv_lock, .xUnlock = fv_unlock,
    .xCheckReservedLock = fv_reserved, .xFileControl = fv_control, .xSectorSize = fv_sector,
    .xDeviceCharacteristics = fv_device, .xShmMap = fv_shm_map, .xShmLock = fv_shm_lock,
    .xShmBarrier = fv_shm_barrier, .xShmUnmap = fv_shm_unmap, .xFetch = fv_fetch,
    .xUnfetch = fv_unfetch,
};

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    fv_file *p = (fv_file *)f;
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out);
    p->base.pMethods = p->real->pMethods ? &fv_io : NULL;
    return rc;
}

int full_vfs_install(void)
{
    if (real_vfs)
        return 0;
    sqlite3_initialize();
    sqlite3_vfs *r = sqlite3_vfs_find(NULL);
    if (!r)
        return -1;
    full_vfs = *r; /* the other methods (delete, access, time...) are the real ones */
    full_vfs.pNext = NULL;
    full_vfs.zName = "trayflash-test-full";
    full_vfs.szOsFile = (int)sizeof(fv_file) + r->szOsFile;
    full_vfs.xOpen = fv_open;
    real_vfs = r;
    return sqlite3_vfs_register(&full_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void full_vfs_arm(bool full) { atomic_store(&armed, full); }

long full_vfs_refused(void) { return atomic_load(&refused); }
