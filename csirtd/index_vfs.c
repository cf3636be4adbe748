/*
 * index_vfs.c - the index's SQLite VFS: the default (unix) one, except that
 * a connection's WAL is read and written through a shared mapping of the
 * file while index.c says that is safe (index_vfs_wal_begin/end).
 *
 * Why: under load every note changes ~3 pages of the index (its case's row,
 * its notes row, its events_case entry: three B-trees keyed by case, so
 * ~3 distinct pages a note with many cases open).  Each page is a WAL frame,
 * written by `ix-flush` as two pwrite()s (its 24-byte header, its 4 KiB
 * page), then read back by a checkpoint with a pread() and written into the
 * database.  Those syscalls, not the copying, were most of both threads'
 * time: 69 % of `ix-flush`'s samples and 92 % of `ix-checkpoint`'s were in
 * the kernel (perf, 256 connections over 1,024 cases).  Through the mapping
 * a frame is a memcpy() into the page cache the WAL's pages already occupy
 * (the WAL is reused from its start, so after the first round every frame
 * lands on a page the file already has).  `ix-flush` went from 17 to 8 µs
 * of CPU a note, and four alternated pairs of 15 s runs (256 connections,
 * 1,024 cases) gave 1.068 of the rate at 0.925 of the daemon's CPU a
 * request.  The checkpoints' writes into the database file stay pwrite()s:
 * through a mapping of it as well, the rate was 0.988 and the p99 1.19
 * times the WAL's alone (four pairs; each page they reach faults once
 * after every write-back, and the database is hundreds of megabytes).
 * The WAL's mapped pages count in the daemon's RSS as file pages
 * (RssFile), up to the WAL's size (~35 MB under load).
 *
 * When a mapped access is safe.  A store beyond the end of a file raises
 * SIGBUS, so the mapping is used only below a size known to be the file's
 * at least:
 *   - the writer calls index_vfs_wal_begin() once BEGIN IMMEDIATE holds the
 *     WAL's write lock: only a holder of that lock (or of an exclusive lock
 *     over all readers) truncates a WAL, so the size fstat() gives then
 *     stays the file's at least until index_vfs_wal_end(); the transaction's
 *     own writes past it go through pwrite() and raise it;
 *   - a checkpoint reads only frames that exist (at most the shared
 *     header's mxFrame, written before it was published), and the frames it
 *     has not copied yet cannot be truncated under it, so the same bracket
 *     around a checkpoint is safe for its reads.
 * Anything outside a bracket, and any access past the known size or the
 * mapping, takes the unix VFS's path unchanged.
 *
 * Errors.  The WAL's frames are only ever mapped over bytes written before
 * (by pwrite(), when the file grew), whose blocks the file system has
 * already reserved: a store cannot meet ENOSPC, and a write-back error is
 * reported to the fsync() of the index's files (index.c's checkpoint
 * thread syncs them every few seconds and stops the writer on failure), as
 * for a buffered pwrite().  fsync() and fdatasync() write back the pages
 * dirtied through a mapping too, so a synced connection loses nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "index.h"
#include "index_vfs.h"

/* The mapping's size: the WAL as the index uses it stays below ~70 MB
 * (index.c restarts it at 8,000 frames); a longer one (a reader held back
 * its checkpoints) is mapped up to this and written past it as before. */
#define VFS_MAP_MAX ((size_t)256 << 20)
#define VFS_MAP_STEP ((size_t)8 << 20)

struct vfs_file {
	sqlite3_file base;
	sqlite3_file *real; /* the unix VFS's file, right after this struct */
	int fd;             /* WAL: a descriptor of our own to map, or -1 */
	unsigned char *map;
	size_t map_len;
	sqlite3_int64 size; /* in a bracket: the file's size, at least */
	bool wal;           /* a WAL opened read-write: counted */
	bool on;            /* in a bracket */
};

/* The WALs' bytes by way (index_wal_io()), for /metrics and the tests. */
static _Atomic uint64_t vfs_io[2][2]; /* [read, write][mapped, syscall] */

static void
vfs_count(const struct vfs_file *f, int write, bool mapped, int n)
{
	if (f->wal)
		atomic_fetch_add_explicit(&vfs_io[write][mapped ? 0 : 1],
		                          (uint64_t)n, memory_order_relaxed);
}

/* The unix VFS's file follows ours, aligned for it. */
#define VFS_FILE_SIZE                                                          \
	((sizeof(struct vfs_file) + _Alignof(max_align_t) - 1) /               \
	 _Alignof(max_align_t) * _Alignof(max_align_t))

static sqlite3_vfs vfs;
static const sqlite3_io_methods vfs_methods;

static sqlite3_vfs *
vfs_real(void)
{
	return vfs.pAppData;
}

static struct vfs_file *
vfs_file(sqlite3_file *f)
{
	return (struct vfs_file *)f;
}

/* In a bracket, with [off, off + n) below both the file's known size and
 * the mapping's end. */
static bool
vfs_mapped(const struct vfs_file *f, int n, sqlite3_int64 off)
{
	return f->on && f->map != NULL && off >= 0 && n >= 0 &&
	       off + n <= f->size && (size_t)(off + n) <= f->map_len;
}

static int
vfs_close(sqlite3_file *file)
{
	struct vfs_file *f = vfs_file(file);
	int rc = f->real->pMethods->xClose(f->real);

	if (f->map != NULL)
		munmap(f->map, f->map_len);
	if (f->fd >= 0)
		close(f->fd);
	f->map = NULL;
	f->fd = -1;
	return rc;
}

static int
vfs_read(sqlite3_file *file, void *buf, int n, sqlite3_int64 off)
{
	struct vfs_file *f = vfs_file(file);

	if (vfs_mapped(f, n, off)) {
		memcpy(buf, f->map + off, (size_t)n);
		vfs_count(f, 0, true, n);
		return SQLITE_OK;
	}
	vfs_count(f, 0, false, n);
	return f->real->pMethods->xRead(f->real, buf, n, off);
}

static int
vfs_write(sqlite3_file *file, const void *buf, int n, sqlite3_int64 off)
{
	struct vfs_file *f = vfs_file(file);
	int rc;

	if (vfs_mapped(f, n, off)) {
		memcpy(f->map + off, buf, (size_t)n);
		vfs_count(f, 1, true, n);
		return SQLITE_OK;
	}
	vfs_count(f, 1, false, n);
	rc = f->real->pMethods->xWrite(f->real, buf, n, off);
	/* Written through, the file is at least this long now (no one else
	 * truncates it within the bracket). */
	if (rc == SQLITE_OK && f->on && off + n > f->size)
		f->size = off + n;
	return rc;
}

static int
vfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct vfs_file *f = vfs_file(file);
	int rc = f->real->pMethods->xTruncate(f->real, size);

	/* Whatever the outcome, the file may now be this short. */
	if (f->size > size)
		f->size = size;
	return rc;
}

static int
vfs_sync(sqlite3_file *file, int flags)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xSync(f->real, flags);
}

static int
vfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xFileSize(f->real, size);
}

static int
vfs_lock(sqlite3_file *file, int level)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xLock(f->real, level);
}

static int
vfs_unlock(sqlite3_file *file, int level)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xUnlock(f->real, level);
}

static int
vfs_check_reserved_lock(sqlite3_file *file, int *out)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
vfs_file_control(sqlite3_file *file, int op, void *arg)
{
	struct vfs_file *f = vfs_file(file);

	if (op == SQLITE_FCNTL_VFSNAME) {
		int rc = f->real->pMethods->xFileControl(f->real, op, arg);

		if (rc == SQLITE_OK) {
			char *inner = *(char **)arg;

			*(char **)arg =
			    sqlite3_mprintf("%s/%z", vfs.zName, inner);
		}
		return rc;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
vfs_sector_size(sqlite3_file *file)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xSectorSize(f->real);
}

static int
vfs_device_characteristics(sqlite3_file *file)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int
vfs_shm_map(sqlite3_file *file, int region, int size, int extend,
            void volatile **out)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

static int
vfs_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
vfs_shm_barrier(sqlite3_file *file)
{
	struct vfs_file *f = vfs_file(file);

	f->real->pMethods->xShmBarrier(f->real);
}

static int
vfs_shm_unmap(sqlite3_file *file, int delete_flag)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int
vfs_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xFetch(f->real, off, n, out);
}

static int
vfs_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	struct vfs_file *f = vfs_file(file);

	return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods vfs_methods = {
    .iVersion = 3,
    .xClose = vfs_close,
    .xRead = vfs_read,
    .xWrite = vfs_write,
    .xTruncate = vfs_truncate,
    .xSync = vfs_sync,
    .xFileSize = vfs_file_size,
    .xLock = vfs_lock,
    .xUnlock = vfs_unlock,
    .xCheckReservedLock = vfs_check_reserved_lock,
    .xFileControl = vfs_file_control,
    .xSectorSize = vfs_sector_size,
    .xDeviceCharacteristics = vfs_device_characteristics,
    .xShmMap = vfs_shm_map,
    .xShmLock = vfs_shm_lock,
    .xShmBarrier = vfs_shm_barrier,
    .xShmUnmap = vfs_shm_unmap,
    .xFetch = vfs_fetch,
    .xUnfetch = vfs_unfetch,
};

static int
vfs_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *file, int flags,
         int *out_flags)
{
	struct vfs_file *f = vfs_file(file);
	sqlite3_vfs *real = vfs_real();
	int rc;

	(void)v;
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->real = (sqlite3_file *)((char *)file + VFS_FILE_SIZE);
	rc = real->xOpen(real, name, f->real, flags, out_flags);
	if (f->real->pMethods == NULL) {
		file->pMethods = NULL;
		return rc;
	}
	file->pMethods = &vfs_methods;
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) &&
	    (flags & SQLITE_OPEN_READWRITE) && name != NULL) {
		f->wal = true;
		f->fd = open(name, O_RDWR | O_CLOEXEC);
	}
	return rc;
}

/* Everything else is the unix VFS's. */
static int
vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return vfs_real()->xDelete(vfs_real(), name, sync_dir);
}

static int
vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return vfs_real()->xAccess(vfs_real(), name, flags, out);
}

static int
vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return vfs_real()->xFullPathname(vfs_real(), name, n, out);
}

static void *
vfs_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return vfs_real()->xDlOpen(vfs_real(), name);
}

static void
vfs_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	vfs_real()->xDlError(vfs_real(), n, out);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return vfs_real()->xDlSym(vfs_real(), h, sym);
}

static void
vfs_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	vfs_real()->xDlClose(vfs_real(), h);
}

static int
vfs_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return vfs_real()->xRandomness(vfs_real(), n, out);
}

static int
vfs_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return vfs_real()->xSleep(vfs_real(), us);
}

static int
vfs_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return vfs_real()->xCurrentTime(vfs_real(), out);
}

static int
vfs_get_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return vfs_real()->xGetLastError(vfs_real(), n, out);
}

static int
vfs_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return vfs_real()->xCurrentTimeInt64(vfs_real(), out);
}

static int
vfs_set_system_call(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr p)
{
	(void)v;
	return vfs_real()->xSetSystemCall(vfs_real(), name, p);
}

static sqlite3_syscall_ptr
vfs_get_system_call(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return vfs_real()->xGetSystemCall(vfs_real(), name);
}

static const char *
vfs_next_system_call(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return vfs_real()->xNextSystemCall(vfs_real(), name);
}

static int vfs_registered;

static void
vfs_register_once(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find("unix");

	/* The unix VFS is version 3 (SQLite 3.7.6 on); without it, or with
	 * an older one, the index uses the default VFS as it is. */
	if (real == NULL || real->iVersion < 3)
		return;
	vfs = (sqlite3_vfs){
	    .iVersion = 3,
	    .szOsFile = (int)VFS_FILE_SIZE + real->szOsFile,
	    .mxPathname = real->mxPathname,
	    .zName = INDEX_VFS_NAME,
	    .pAppData = real,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dlopen,
	    .xDlError = vfs_dlerror,
	    .xDlSym = vfs_dlsym,
	    .xDlClose = vfs_dlclose,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_get_last_error,
	    .xCurrentTimeInt64 = vfs_current_time_int64,
	    .xSetSystemCall = vfs_set_system_call,
	    .xGetSystemCall = vfs_get_system_call,
	    .xNextSystemCall = vfs_next_system_call,
	};
	vfs_registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

const char *
index_vfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vfs_register_once);
	return vfs_registered ? INDEX_VFS_NAME : NULL;
}

/* The connection's WAL, if it is open and ours. */
static struct vfs_file *
vfs_wal(sqlite3 *db)
{
	sqlite3_file *file = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	                         &file) != SQLITE_OK ||
	    file == NULL || file->pMethods != &vfs_methods)
		return NULL;
	return vfs_file(file);
}

void
index_vfs_wal_begin(sqlite3 *db)
{
	struct vfs_file *f = vfs_wal(db);
	struct stat st;
	size_t want;

	if (f == NULL || f->fd < 0 || fstat(f->fd, &st) != 0)
		return;
	want = (size_t)st.st_size;
	if (want > VFS_MAP_MAX)
		want = VFS_MAP_MAX;
	if (want > f->map_len) {
		void *p;

		want = (want + VFS_MAP_STEP - 1) / VFS_MAP_STEP * VFS_MAP_STEP;
		if (want > VFS_MAP_MAX)
			want = VFS_MAP_MAX;
		if (f->map != NULL)
			munmap(f->map, f->map_len);
		p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd,
		         0);
		f->map = p == MAP_FAILED ? NULL : p;
		f->map_len = p == MAP_FAILED ? 0 : want;
	}
	f->size = st.st_size;
	f->on = true;
}

void
index_vfs_wal_end(sqlite3 *db)
{
	struct vfs_file *f = vfs_wal(db);

	if (f != NULL)
		f->on = false;
}

void
index_wal_io(struct index_wal_io *out)
{
	out->read_mapped =
	    atomic_load_explicit(&vfs_io[0][0], memory_order_relaxed);
	out->read_syscall =
	    atomic_load_explicit(&vfs_io[0][1], memory_order_relaxed);
	out->written_mapped =
	    atomic_load_explicit(&vfs_io[1][0], memory_order_relaxed);
	out->written_syscall =
	    atomic_load_explicit(&vfs_io[1][1], memory_order_relaxed);
}
