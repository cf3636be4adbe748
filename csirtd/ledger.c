/*
 * ledger.c - the git ledger on libgit2 (the only includer of libgit2's header).
 *
 * Owns ledger.git: a bare repository whose single branch refs/heads/ledger
 * only ever moves forward by commits written here.  It must never rewrite
 * a commit, write another ref, or leave loose objects.
 *
 * Why not libgit2's generic path: git_tree_create_updated() re-reads and
 * re-hashes every tree on the path for each commit, which caps a writer at a
 * few thousand commits per second.  Instead the current tree is kept in
 * memory (struct tnode, loaded lazily from the odb) and only the trees on
 * the changed paths are serialised and hashed per commit.
 *
 * Durability: objects of a batch are deflated straight into an in-memory
 * pack (struct packw); at the end of the batch that pack and its index are
 * written and fsynced, and only then does the ref move, compare-and-swap
 * against the previous head (fsynced: GIT_OPT_ENABLE_FSYNC_GITDIR).  A crash
 * before the ref moves leaves at most an unreferenced pack; the old head
 * stays valid.  libgit2's own writers are avoided on this path: git_odb_write
 * "freshens" every new object (an existence check that rescans the pack
 * directory), and git_packbuilder searches for deltas and writes through
 * its indexer in small pieces; together they cost tens of milliseconds per
 * batch (measured: 352 events/s at 16 submitters).
 *
 * Pack count: packs are merged by level (LEDGER_MERGE_FANOUT packs of one
 * level become one pack of the next) by concatenating their entries, which
 * is valid because csirtd's packs hold no deltas.  Packs found at start-up
 * (or written by other tools) join the levels by their size, the smallest
 * first merged into one when there are too many (packs_at_open).
 *
 * Dumb HTTP: auditors clone ledger.git as static files (server.c serves
 * them), which needs git's two server-info files.  server.c renders them
 * on request from the disk (ledger_server_info: the ref file, then the
 * pack directory), so the commit path writes neither: they cost two file
 * creations and renames per batch (measured: 4 ms of a 60 ms batch under
 * load).  The copies on disk, for a static web server, are rewritten at
 * open and at a clean close, packs before refs; they are not fsynced:
 * ledger_open() rewrites them after a crash.
 */
#define _GNU_SOURCE /* sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <git2.h>
#include <libdeflate.h>
#include <zlib.h>

#include "crypto.h"
#include "error.h"
#include "ledger.h"
#include "ledger_pack.h"
#include "log.h"
#include "util.h"

#define LEDGER_COMMITTER "csirtd"
#define LEDGER_COMMITTER_EMAIL "csirtd@ledger.invalid"
#define LEDGER_MERGE_LEVELS 6
/* Past this many nodes, the in-memory tree is compacted (tnode_compact),
 * then, if that was not enough, clean subtrees are dropped. */
#define LEDGER_CACHE_NODES 200000
/* A tree's leading entries are compacted in runs of at least this many. */
#define LEDGER_COMPACT_MIN 8
/* Blobs shorter than this go into a batch's pack as stored zlib blocks,
 * like trees and commits: zlib spends 6-10 us on a blob of a few hundred
 * bytes whatever its level (an event, a case.json, a short note), and
 * gains a third of it.  Measured: deflate was 32 % of the commit thread
 * under csirt-bench note; a 20,000-event ledger (ledger-bench --audit
 * --events 20000 --keep) is 113.7 MB against 105.3 MB, built in 3.6-3.9 s
 * against 4.6 s.  `git gc` compresses them again. */
#define LEDGER_DEFLATE_MIN 1024
/* Empty files kept ready for a batch's pack and index (see struct spares). */
#define LEDGER_SPARES 6

/* One entry of the in-memory tree: a blob or a (possibly unloaded) tree. */
struct tnode {
	char *name;
	size_t namelen;
	bool is_tree;
	bool loaded; /* kids reflect `oid` (trees only) */
	bool dirty;  /* oid is stale: a descendant changed */
	git_oid oid;
	struct tnode **kids;
	size_t nkids, cap;
	/* Trees: the first version written into the batch's pack (gen), and
	 * where, as the base later versions in that pack are deltas of. */
	unsigned char *base;
	size_t base_len;
	uint64_t base_gen, base_off;
	/* Trees: the serialised entries of kids[0..ser_kids), unchanged since
	 * they were written, so that writing the tree again serialises only
	 * what follows (a case's events/ tree gains one entry at its end per
	 * event, and rewriting all of it each time was a fifth of the commit
	 * thread at a few hundred events a case).  ser_off: where this
	 * node's entry starts in its parent's `ser`. */
	struct buf ser;
	size_t ser_kids, ser_off;
	/* Trees: the first pre_n entries of `ser` (pre_len bytes) have no
	 * kid any more: tnode_compact() dropped them, and tnode_expand()
	 * makes them kids again when a search could need one.  kids[] and
	 * ser_kids then count from the first entry after them. */
	size_t pre_n, pre_len;
};

/*
 * Files for the batch's pack, index and ref lock, created ahead by a thread
 * of their own.  Creating a file was a millisecond of a batch on ext4
 * without a journal, which passes over every recently deleted inode for a
 * new one (csirt-bench note: 1.06 ms on average for a batch's three files,
 * 2 ms at the 90th percentile).  The pack's and index's are named
 * spare-N.tmp in objects/pack, so that the start-up sweep removes what a
 * crash leaves; the lock's has no name until it is linked in (a crash
 * before frees it).  A batch that finds none creates its own as before.
 */
struct spares {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop, off;
	int fd[LEDGER_SPARES];
	char *path[LEDGER_SPARES];
	size_t n;
	uint64_t seq;
	char *dir;
	/* An unnamed file in refs/heads (O_TMPFILE) for the ref's lock: the
	 * batch writes the new tip into it and links it in as the lock,
	 * which fails as O_EXCL does when the lock exists.  With the lock
	 * created by the batch, writing the batch's three files took 475-609
	 * us on average; linked, 251-263 (csirt-bench note --cases 1024,
	 * three alternated runs).  -1 when none is ready; lock_off when the
	 * file system or /proc cannot do it, and batches create the lock as
	 * git does.  lock_linked counts the locks made so (for tests). */
	int lock_fd;
	bool lock_off;
	char *lock_dir;
	uint64_t lock_linked;
	/* The ref's file stays open after its batch (ref_fd), and when the
	 * next batch's rename replaces it, this thread closes it
	 * (retired[]), not the writer: the last close of an unlinked file
	 * frees its blocks, and on a file system mounted with `discard`
	 * (this machine's ext4) that waits for a discard of them.  The
	 * writer did so in every batch's rename, behind whatever the device
	 * was writing meanwhile: 17 of its ~300 samples in the D state over
	 * 15 s of csirt-bench note --cases 1024 (/proc/TID/stack).  -1: none
	 * open (before the first batch; the writer then closes it itself). */
	int ref_fd;
	int retired[LEDGER_RETIRED_MAX];
	size_t nretired;
};

/* A pack written while this process runs. */
struct packrec {
	char name[64]; /* "pack-<sha1>" */
};

/* A merge handed to its level's merger thread.  The thread only reads the
 * source packs and writes the merged one; the writer thread makes libgit2
 * see the result and deletes the sources (libgit2 objects are not shared
 * between threads).  Each level has a thread of its own, started with its
 * first merge: with one thread for all levels, a deep merge (gigabytes,
 * seconds) held up the small ones behind it, level 0 filled past
 * LEDGER_MAX_PACKS, and the writer waited for the deep merge: stalls of
 * 4.9-5.4 s in 45 s note runs (session 10, README). */
enum job_state { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };
struct merge_job {
	enum job_state state;
	char names[LEDGER_MERGE_FANOUT][64];
	size_t n;
	int rc;
	char err[256];
	char merged[64];
};

struct ledger {
	git_repository *repo;
	git_odb *odb;
	const struct crypto_signer *signer;
	char *path;

	git_oid head; /* committed (on disk) head */
	bool has_head;
	git_oid tip; /* head including the unfinished batch */
	bool has_tip;
	struct tnode *root;        /* tree of `tip` */
	size_t nodes, cache_nodes; /* LEDGER_CACHE_NODES but in tests */
	size_t tree_loads;         /* trees read back from the packs */

	bool in_batch;
	struct packw *pw; /* the batch's pack */
	struct buf delta; /* scratch for tree deltas */

	/* levels[l] holds the resting packs of level l (fewer than FANOUT);
	 * a full level moves into jobs[l] for the merger thread. */
	struct packrec levels[LEDGER_MERGE_LEVELS][LEDGER_MAX_PACKS];
	size_t nlevel[LEDGER_MERGE_LEVELS];
	struct merge_job jobs[LEDGER_MERGE_LEVELS];
	pthread_t mergers[LEDGER_MERGE_LEVELS];
	bool merger_started[LEDGER_MERGE_LEVELS], merger_stop;
	bool merge_hold[LEDGER_MERGE_LEVELS]; /* ledger_merge_hold() */
	struct merger_arg {
		struct ledger *lg;
		size_t level;
	} merger_args[LEDGER_MERGE_LEVELS];
	pthread_mutex_t mmu;
	pthread_cond_t mcv;
	/* Merged sources a merger thread removes (under mmu): unlinking
	 * 8 packs and their indexes took up to 9 ms of the writer's batch. */
	char (*trash)[64];
	size_t ntrash, trashcap;
	struct spares spares;

	struct rawcache *raw; /* whole-ledger passes, see ledger_changes() */
	struct pack_reader *packs; /* whole-ledger passes: ledger_pack.h */
};

struct rawcache;
static void rawcache_free(struct rawcache *c);

/* An object read by a pass; shared between the threads of a pass (the
 * pass cache), so its count is atomic.  Never changed once read. */
struct rawobj {
	git_oid oid;
	git_object_t type;
	atomic_uint refs;
	bool checked; /* its hash was checked on read */
	/* A tree: the offset of its last entry once a parse has found the
	 * whole tree in git's order with no name twice; SIZE_MAX before, or
	 * when it is not (see changes_append()). */
	atomic_size_t last;
	size_t len;
	unsigned char *data; /* NUL-terminated */
};

static int rawobj_fetch(struct rawobj **out, struct ledger *lg,
                        const git_oid *oid);
static void rawobj_put(struct rawobj *o);

static int
git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return csirt_error_set(
	    code, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "libgit2 error");
}

static int
ledger_lib_init(void)
{
	static int done;

	if (done)
		return 0;
	if (git_libgit2_init() < 0)
		return git_fail(CSIRT_EFAIL, "libgit2 init");
	/* Every file libgit2 writes in the gitdir (packs, idx, refs) is
	 * fsynced, and so is its directory. */
	if (git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0 ||
	    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0) < 0 ||
	    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1) < 0)
		return git_fail(CSIRT_EFAIL, "libgit2 options");
	/* Cache trees up to 1 MiB (libgit2's default stops at 4 KiB): an
	 * events/ tree of a busy case is bigger, and ledger_diff() reads
	 * each tree twice, as the new side of one commit and the old side
	 * of the next (measured: a quarter of csirt-audit's reads). */
	if (git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
	                     (size_t)1 << 20) < 0)
		return git_fail(CSIRT_EFAIL, "libgit2 cache options");
	done = 1;
	return 0;
}

/* ---- packs ----------------------------------------------------------
 *
 * A pack csirtd writes: a 12-byte header, then per object a type/size
 * header and a zlib body, then the SHA-1 of everything before it; the .idx
 * (version 2) lists the sorted object ids with each entry's CRC-32 and
 * offset.  Blobs are deflated; commits and trees are mostly object ids and
 * are stored (zlib "stored" blocks).  A tree written again in the same
 * batch -- the trees on a commit's path change by one entry per commit --
 * is an OFS_DELTA against the first version of that tree in the pack
 * (chains are one delta deep, so reading stays cheap), when the delta is
 * less than half the tree.  Deltas only ever point back into their own
 * pack, so merging packs is still a copy of their entries with new
 * offsets, rewriting only a delta's distance to its base when an earlier
 * duplicate was dropped: no inflate, no delta search, no re-hashing.
 */

struct pentry {
	git_oid oid;
	uint32_t crc;
	uint64_t off;
	uint64_t len; /* bytes of the packed entry (merges) */
	size_t src;   /* source pack (merges) */
};

struct packw {
	struct buf data; /* the pack being built, without its trailer */
	struct pentry *e;
	size_t n, cap;
	size_t *slots; /* open addressing over e, by oid; index + 1 */
	size_t nslots;
	z_stream zs; /* reused: deflateInit costs more than a small object */
	bool zinit;
	uint64_t gen; /* bumped by every reset: names this pack's contents */
};

static void
packw_free(struct packw *pw)
{
	if (pw->zinit)
		deflateEnd(&pw->zs);
	buf_free(&pw->data);
	free(pw->e);
	free(pw->slots);
	memset(pw, 0, sizeof(*pw));
}

static void
packw_reset(struct packw *pw)
{
	static const unsigned char hdr[12] = {'P', 'A', 'C', 'K', 0, 0,
	                                      0,   2,   0,   0,   0, 0};

	buf_reset(&pw->data);
	buf_put(&pw->data, hdr, sizeof(hdr));
	pw->n = 0;
	pw->gen++;
	if (pw->slots != NULL)
		memset(pw->slots, 0, pw->nslots * sizeof(*pw->slots));
}

static size_t
oid_slot(const git_oid *oid, size_t nslots)
{
	uint64_t h;

	memcpy(&h, oid->id, sizeof(h));
	return (size_t)(h % nslots);
}

/* The index of `oid` in the pack's entries, or SIZE_MAX. */
static size_t
packw_find(const struct packw *pw, const git_oid *oid)
{
	size_t i;

	if (pw->nslots == 0)
		return SIZE_MAX;
	i = oid_slot(oid, pw->nslots);
	while (pw->slots[i] != 0) {
		if (git_oid_equal(&pw->e[pw->slots[i] - 1].oid, oid))
			return pw->slots[i] - 1;
		i = (i + 1) % pw->nslots;
	}
	return SIZE_MAX;
}

/* Returns true if `oid` is already in the pack; otherwise reserves it. */
static bool
packw_seen(struct packw *pw, const git_oid *oid)
{
	size_t i;

	if (pw->n * 2 >= pw->nslots) {
		size_t ns = pw->nslots ? pw->nslots * 2 : 1024;
		free(pw->slots);
		pw->slots = util_xcalloc(ns, sizeof(*pw->slots));
		pw->nslots = ns;
		for (size_t k = 0; k < pw->n; k++) {
			i = oid_slot(&pw->e[k].oid, ns);
			while (pw->slots[i] != 0)
				i = (i + 1) % ns;
			pw->slots[i] = k + 1;
		}
	}
	i = oid_slot(oid, pw->nslots);
	while (pw->slots[i] != 0) {
		if (git_oid_equal(&pw->e[pw->slots[i] - 1].oid, oid))
			return true;
		i = (i + 1) % pw->nslots;
	}
	if (pw->n == pw->cap) {
		pw->cap = pw->cap ? pw->cap * 2 : 256;
		pw->e = util_xrealloc(pw->e, pw->cap * sizeof(*pw->e));
	}
	memset(&pw->e[pw->n], 0, sizeof(pw->e[pw->n]));
	git_oid_cpy(&pw->e[pw->n].oid, oid);
	pw->slots[i] = ++pw->n;
	return false;
}

/* Appends a pack entry header: type and inflated size. */
static void
packw_put_header(struct packw *pw, unsigned type, uint64_t size)
{
	unsigned char hdr[16];
	size_t h = 0;

	hdr[h] = (unsigned char)((type << 4) | (size & 0x0f));
	size >>= 4;
	while (size != 0) {
		hdr[h++] |= 0x80;
		hdr[h] = (unsigned char)(size & 0x7f);
		size >>= 7;
	}
	buf_put(&pw->data, hdr, h + 1);
}

/* Appends `data` as a zlib stream of "stored" blocks: header, blocks of at
 * most 65535 bytes, Adler-32.  For what deflate gains little on (object
 * ids, signatures) and would cost most of a commit's time. */
static void
packw_put_stored(struct packw *pw, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t left = len;
	uint32_t ad = libdeflate_adler32(1, p, len);

	buf_put(&pw->data, "\x78\x01", 2);
	do {
		size_t n = left > 65535 ? 65535 : left;
		unsigned char bh[5] = {left == n ? 1 : 0, (unsigned char)n,
		                       (unsigned char)(n >> 8),
		                       (unsigned char)~n,
		                       (unsigned char)(~n >> 8)};
		buf_put(&pw->data, bh, sizeof(bh));
		buf_put(&pw->data, p, n);
		p += n;
		left -= n;
	} while (left > 0);
	unsigned char tr[4] = {(unsigned char)(ad >> 24),
	                       (unsigned char)(ad >> 16),
	                       (unsigned char)(ad >> 8), (unsigned char)ad};
	buf_put(&pw->data, tr, sizeof(tr));
}

/* Entry CRCs (the .idx's) and stored blocks' Adler-32 are libdeflate's
 * (PCLMULQDQ and AVX2): zlib's table CRC-32 ran at 0.6-1.7 GB/s on
 * entries of 64-300 bytes against 8-13 GB/s, and the two were ~12 % of
 * the commit thread's samples in a note run. */
static void
packw_entry_done(struct packw *pw, size_t start)
{
	struct pentry *e = &pw->e[pw->n - 1];

	e->off = start;
	e->crc =
	    libdeflate_crc32(0, pw->data.data + start, pw->data.len - start);
}

/* Appends one whole object (unless the pack has it).  Sets *added. */
static int
packw_add(struct packw *pw, const git_oid *oid, git_object_t type,
          const void *data, size_t len, bool *added)
{
	size_t start;
	uLongf zlen;

	if (added != NULL)
		*added = false;
	if (packw_seen(pw, oid))
		return 0;
	start = pw->data.len;
	packw_put_header(pw, (unsigned)type, len);
	if (type != GIT_OBJECT_BLOB || len < LEDGER_DEFLATE_MIN) {
		packw_put_stored(pw, data, len);
	} else {
		if (!pw->zinit) {
			memset(&pw->zs, 0, sizeof(pw->zs));
			/* memLevel 4: a 2,048-entry hash that deflateReset()
			 * clears per blob, not zlib's default 32,768 (64 KiB
			 * of memset per blob); the blobs here are mostly
			 * JSON of 0.5-2 KB, which compress to the same bytes
			 * (callgrind: -32 % instructions for a case.json and
			 * an event). */
			if (deflateInit2(&pw->zs, Z_BEST_SPEED, Z_DEFLATED, 15,
			                 4, Z_DEFAULT_STRATEGY) != Z_OK)
				return csirt_error_set(CSIRT_EFAIL,
				                       "zlib: init failed");
			pw->zinit = true;
		} else if (deflateReset(&pw->zs) != Z_OK) {
			return csirt_error_set(CSIRT_EFAIL,
			                       "zlib: reset failed");
		}
		zlen = deflateBound(&pw->zs, (uLong)len);
		buf_grow(&pw->data, zlen);
		pw->zs.next_in = (Bytef *)(uintptr_t)data;
		pw->zs.avail_in = (uInt)len;
		pw->zs.next_out = (Bytef *)pw->data.data + pw->data.len;
		pw->zs.avail_out = (uInt)zlen;
		if (deflate(&pw->zs, Z_FINISH) != Z_STREAM_END)
			return csirt_error_set(CSIRT_EFAIL,
			                       "zlib: cannot deflate");
		pw->data.len += zlen - pw->zs.avail_out;
		pw->data.data[pw->data.len] = '\0';
	}
	packw_entry_done(pw, start);
	if (added != NULL)
		*added = true;
	return 0;
}

/* The OFS_DELTA distance encoding: big-endian 7-bit groups, each but the
 * last with the top bit set, every continuation adding one (so no value
 * has two encodings).  Returns its length; out has room for 10. */
static size_t
ofs_encode(unsigned char out[10], uint64_t dist)
{
	unsigned char tmp[10];
	size_t pos = sizeof(tmp) - 1;

	tmp[pos] = (unsigned char)(dist & 0x7f);
	while (dist >>= 7)
		tmp[--pos] = (unsigned char)(0x80 | (--dist & 0x7f));
	memcpy(out, tmp + pos, sizeof(tmp) - pos);
	return sizeof(tmp) - pos;
}

/* Appends object `oid` as a delta against the entry at `base_off` of this
 * pack (unless the pack has it). */
static void
packw_add_delta(struct packw *pw, const git_oid *oid, uint64_t base_off,
                const void *delta, size_t len)
{
	unsigned char ofs[10];
	size_t start;

	if (packw_seen(pw, oid))
		return;
	start = pw->data.len;
	packw_put_header(pw, 6 /* OFS_DELTA */, len);
	buf_put(&pw->data, ofs, ofs_encode(ofs, start - base_off));
	packw_put_stored(pw, delta, len);
	packw_entry_done(pw, start);
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int
pentry_cmp(const void *a, const void *b)
{
	return git_oid_cmp(&((const struct pentry *)a)->oid,
	                   &((const struct pentry *)b)->oid);
}

/*
 * Sorts entries by id: spread by the top bits of their first two bytes (ids
 * are hashes, so evenly) into about one bucket per entry, then each bucket
 * sorted on its own.  A merge's index holds every object of up to
 * LEDGER_MERGE_FANOUT^level batches, and qsort() of the 56-byte entries
 * through a comparator was a third of the merger thread.  The buckets
 * scale with n: a batch's pack of ~700 entries clearing and walking all
 * 65,536 of them was a tenth of the writer's durable write.
 */
static void
pentry_sort(struct pentry *e, size_t n)
{
	struct pentry *tmp;
	uint32_t *at;
	unsigned bits = 8, shift;
	size_t buckets;

	if (n < 256) {
		qsort(e, n, sizeof(*e), pentry_cmp);
		return;
	}
	while (bits < 16 && ((size_t)1 << bits) < n)
		bits++;
	shift = 16 - bits;
	buckets = (size_t)1 << bits;
	at = util_xcalloc(buckets + 1, sizeof(*at));
	tmp = util_xmalloc(n * sizeof(*tmp));
#define PENTRY_BUCKET(x)                                                       \
	(((unsigned)(x).oid.id[0] << 8 | (x).oid.id[1]) >> shift)
	for (size_t i = 0; i < n; i++)
		at[PENTRY_BUCKET(e[i]) + 1]++;
	for (size_t b = 0; b < buckets; b++)
		at[b + 1] += at[b];
	for (size_t i = 0; i < n; i++)
		tmp[at[PENTRY_BUCKET(e[i])]++] = e[i];
#undef PENTRY_BUCKET
	/* at[b] is now where bucket b ends. */
	for (size_t b = 0, start = 0; b < buckets; start = at[b++]) {
		size_t len = at[b] - start;
		if (len > 1)
			qsort(tmp + start, len, sizeof(*tmp), pentry_cmp);
	}
	memcpy(e, tmp, n * sizeof(*e));
	free(tmp);
	free(at);
}

/* Builds in `idx` the index (version 2) of entries `e` (sorted here). */
static void
idx_build(struct buf *idx, struct pentry *e, size_t n,
          const unsigned char pack_sha[CRYPTO_SHA1_LEN])
{
	static const unsigned char magic[8] = {0xff, 't', 'O', 'c', 0, 0, 0, 2};
	struct crypto_sha1_ctx *sha;
	unsigned char sum[CRYPTO_SHA1_LEN];
	uint32_t fan[256] = {0};
	size_t nlarge = 0;

	pentry_sort(e, n);
	for (size_t i = 0; i < n; i++)
		fan[e[i].oid.id[0]]++;
	buf_put(idx, magic, sizeof(magic));
	for (uint32_t i = 0, acc = 0; i < 256; i++) {
		acc += fan[i];
		buf_put_be32(idx, acc);
	}
	for (size_t i = 0; i < n; i++)
		buf_put(idx, e[i].oid.id, GIT_OID_RAWSZ);
	for (size_t i = 0; i < n; i++)
		buf_put_be32(idx, e[i].crc);
	for (size_t i = 0; i < n; i++) {
		if (e[i].off < 0x80000000u)
			buf_put_be32(idx, (uint32_t)e[i].off);
		else
			buf_put_be32(idx, 0x80000000u | (uint32_t)nlarge++);
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].off >= 0x80000000u) {
			buf_put_be32(idx, (uint32_t)(e[i].off >> 32));
			buf_put_be32(idx, (uint32_t)e[i].off);
		}
	}
	buf_put(idx, pack_sha, CRYPTO_SHA1_LEN);
	sha = crypto_sha1_new();
	crypto_sha1_update(sha, idx->data, idx->len);
	crypto_sha1_final(sha, sum);
	buf_put(idx, sum, sizeof(sum));
}

/* Writes PATH.idx (version 2) for entries `e` (sorted here), durably. */
static int
write_idx(const char *path, struct pentry *e, size_t n,
          const unsigned char pack_sha[CRYPTO_SHA1_LEN])
{
	struct buf idx = BUF_INIT;
	int rc;

	idx_build(&idx, e, n, pack_sha);
	rc = util_write_file_atomic(path, idx.data, idx.len, 0444);
	buf_free(&idx);
	return rc;
}

/* Names a finished pack: "pack-<sha1 hex>". */
static void
pack_name(char out[64], const unsigned char sha[CRYPTO_SHA1_LEN])
{
	char hex[2 * CRYPTO_SHA1_LEN + 1];

	util_hex(hex, sha, CRYPTO_SHA1_LEN);
	snprintf(out, 64, "pack-%s", hex);
}

/* Appends every entry of pack `name`'s index (v2) to `all`, tagged `src`. */
static int
read_idx(const char *repo, const char *name, size_t src, struct pentry **all,
         size_t *nall, size_t *cap, uint64_t *pack_size)
{
	struct buf path = BUF_INIT;
	char *idx = NULL;
	size_t len = 0, n, need;
	struct stat st;
	int rc = -1;

	buf_printf(&path, "%s/objects/pack/%s.pack", repo, name);
	if (stat(path.data, &st) < 0 || st.st_size < 32) {
		rc = csirt_error_set(CSIRT_ETAMPER, "pack %s unreadable", name);
		goto done;
	}
	*pack_size = (uint64_t)st.st_size;
	buf_reset(&path);
	buf_printf(&path, "%s/objects/pack/%s.idx", repo, name);
	if ((rc = util_read_file(&idx, &len, path.data, 1u << 30)) != 0)
		goto done;
	const unsigned char *p = (const unsigned char *)idx;
	if (len < 8 + 1024 || memcmp(p, "\377tOc\0\0\0\2", 8) != 0) {
		rc = csirt_error_set(CSIRT_ETAMPER, "%s is not a v2 index",
		                     path.data);
		goto done;
	}
	n = get_be32(p + 8 + 255 * 4);
	need = 8 + 1024 + n * (20 + 4 + 4) + 40;
	if (len < need) {
		rc = csirt_error_set(CSIRT_ETAMPER, "%s is truncated",
		                     path.data);
		goto done;
	}
	const unsigned char *oids = p + 8 + 1024, *crcs = oids + n * 20,
	                    *offs = crcs + n * 4, *large = offs + n * 4;
	for (size_t i = 0; i < n; i++) {
		git_oid oid;
		uint32_t o = get_be32(offs + i * 4);
		uint64_t off = o;
		memcpy(oid.id, oids + i * 20, 20);
		if (o & 0x80000000u) {
			size_t k = o & 0x7fffffffu;
			if (need + (k + 1) * 8 > len) {
				rc = csirt_error_set(CSIRT_ETAMPER,
				                     "%s: bad large offset",
				                     path.data);
				goto done;
			}
			off = (uint64_t)get_be32(large + k * 8) << 32 |
			      get_be32(large + k * 8 + 4);
		}
		if (*nall == *cap) {
			*cap = *cap ? *cap * 2 : 1024;
			*all = util_xrealloc(*all, *cap * sizeof(**all));
		}
		memset(&(*all)[*nall], 0, sizeof(**all));
		git_oid_cpy(&(*all)[*nall].oid, &oid);
		(*all)[*nall].crc = get_be32(crcs + i * 4);
		(*all)[*nall].off = off;
		(*all)[*nall].src = src;
		(*nall)++;
	}
	rc = 0;
done:
	free(idx);
	buf_free(&path);
	return rc;
}

/* Sorts one pack's entries by offset: a radix sort, 11 bits a pass, over
 * the bits the offsets use (two passes for a pack under 4 MiB, three under
 * 8 GiB).  qsort() with a comparison on (pack, offset) was a fifth of the
 * merger thread's samples in a note run. */
static void
sort_by_offset(struct pentry *v, size_t n, struct pentry *tmp)
{
	size_t cnt[2048];
	struct pentry *from = v, *to = tmp;
	uint64_t all = 0;

	for (size_t i = 0; i < n; i++)
		all |= v[i].off;
	for (unsigned shift = 0; shift < 64 && (all >> shift) != 0;
	     shift += 11) {
		size_t sum = 0;

		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < n; i++)
			cnt[(from[i].off >> shift) & 2047]++;
		for (size_t d = 0; d < 2048; d++) {
			size_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			to[cnt[(from[i].off >> shift) & 2047]++] = from[i];
		from = to;
		to = from == v ? tmp : v;
	}
	if (from != v)
		memcpy(v, from, n * sizeof(*v));
}

/* The entry of `all` (sorted by pack and offset) at `off` of pack `src`,
 * or NULL. */
static const struct pentry *
entry_at(const struct pentry *all, size_t n, size_t src, uint64_t off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (all[mid].src < src ||
		    (all[mid].src == src && all[mid].off < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && all[lo].src == src && all[lo].off == off ? &all[lo]
	                                                          : NULL;
}

/* Parses an entry's header at p (n bytes available): its type, and for an
 * OFS_DELTA the distance back to its base.  Returns the header's length
 * (with the distance), or 0 if it does not parse. */
static size_t
entry_header(const unsigned char *p, size_t n, unsigned *type, uint64_t *dist)
{
	size_t h = 0;

	if (n == 0)
		return 0;
	*type = (p[0] >> 4) & 7;
	while (p[h] & 0x80)
		if (++h >= n || h > 10)
			return 0;
	h++;
	*dist = 0;
	if (*type != 6)
		return h;
	if (h >= n)
		return 0;
	*dist = p[h] & 0x7f;
	while (p[h] & 0x80) {
		if (++h >= n || h > 20)
			return 0;
		*dist = ((*dist + 1) << 7) | (p[h] & 0x7f);
	}
	return h + 1;
}

/* The merged pack is written through a buffer of MERGE_OUT_BUF bytes: one
 * write() per MiB, not two or three per entry (measured: a merge of 8
 * level-0 packs made ~3,000 small writes and as many preads, 18 % of the
 * CPU of a ledger-bench run, on the cores the writer needs).
 *
 * With O_DIRECT where the file system takes it (session 17).  Through the
 * page cache, every MiB a merge wrote took fresh pages, and on this
 * machine (a VM whose free memory the host takes back) a MiB into pages
 * never touched before cost 0.6-2.5 ms of CPU, against 0.03 ms into pages
 * already there and 0.08 ms for an O_DIRECT write (a standalone loop of
 * 1 MiB writes): late in a minute's note run, copy_folio_from_iter_atomic
 * was a quarter of the mergers' CPU and the mergers a sixth of the
 * daemon's.  A merged pack is read by the next level's merge, with
 * O_DIRECT as well (struct msrc), and by libgit2 and clones, through the
 * page cache as before.  O_DIRECT writes wait for the device: at most one
 * MiB of a merge is queued ahead of the batches' fsyncs, where
 * sync_file_range() before kept two.  The batches' own packs stay in the
 * page cache (spare_fill() says why), and level 0's merges map them. */
#define MERGE_OUT_BUF (1u << 20)
#define MERGE_ALIGN 4096u

static _Atomic uint64_t merge_read_mapped, merge_read_direct,
    merge_written_direct, merge_written_buffered;

void
ledger_merge_io(struct ledger_merge_io *out)
{
	out->read_mapped =
	    atomic_load_explicit(&merge_read_mapped, memory_order_relaxed);
	out->read_direct =
	    atomic_load_explicit(&merge_read_direct, memory_order_relaxed);
	out->written_direct =
	    atomic_load_explicit(&merge_written_direct, memory_order_relaxed);
	out->written_buffered =
	    atomic_load_explicit(&merge_written_buffered, memory_order_relaxed);
}

struct mout {
	int fd;
	bool direct;
	unsigned char *p; /* MERGE_OUT_BUF bytes, MERGE_ALIGN-aligned */
	size_t len;       /* bytes in p */
	uint64_t done;    /* bytes written before p */
};

static int
mout_flush(struct mout *o)
{
	if (util_write_all(o->fd, o->p, o->len) < 0)
		return -1;
	if (!o->direct && o->len > 0) {
		/* Start writing it back now: left to the closing fsync, a
		 * merge's megabytes reached the disk in one burst, and the
		 * writer's fsync then waited behind them.  And wait for what
		 * came before it, so that at most two of these are queued
		 * at the device: started and not waited for, a merge of
		 * hundreds of megabytes was queued in a second, and the
		 * batches' fsyncs behind it took up to a second. */
		(void)sync_file_range(o->fd, (off_t)o->done, (off_t)o->len,
		                      SYNC_FILE_RANGE_WRITE);
		if (o->done > 0)
			(void)sync_file_range(o->fd, 0, (off_t)o->done,
			                      SYNC_FILE_RANGE_WAIT_BEFORE);
	}
	o->done += o->len;
	o->len = 0;
	return 0;
}

static int
mout_put(struct mout *o, const void *data, size_t n)
{
	const unsigned char *s = data;

	while (n > 0) {
		size_t k =
		    MERGE_OUT_BUF - o->len < n ? MERGE_OUT_BUF - o->len : n;
		memcpy(o->p + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == MERGE_OUT_BUF && mout_flush(o) < 0)
			return -1;
	}
	return 0;
}

/* Writes what is left and fsyncs.  O_DIRECT writes whole blocks: the last
 * is padded with zeros, then cut off by ftruncate(). */
static int
mout_finish(struct mout *o)
{
	uint64_t size = o->done + o->len;

	if (o->direct && o->len % MERGE_ALIGN != 0) {
		size_t pad = MERGE_ALIGN - o->len % MERGE_ALIGN;
		memset(o->p + o->len, 0, pad);
		o->len += pad;
	}
	if (mout_flush(o) < 0)
		return -1;
	if (o->direct && ftruncate(o->fd, (off_t)size) < 0)
		return -1;
	return fsync(o->fd);
}

/* A source pack: read with O_DIRECT a window at a time (a merged pack,
 * written with O_DIRECT, is not in the page cache, and reading it through
 * the cache would take fresh pages again), or mapped (a batch's pack, in
 * the page cache; or where the file system refuses O_DIRECT).  A merge reads
 * its sources one after another (its entries are in pack and offset order; a
 * delta's base is found by its metadata), so they share one window. */
struct mwin {
	unsigned char *p; /* MERGE_OUT_BUF bytes, MERGE_ALIGN-aligned */
	const struct msrc *owner;
	uint64_t off;
	size_t len;
};

struct msrc {
	int fd; /* O_DIRECT; -1 when mapped */
	const unsigned char *map;
	uint64_t size;
};

/* Bytes of the source at `at` (< size): sets *avail to how many follow in
 * memory, at least min(want, size - at) for want <= MERGE_OUT_BUF -
 * MERGE_ALIGN.  NULL on a read error (errno set). */
static const unsigned char *
msrc_at(const struct msrc *s, struct mwin *w, uint64_t at, size_t want,
        size_t *avail)
{
	uint64_t need = s->size - at < want ? s->size - at : want;

	if (s->fd < 0) {
		*avail = (size_t)(s->size - at);
		return s->map + at;
	}
	if (w->owner != s || at < w->off || at + need > w->off + w->len) {
		uint64_t off = at & ~(uint64_t)(MERGE_ALIGN - 1);

		w->owner = s;
		w->off = off;
		w->len = 0;
		while (w->len < MERGE_OUT_BUF && off + w->len < s->size) {
			ssize_t r =
			    pread(s->fd, w->p + w->len, MERGE_OUT_BUF - w->len,
			          (off_t)(off + w->len));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					errno = EIO; /* shorter than fstat */
				w->owner = NULL;
				return NULL;
			}
			w->len += (size_t)r;
			atomic_fetch_add_explicit(&merge_read_direct,
			                          (uint64_t)r,
			                          memory_order_relaxed);
		}
		if (at + need > w->off + w->len) {
			w->owner = NULL;
			errno = EIO;
			return NULL;
		}
	}
	*avail = (size_t)(w->off + w->len - at);
	return w->p + (at - w->off);
}

/* Concatenates the entries of packs `names` into one new pack, written
 * and fsynced before returning its name.  The sources are mapped (read
 * only, never written while mapped: packs are immutable), or with
 * `direct` read with O_DIRECT where the file system takes it (struct
 * msrc).  OFS_DELTA entries get their distance to their base rewritten
 * (the base may have moved, when an earlier copy of it was kept instead);
 * packs with REF_DELTA entries came from elsewhere and are refused. */
static atomic_uint merge_seq;

static int
pack_merge(const char *repo, char (*names)[64], size_t npacks, bool direct,
           char name_out[64])
{
	struct packw pw;
	struct pentry *all = NULL;
	size_t nall = 0, allcap = 0;
	uint64_t *sizes = util_xcalloc(npacks, sizeof(*sizes));
	struct msrc *src = util_xcalloc(npacks, sizeof(*src));
	struct mwin win = {.p = NULL};
	struct mout mo = {.fd = -1};
	struct crypto_sha1_ctx *sha = NULL;
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	unsigned char hdr[12] = {'P', 'A', 'C', 'K', 0, 0, 0, 2}, sum[20];
	int rc = -1;
	uint64_t pos = 12;

	memset(&pw, 0, sizeof(pw));
	for (size_t i = 0; i < npacks; i++) {
		size_t from = nall;
		if ((rc = read_idx(repo, names[i], i, &all, &nall, &allcap,
		                   &sizes[i])) != 0)
			goto done;
		/* Entry lengths: sort by offset; each entry runs to the
		 * next entry of its pack, or to the trailer.  `all` is
		 * then in (pack, offset) order. */
		if (nall - from > 1) {
			struct pentry *t =
			    util_xmalloc((nall - from) * sizeof(*t));
			sort_by_offset(all + from, nall - from, t);
			free(t);
		}
	}
	/* The merged pack's table, sized once and written before it is
	 * read: slots calloc'd and grown by packw_seen() were read first,
	 * mapping the zero page, and each first write then faulted with a
	 * TLB flush on every core (a tenth of the merger's samples, and an
	 * interrupt on the writer's core). */
	pw.cap = nall > 0 ? nall : 1;
	pw.e = util_xmalloc(pw.cap * sizeof(*pw.e));
	for (pw.nslots = 1024; pw.nslots <= 2 * nall;)
		pw.nslots *= 2;
	pw.slots = util_xmalloc(pw.nslots * sizeof(*pw.slots));
	memset(pw.slots, 0, pw.nslots * sizeof(*pw.slots));
	/* Keep the first copy of each object. */
	for (size_t i = 0; i < nall; i++) {
		uint64_t end = (i + 1 < nall && all[i + 1].src == all[i].src)
		                   ? all[i + 1].off
		                   : sizes[all[i].src] - 20;
		if (end <= all[i].off || all[i].off < 12) {
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "pack %s: bad entry offsets",
			                     names[all[i].src]);
			goto done;
		}
		all[i].len = end - all[i].off;
		if (!packw_seen(&pw, &all[i].oid))
			pw.e[pw.n - 1] = all[i];
	}
	for (size_t i = 0; i < npacks; i++)
		src[i].fd = -1;
	for (size_t i = 0; i < npacks; i++) {
		struct stat st;
		void *m = MAP_FAILED;
		bool windowed;
		int fd;

		buf_reset(&path);
		buf_printf(&path, "%s/objects/pack/%s.pack", repo, names[i]);
		fd = direct ? open(path.data, O_RDONLY | O_CLOEXEC | O_DIRECT)
		            : -1;
		windowed = fd >= 0;
		if (!windowed)
			fd = open(path.data, O_RDONLY | O_CLOEXEC);
		/* The size read_idx() saw: entry lengths were cut to it. */
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = csirt_error_set(CSIRT_ETAMPER, "opening %s: %s",
			                     path.data, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto done;
		}
		if ((uint64_t)st.st_size != sizes[i]) {
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "%s: its size changed", path.data);
			close(fd);
			goto done;
		}
		src[i].size = sizes[i];
		if (windowed) {
			src[i].fd = fd;
			if (win.p == NULL)
				win.p = util_xaligned_alloc(MERGE_ALIGN,
				                            MERGE_OUT_BUF);
			continue;
		}
		m = mmap(NULL, (size_t)sizes[i], PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m == MAP_FAILED) {
			rc = csirt_error_set(CSIRT_ETAMPER, "mapping %s: %s",
			                     path.data, strerror(errno));
			goto done;
		}
		src[i].map = m;
		madvise(m, (size_t)sizes[i], MADV_SEQUENTIAL);
		atomic_fetch_add_explicit(&merge_read_mapped, sizes[i],
		                          memory_order_relaxed);
	}
	/* Unique in the process: each level's merger runs on its own. */
	buf_printf(&tmp, "%s/objects/pack/tmp_merge_%d_%u.pack", repo,
	           (int)getpid(), atomic_fetch_add(&merge_seq, 1u));
	mo.fd = open(tmp.data,
	             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0444);
	mo.direct = mo.fd >= 0;
	if (mo.fd < 0 && errno == EINVAL) /* no O_DIRECT here (tmpfs) */
		mo.fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		             0444);
	/* 0444 whatever the umask, like the packs it merges. */
	if (mo.fd < 0 || fchmod(mo.fd, 0444) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "create %s: %s",
		                     tmp.data, strerror(errno));
		goto done;
	}
	mo.p = util_xaligned_alloc(MERGE_ALIGN, MERGE_OUT_BUF);
	hdr[8] = (unsigned char)(pw.n >> 24);
	hdr[9] = (unsigned char)(pw.n >> 16);
	hdr[10] = (unsigned char)(pw.n >> 8);
	hdr[11] = (unsigned char)pw.n;
	sha = crypto_sha1_new();
	crypto_sha1_update(sha, hdr, sizeof(hdr));
	if (mout_put(&mo, hdr, sizeof(hdr)) < 0)
		goto io;
	for (size_t i = 0; i < pw.n; i++) {
		uint64_t left = pw.e[i].len, at = pw.e[i].off, dist;
		const struct msrc *sp = &src[pw.e[i].src];
		const unsigned char *head;
		unsigned char ofs[10];
		size_t hl, got, avail;
		unsigned type = 0;
		uint32_t crc = 0;
		bool delta;

		/* off + len <= size - 20 (read_idx sizes, checked above). */
		got = left < 32 ? (size_t)left : 32;
		if ((head = msrc_at(sp, &win, at, got, &avail)) == NULL)
			goto io;
		if ((hl = entry_header(head, got, &type, &dist)) == 0 ||
		    (type == 6 && (dist == 0 || dist > at))) {
			rc = csirt_error_set(CSIRT_EFAIL,
			                     "pack %s: a bad entry header at "
			                     "offset %" PRIu64,
			                     names[pw.e[i].src], at);
			goto done;
		}
		if (type == 7) {
			/* A REF_DELTA (libgit2's packbuilder writes them)
			 * names its base by id: copied as it is, provided
			 * the base is in the merged pack too. */
			git_oid base;

			if (hl + GIT_OID_RAWSZ > got) {
				rc =
				    csirt_error_set(CSIRT_EFAIL,
				                    "pack %s: a bad entry "
				                    "header at offset %" PRIu64,
				                    names[pw.e[i].src], at);
				goto done;
			}
			git_oid_fromraw(&base, head + hl);
			if (packw_find(&pw, &base) == SIZE_MAX) {
				rc = csirt_error_set(
				    CSIRT_EFAIL,
				    "pack %s: a delta at offset %" PRIu64
				    " on a base outside the packs merged",
				    names[pw.e[i].src], at);
				goto done;
			}
		}
		delta = type == 6;
		if (delta) {
			/* Its base: by offset in its pack, then by id to
			 * where the kept copy went (always before this). */
			const struct pentry *b =
			    entry_at(all, nall, pw.e[i].src, at - dist);
			size_t k =
			    b != NULL ? packw_find(&pw, &b->oid) : SIZE_MAX;
			size_t tl;

			if (k == SIZE_MAX || k >= i) {
				rc =
				    csirt_error_set(CSIRT_ETAMPER,
				                    "pack %s: delta at %" PRIu64
				                    " without its base",
				                    names[pw.e[i].src], at);
				goto done;
			}
			for (tl = 0; head[tl] & 0x80; tl++)
				;
			tl++;
			size_t ol = ofs_encode(ofs, pos - pw.e[k].off);
			crc = libdeflate_crc32(0, head, tl);
			crc = libdeflate_crc32(crc, ofs, ol);
			crypto_sha1_update(sha, head, tl);
			crypto_sha1_update(sha, ofs, ol);
			if (mout_put(&mo, head, tl) < 0 ||
			    mout_put(&mo, ofs, ol) < 0)
				goto io;
			pw.e[i].off = pos;
			pos += tl + ol;
			at += hl;
			left -= hl;
		} else {
			pw.e[i].off = pos;
		}
		while (left > 0) {
			const unsigned char *chunk;
			size_t r;

			if ((chunk = msrc_at(sp, &win, at, 1, &avail)) == NULL)
				goto io;
			r = left < avail ? (size_t)left : avail;
			crypto_sha1_update(sha, chunk, r);
			if (delta)
				crc = libdeflate_crc32(crc, chunk, r);
			if (mout_put(&mo, chunk, r) < 0)
				goto io;
			left -= r;
			at += r;
			pos += r;
		}
		if (delta)
			pw.e[i].crc = crc;
	}
	crypto_sha1_final(sha, sum);
	sha = NULL;
	if (mout_put(&mo, sum, sizeof(sum)) < 0 || mout_finish(&mo) < 0)
		goto io;
	atomic_fetch_add_explicit(mo.direct ? &merge_written_direct
	                                    : &merge_written_buffered,
	                          pos + sizeof(sum), memory_order_relaxed);
	if (close(mo.fd) < 0) {
		int e = errno;

		mo.fd = -1;
		unlink(tmp.data);
		errno = e;
		goto io;
	}
	mo.fd = -1;
	pack_name(name_out, sum);
	buf_reset(&path);
	buf_printf(&path, "%s/objects/pack/%s.pack", repo, name_out);
	if (rename(tmp.data, path.data) < 0)
		goto io;
	buf_reset(&path);
	buf_printf(&path, "%s/objects/pack/%s.idx", repo, name_out);
	rc = write_idx(path.data, pw.e, pw.n, sum);
	goto done;
io:
	rc = csirt_error_set(CSIRT_EUNAVAILABLE, "merging packs: %s",
	                     strerror(errno ? errno : EIO));
done:
	if (sha != NULL) {
		unsigned char junk[20];
		crypto_sha1_final(sha, junk);
	}
	if (mo.fd >= 0) {
		close(mo.fd);
		unlink(tmp.data);
	}
	free(mo.p);
	for (size_t i = 0; i < npacks; i++) {
		if (src[i].map != NULL)
			munmap((void *)(uintptr_t)src[i].map, (size_t)sizes[i]);
		if (src[i].fd >= 0)
			close(src[i].fd);
	}
	free(win.p);
	free(src);
	free(sizes);
	free(all);
	packw_free(&pw);
	buf_free(&path);
	buf_free(&tmp);
	return rc;
}

/* ---- in-memory trees ---------------------------------------------- */

static void
tnode_free(struct tnode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		tnode_free(n->kids[i]);
	free(n->kids);
	free(n->base);
	buf_free(&n->ser);
	free(n->name);
	free(n);
}

static struct tnode *
tnode_new(struct ledger *lg, const char *name, size_t len, bool is_tree)
{
	struct tnode *n = util_xcalloc(1, sizeof(*n));

	n->name = util_xmalloc(len + 1);
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->namelen = len;
	n->is_tree = is_tree;
	lg->nodes++;
	return n;
}

/* git's tree order: byte order, with a tree's name compared as "name/". */
static int
entry_cmp(const char *a, size_t alen, bool atree, const char *b, size_t blen,
          bool btree)
{
	size_t min = alen < blen ? alen : blen;
	int c = memcmp(a, b, min);
	unsigned char ca, cb;

	if (c != 0)
		return c;
	ca = alen > min ? (unsigned char)a[min] : (atree ? '/' : 0);
	cb = blen > min ? (unsigned char)b[min] : (btree ? '/' : 0);
	return (int)ca - (int)cb;
}

static size_t
count_nodes(const struct tnode *n)
{
	size_t c = 1;

	for (size_t i = 0; i < n->nkids; i++)
		c += count_nodes(n->kids[i]);
	return c;
}

/* Unloads clean tree `n`: its kids go, and it reloads from its id on
 * demand.  Its delta base goes too: it served the batch's pack, on disk by
 * now (called from ledger_batch_finish()). */
static void
tnode_unload(struct ledger *lg, struct tnode *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		lg->nodes -= count_nodes(n->kids[i]);
		tnode_free(n->kids[i]);
	}
	free(n->kids);
	n->kids = NULL;
	n->nkids = n->cap = 0;
	n->loaded = false;
	buf_free(&n->ser);
	n->ser_kids = 0;
	n->pre_n = n->pre_len = 0;
	free(n->base);
	n->base = NULL;
	n->base_len = 0;
}

/* Drops the children of clean subtrees (they reload on demand). */
static void
tnode_trim(struct ledger *lg, struct tnode *n, int depth)
{
	if (!n->is_tree || !n->loaded)
		return;
	if (!n->dirty && depth >= 2) {
		tnode_unload(lg, n);
		return;
	}
	for (size_t i = 0; i < n->nkids; i++)
		tnode_trim(lg, n->kids[i], depth + 1);
}

/* Whether `n` stands for its entry alone: a file, or a tree not loaded. */
static bool
tnode_is_stub(const struct tnode *n)
{
	return !n->is_tree || !n->loaded;
}

/*
 * Compacts the clean, written trees below and including `n`: a tree's
 * leading entries that are stubs (after its clean leaf trees are unloaded)
 * are kept only as their bytes in `ser`, all but the last entry.  While
 * a case's events were in buckets of the global seq (before Case-Seq,
 * layout.h), each event of interleaved cases started a bucket of its own,
 * so a case's events/ tree held one entry an event: at 200,000 nodes,
 * dropping whole clean subtrees (tnode_trim) made every later event
 * reload its case's trees from the packs, and a 60 s note run over 1,024
 * cases fell from ~7,000 to ~2,500 events/s (session 10, README).  The
 * case's own buckets bound those trees now, but many cases still pass the
 * budget.  An entry compacted is its ~34 bytes in `ser`, not a node;
 * appending after it needs no node.
 */
static void
tnode_compact(struct ledger *lg, struct tnode *n)
{
	size_t r = 0;

	if (!n->is_tree || !n->loaded)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		tnode_compact(lg, n->kids[i]);
	if (n->dirty || n->ser_kids != n->nkids)
		return;
	/* A base serves deltas in the pack it was written to, which is on
	 * disk by now (ledger_batch_finish); the next write makes another. */
	free(n->base);
	n->base = NULL;
	n->base_len = 0;
	if (n->nkids < 2)
		return;
	for (size_t i = 0; i + 1 < n->nkids; i++) {
		struct tnode *k = n->kids[i];
		bool leaf = k->is_tree && k->loaded && !k->dirty &&
		            k->ser_kids == k->nkids;

		for (size_t j = 0; leaf && j < k->nkids; j++)
			leaf = tnode_is_stub(k->kids[j]);
		if (leaf)
			tnode_unload(lg, k);
	}
	while (r + 1 < n->nkids && tnode_is_stub(n->kids[r]))
		r++;
	if (r < LEDGER_COMPACT_MIN)
		return;
	n->pre_len = n->kids[r]->ser_off;
	n->pre_n += r;
	for (size_t i = 0; i < r; i++)
		tnode_free(n->kids[i]);
	lg->nodes -= r;
	memmove(n->kids, n->kids + r, (n->nkids - r) * sizeof(*n->kids));
	n->nkids -= r;
	n->ser_kids -= r;
	if (n->cap > 2 * n->nkids + 4) {
		n->cap = n->nkids + 4;
		n->kids = util_xrealloc(n->kids, n->cap * sizeof(*n->kids));
	}
}

static int
tnode_load(struct ledger *lg, struct tnode *n)
{
	git_tree *tree = NULL;
	size_t count;
	int rc = -1;

	if (n->loaded)
		return 0;
	if (git_tree_lookup(&tree, lg->repo, &n->oid) < 0)
		return git_fail(CSIRT_ETAMPER, "reading ledger tree");
	lg->tree_loads++;
	count = git_tree_entrycount(tree);
	n->kids = util_xcalloc(count ? count : 1, sizeof(*n->kids));
	n->cap = count ? count : 1;
	for (size_t i = 0; i < count; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_object_t type = git_tree_entry_type(e);
		struct tnode *k;

		if (type != GIT_OBJECT_TREE && type != GIT_OBJECT_BLOB) {
			rc = csirt_error_set(
			    CSIRT_ETAMPER,
			    "ledger tree holds an entry \"%s\" that is neither "
			    "file nor directory",
			    name);
			goto done;
		}
		k = tnode_new(lg, name, strlen(name), type == GIT_OBJECT_TREE);
		git_oid_cpy(&k->oid, git_tree_entry_id(e));
		n->kids[n->nkids++] = k;
	}
	n->loaded = true;
	rc = 0;
done:
	git_tree_free(tree);
	return rc;
}

static size_t tree_entry(const unsigned char *p, const unsigned char *end,
                         const char **name, size_t *namelen, bool *is_tree);

/* Makes the compacted entries of `n` kids again (stubs). */
static int
tnode_expand(struct ledger *lg, struct tnode *n)
{
	const unsigned char *p = (const unsigned char *)n->ser.data,
	                    *end = p + n->pre_len;
	struct tnode **kids;
	size_t k = 0;

	if (n->pre_n == 0)
		return 0;
	kids = util_xcalloc(n->pre_n + n->nkids, sizeof(*kids));
	while (p < end) {
		const char *name;
		size_t namelen, len;
		bool is_tree;

		len = tree_entry(p, end, &name, &namelen, &is_tree);
		if (len == 0 || k == n->pre_n)
			break;
		kids[k] = tnode_new(lg, name, namelen, is_tree);
		memcpy(kids[k]->oid.id, p + len - GIT_OID_RAWSZ, GIT_OID_RAWSZ);
		kids[k]->ser_off =
		    (size_t)(p - (const unsigned char *)n->ser.data);
		k++;
		p += len;
	}
	if (p != end || k != n->pre_n) {
		for (size_t i = 0; i < k; i++)
			tnode_free(kids[i]);
		lg->nodes -= k;
		free(kids);
		return csirt_error_set(CSIRT_EFAIL,
		                       "ledger tree cache: a compacted tree "
		                       "does not parse");
	}
	memcpy(kids + k, n->kids, n->nkids * sizeof(*kids));
	free(n->kids);
	n->kids = kids;
	n->nkids += k;
	n->cap = n->nkids;
	n->ser_kids += k;
	n->pre_n = n->pre_len = 0;
	return 0;
}

/* Whether `name` (either type) could be among the compacted entries of `n`
 * or be inserted among them: it sorts before n's first kid. */
static bool
tnode_in_prefix(const struct tnode *n, const char *name, size_t len)
{
	const struct tnode *k;

	if (n->pre_n == 0)
		return false;
	if (n->nkids == 0)
		return true;
	k = n->kids[0];
	return entry_cmp(name, len, false, k->name, k->namelen, k->is_tree) <
	           0 ||
	       entry_cmp(name, len, true, k->name, k->namelen, k->is_tree) < 0;
}

/* Kid `at` of tree `n` changes, or a kid is inserted there: its entry and
 * those after it must be serialised again. */
static void
tnode_stale(struct tnode *n, size_t at)
{
	if (at < n->ser_kids) {
		n->ser.len = n->kids[at]->ser_off;
		n->ser_kids = at;
	}
}

/* Binary search for `name` of the given type; returns the index where it
 * is or would be inserted, and sets *found. */
static size_t
tnode_search(const struct tnode *n, const char *name, size_t len, bool is_tree,
             bool *found)
{
	size_t lo = 0, hi = n->nkids;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tnode *k = n->kids[mid];
		int c = entry_cmp(k->name, k->namelen, k->is_tree, name, len,
		                  is_tree);
		if (c == 0 && k->is_tree == is_tree) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Finds (or with `create`, inserts) the child `name` of tree `n`, at
 * index *at_out. */
static int
tnode_child(struct tnode **out, size_t *at_out, struct ledger *lg,
            struct tnode *n, const char *name, size_t len, bool is_tree,
            bool create)
{
	bool found;
	size_t at;
	int rc;

	*out = NULL;
	if ((rc = tnode_load(lg, n)) != 0)
		return rc;
	if (tnode_in_prefix(n, name, len) && (rc = tnode_expand(lg, n)) != 0)
		return rc;
	at = tnode_search(n, name, len, is_tree, &found);
	*at_out = at;
	if (found) {
		*out = n->kids[at];
		return 0;
	}
	(void)tnode_search(n, name, len, !is_tree, &found);
	if (found)
		return csirt_error_set(CSIRT_EFAIL,
		                       "ledger path clash at \"%.*s\"",
		                       (int)len, name);
	if (!create)
		return CSIRT_ENOTFOUND;
	if (n->nkids == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 4;
		n->kids = util_xrealloc(n->kids, n->cap * sizeof(*n->kids));
	}
	tnode_stale(n, at);
	memmove(n->kids + at + 1, n->kids + at,
	        (n->nkids - at) * sizeof(*n->kids));
	n->kids[at] = tnode_new(lg, name, len, is_tree);
	n->kids[at]->loaded = is_tree; /* a new tree starts empty */
	n->kids[at]->dirty = is_tree;
	n->nkids++;
	*out = n->kids[at];
	return 0;
}

static int
odb_write(git_oid *out, struct ledger *lg, const void *data, size_t len,
          git_object_t type)
{
	if (git_odb_hash(out, data, len, type) < 0)
		return git_fail(CSIRT_EFAIL, "hashing ledger object");
	return packw_add(lg->pw, out, type, data, len, NULL);
}

/* Places a blob at `path`, marking every tree above it dirty. */
static int
tree_put(struct ledger *lg, const char *path, const git_oid *blob)
{
	struct tnode *n = lg->root, *k;
	const char *p = path, *slash;
	size_t at;
	int rc;

	if (*path == '\0' || *path == '/' || strstr(path, "//") != NULL ||
	    path[strlen(path) - 1] == '/')
		return csirt_error_set(CSIRT_EFAIL, "bad ledger path \"%s\"",
		                       path);
	n->dirty = true;
	while ((slash = strchr(p, '/')) != NULL) {
		if ((rc = tnode_child(&k, &at, lg, n, p, (size_t)(slash - p),
		                      true, true)) != 0)
			return rc;
		k->dirty = true;
		n = k;
		p = slash + 1;
	}
	if ((rc = tnode_child(&k, &at, lg, n, p, strlen(p), false, true)) != 0)
		return rc;
	tnode_stale(n, at);
	git_oid_cpy(&k->oid, blob);
	return 0;
}

/* One entry of a serialised tree at p: "<mode> <name>\0<20-byte id>".
 * Returns its length (0 if malformed) and its name. */
static size_t
tree_entry(const unsigned char *p, const unsigned char *end, const char **name,
           size_t *namelen, bool *is_tree)
{
	const unsigned char *sp = memchr(p, ' ', (size_t)(end - p)), *nul;

	if (sp == NULL)
		return 0;
	nul = memchr(sp, '\0', (size_t)(end - sp));
	if (nul == NULL || end - nul < 1 + GIT_OID_RAWSZ)
		return 0;
	*is_tree = sp - p == 5 && memcmp(p, "40000", 5) == 0;
	*name = (const char *)sp + 1;
	*namelen = (size_t)(nul - sp - 1);
	return (size_t)(nul + 1 + GIT_OID_RAWSZ - p);
}

static void
delta_varint(struct buf *b, uint64_t v)
{
	do {
		unsigned char c = (unsigned char)(v & 0x7f);
		v >>= 7;
		buf_putc(b, (char)(c | (v != 0 ? 0x80 : 0)));
	} while (v != 0);
}

/* git delta "copy from base" instructions for [off, off+len). */
static void
delta_copy(struct buf *b, uint64_t off, uint64_t len)
{
	while (len > 0) {
		uint64_t n = len > 0xffffff ? 0xffffff : len;
		unsigned char op = 0x80, arg[7];
		size_t k = 0;

		for (unsigned i = 0; i < 4; i++)
			if ((off >> (8 * i)) & 0xff) {
				op |= (unsigned char)(1u << i);
				arg[k++] = (unsigned char)(off >> (8 * i));
			}
		for (unsigned i = 0; i < 3; i++)
			if ((n >> (8 * i)) & 0xff) {
				op |= (unsigned char)(0x10u << i);
				arg[k++] = (unsigned char)(n >> (8 * i));
			}
		buf_putc(b, (char)op);
		buf_put(b, arg, k);
		off += n;
		len -= n;
	}
}

/* git delta "insert" instructions: literal bytes, 127 at a time. */
static void
delta_insert(struct buf *b, const unsigned char *p, size_t len)
{
	while (len > 0) {
		size_t n = len > 127 ? 127 : len;
		buf_putc(b, (char)n);
		buf_put(b, p, n);
		p += n;
		len -= n;
	}
}

/*
 * A git delta turning tree `base` into tree `to`, entry by entry: both are
 * sorted in git's tree order, so one merge walk finds the entries they
 * share (copied from the base, runs coalesced) and the new or changed ones
 * (inserted).  Returns -1 if either does not parse (then no delta).
 */
static int
tree_delta(struct buf *out, const unsigned char *base, size_t blen,
           const unsigned char *to, size_t tlen)
{
	const unsigned char *bp = base, *bend = base + blen, *tp = to,
	                    *tend = to + tlen, *ins = NULL;
	uint64_t cstart = 0, clen = 0;
	size_t inslen = 0;

	buf_reset(out);
	delta_varint(out, blen);
	delta_varint(out, tlen);
	while (tp < tend) {
		const char *tn, *bn = NULL;
		size_t tnl, bnl = 0, tl, bl = 0;
		bool tt, bt = false;
		int c = 1;

		if ((tl = tree_entry(tp, tend, &tn, &tnl, &tt)) == 0)
			return -1;
		/* Skip base entries that sort before this one (removed). */
		while (bp < bend) {
			if ((bl = tree_entry(bp, bend, &bn, &bnl, &bt)) == 0)
				return -1;
			c = entry_cmp(bn, bnl, bt, tn, tnl, tt);
			if (c >= 0)
				break;
			bp += bl;
		}
		if (bp < bend && c == 0 && bl == tl &&
		    memcmp(bp, tp, tl) == 0) {
			if (inslen != 0) {
				delta_insert(out, ins, inslen);
				inslen = 0;
			}
			if (clen != 0 &&
			    cstart + clen == (uint64_t)(bp - base)) {
				clen += bl;
			} else {
				delta_copy(out, cstart, clen);
				cstart = (uint64_t)(bp - base);
				clen = bl;
			}
			bp += bl;
		} else {
			delta_copy(out, cstart, clen);
			clen = 0;
			if (inslen == 0)
				ins = tp;
			inslen += tl;
			if (bp < bend && c == 0)
				bp += bl; /* changed: the base entry is replaced
				           */
		}
		tp += tl;
	}
	delta_copy(out, cstart, clen);
	if (inslen != 0)
		delta_insert(out, ins, inslen);
	return 0;
}

/*
 * A tree's git id.  Trees are hashed with OpenSSL's SHA-1 (SHA-NI here:
 * 1,897 MB/s against 602 for libgit2's git_odb_hash(), which is SHA-1DC),
 * because a busy case's events/ and notes/ trees are hashed whole on
 * every event of the case: that was 40 % of the commit thread at a few
 * hundred events a case.  The ids are the same; SHA-1DC only adds the
 * detection of a collision attack in the hashed bytes, and a tree's bytes
 * are this daemon's own (server-made names, and the ids of objects hashed
 * with SHA-1DC).  Blobs and commits, which carry what users wrote, keep
 * git_odb_hash().
 */
static void
tree_hash(git_oid *out, const void *data, size_t len)
{
	struct crypto_sha1_ctx *sha = crypto_sha1_new();
	char hdr[32] = "tree ", dig[24];
	size_t n = 5, d = 0, v = len;

	/* "tree %zu" and its NUL, without snprintf() */
	do {
		dig[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (d > 0)
		hdr[n++] = dig[--d];
	hdr[n++] = '\0';
	crypto_sha1_update(sha, hdr, n);
	crypto_sha1_update(sha, data, len);
	crypto_sha1_final(sha, out->id);
}

/* Writes tree `n` (serialised in `data`) into the batch's pack: as a delta
 * against the first version of this tree in the pack when that is less
 * than half the size, else whole (and then it is the base). */
static int
tree_pack(struct ledger *lg, struct tnode *n, const struct buf *data)
{
	struct packw *pw = lg->pw;
	bool added;
	int rc;

	tree_hash(&n->oid, data->data, data->len);
	if (n->base != NULL && n->base_gen == pw->gen &&
	    tree_delta(&lg->delta, n->base, n->base_len,
	               (const unsigned char *)data->data, data->len) == 0 &&
	    lg->delta.len < data->len / 2) {
		packw_add_delta(pw, &n->oid, n->base_off, lg->delta.data,
		                lg->delta.len);
		return 0;
	}
	if ((rc = packw_add(pw, &n->oid, GIT_OBJECT_TREE, data->data, data->len,
	                    &added)) != 0 ||
	    !added)
		return rc;
	if (n->base_len < data->len || n->base == NULL)
		n->base = util_xrealloc(n->base, data->len ? data->len : 1);
	memcpy(n->base, data->data, data->len);
	n->base_len = data->len;
	n->base_gen = pw->gen;
	n->base_off = pw->e[pw->n - 1].off;
	return 0;
}

/* Serialises and writes every dirty tree below and including `n`. */
static int
tree_write(struct ledger *lg, struct tnode *n)
{
	int rc;

	for (size_t i = 0; i < n->nkids; i++) {
		if (n->kids[i]->is_tree && n->kids[i]->dirty) {
			if ((rc = tree_write(lg, n->kids[i])) != 0)
				return rc;
			tnode_stale(n, i);
		}
	}
	for (size_t i = n->ser_kids; i < n->nkids; i++) {
		struct tnode *k = n->kids[i];
		size_t mode = k->is_tree ? 6 : 7;

		k->ser_off = n->ser.len;
		buf_grow(&n->ser, mode + k->namelen + 1 + GIT_OID_RAWSZ);
		memcpy(n->ser.data + n->ser.len,
		       k->is_tree ? "40000 " : "100644 ", mode);
		memcpy(n->ser.data + n->ser.len + mode, k->name,
		       k->namelen + 1);
		memcpy(n->ser.data + n->ser.len + mode + k->namelen + 1,
		       k->oid.id, GIT_OID_RAWSZ);
		n->ser.len += mode + k->namelen + 1 + GIT_OID_RAWSZ;
	}
	n->ser_kids = n->nkids;
	if ((rc = tree_pack(lg, n, &n->ser)) != 0)
		return rc;
	n->dirty = false;
	return 0;
}

static void
tree_reset(struct ledger *lg)
{
	tnode_free(lg->root);
	lg->nodes = 0;
	lg->root = tnode_new(lg, "", 0, true);
	lg->root->loaded = true;
}

/* Makes the in-memory tree that of `commit` (NULL: the empty tree). */
static int
tree_from_commit(struct ledger *lg, const git_oid *commit)
{
	git_commit *c = NULL;

	tree_reset(lg);
	if (commit == NULL)
		return 0;
	if (git_commit_lookup(&c, lg->repo, commit) < 0)
		return git_fail(CSIRT_ETAMPER, "reading ledger head");
	git_oid_cpy(&lg->root->oid, git_commit_tree_id(c));
	lg->root->loaded = false;
	git_commit_free(c);
	return 0;
}

/* ---- repository ---------------------------------------------------- */

int
ledger_create(const char *path)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_repository_init_options opts;
	int rc = -1;

	if ((rc = ledger_lib_init()) != 0)
		return rc;
	if (git_repository_init_options_init(
	        &opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0)
		return git_fail(CSIRT_EFAIL, "libgit2 init options");
	if (util_path_exists(path))
		return csirt_error_set(CSIRT_ECONFLICT, "%s already exists",
		                       path);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
	             GIT_REPOSITORY_INIT_NO_REINIT;
	opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	opts.initial_head = "ledger";
	opts.description = "csirtd ledger: one signed commit per case event";
	if (git_repository_init_ext(&repo, path, &opts) < 0) {
		rc = git_fail(CSIRT_EFAIL, "creating ledger repository");
		goto done;
	}
	if (git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_bool(cfg, "core.logAllRefUpdates", 0) < 0 ||
	    git_config_set_bool(cfg, "receive.denyNonFastForwards", 1) < 0 ||
	    git_config_set_bool(cfg, "receive.denyDeletes", 1) < 0 ||
	    git_config_set_string(cfg, "gpg.format", "ssh") < 0) {
		rc = git_fail(CSIRT_EFAIL, "configuring ledger repository");
		goto done;
	}
	rc = 0;
done:
	git_config_free(cfg);
	git_repository_free(repo);
	return rc;
}

/* True for a file of objects/pack that only a killed writer or merger
 * leaves behind: "tmp_*" (a merge in progress) or "*.tmp" (an atomic
 * write in progress).  Never a pack git reads: those are "pack-*". */
static bool
pack_dir_leftover(const char *name)
{
	size_t l = strlen(name);

	return strncmp(name, "tmp_", 4) == 0 ||
	       (l > 4 && strcmp(name + l - 4, ".tmp") == 0);
}

/* Start-up, with the data directory locked (no other writer can be
 * running): the lock files and half-written pack files of a process that
 * died.  A half-written merge left as a ".pack" without its index would
 * otherwise send the start-up fold to the slow path. */
static void
remove_stale_locks(const char *path)
{
	static const char *const locks[] = {"refs/heads/ledger.lock",
	                                    "packed-refs.lock", "HEAD.lock",
	                                    "config.lock"};
	char *dir = util_path_join(path, "objects/pack");
	DIR *d;
	struct dirent *de;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(locks); i++) {
		char *p = util_path_join(path, locks[i]);
		if (unlink(p) == 0)
			log_warn("removed stale lock left by a crash", "path",
			         p);
		free(p);
	}
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (!pack_dir_leftover(de->d_name))
				continue;
			p = util_path_join(dir, de->d_name);
			if (unlink(p) == 0)
				log_warn(
				    "removed a half-written pack file left "
				    "by a crash",
				    "path", p);
			free(p);
		}
		closedir(d);
	}
	free(dir);
}

static int
read_head(struct ledger *lg)
{
	git_reference *ref = NULL;
	int err = git_reference_lookup(&ref, lg->repo, LEDGER_REF);

	lg->has_head = false;
	if (err == GIT_ENOTFOUND)
		return 0;
	if (err < 0)
		return git_fail(CSIRT_ETAMPER, "reading " LEDGER_REF);
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		git_reference_free(ref);
		return csirt_error_set(CSIRT_ETAMPER,
		                       LEDGER_REF " is not a direct reference");
	}
	git_oid_cpy(&lg->head, git_reference_target(ref));
	lg->has_head = true;
	git_reference_free(ref);
	return 0;
}

/* Writes `len` bytes to lg->path/`rel` by a temporary file and a rename,
 * so that a reader sees the old content or the new, never a torn file.
 * Not fsynced (see the top of the file): this runs once per batch. */
static int
server_info_put(struct ledger *lg, const char *rel, const char *data,
                size_t len)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	int fd = -1, rc = 0;
	size_t off = 0;
	bool ok;

	buf_printf(&path, "%s/%s", lg->path, rel);
	buf_printf(&tmp, "%s.tmp", path.data);
	*strrchr(tmp.data, '/') = '\0';
	mkdir(tmp.data, 0755); /* info/ may be missing; EEXIST is fine */
	buf_reset(&tmp);
	buf_printf(&tmp, "%s.tmp", path.data);
	unlink(tmp.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ok = fd >= 0;
	while (ok && off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		off += ok ? (size_t)w : 0;
	}
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp.data, path.data) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "writing %s: %s",
		                     path.data, strerror(errno));
		if (fd >= 0)
			unlink(tmp.data);
	}
	buf_free(&path);
	buf_free(&tmp);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True for "pack-<40 hex>.pack" (what git's dumb walker may fetch). */
static bool
pack_file_name(const char *n)
{
	if (strlen(n) != 50 || strncmp(n, "pack-", 5) != 0 ||
	    strcmp(n + 45, ".pack") != 0)
		return false;
	for (size_t i = 5; i < 45; i++)
		if (strchr("0123456789abcdef", n[i]) == NULL)
			return false;
	return true;
}

/* The durable head as the ref file on disk says: 40 hex digits, or ""
 * before the first commit.  csirtd writes the ref loose; packed-refs is
 * read too, for a repository that `git pack-refs` has been run on. */
static int
server_info_head(const char *repo, char out[LEDGER_OID_HEX])
{
	static const char *const files[] = {LEDGER_REF, "packed-refs"};
	char *data = NULL;
	size_t len = 0;
	int rc = 0;

	out[0] = '\0';
	for (size_t i = 0; i < UTIL_ARRAY_LEN(files) && out[0] == '\0'; i++) {
		char *path = util_path_join(repo, files[i]);
		const char *line;

		rc = util_read_file(&data, &len, path, 1u << 20);
		free(path);
		if (rc == CSIRT_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			return rc;
		/* "<hex>\n" loose; "<hex> refs/heads/ledger\n" packed. */
		for (line = data; line < data + len && out[0] == '\0';) {
			const char *eol =
			    memchr(line, '\n', len - (size_t)(line - data));
			size_t ll = eol != NULL ? (size_t)(eol - line)
			                        : len - (size_t)(line - data);
			bool hex =
			    ll >= 40 && strspn(line, "0123456789abcdef") >= 40;

			if (hex &&
			    (i == 0 ? ll == 40
			            : ll == 41 + strlen(LEDGER_REF) &&
			                  line[40] == ' ' &&
			                  strncmp(line + 41, LEDGER_REF,
			                          strlen(LEDGER_REF)) == 0)) {
				memcpy(out, line, 40);
				out[40] = '\0';
			}
			line += ll + 1;
		}
		free(data);
		data = NULL;
	}
	return rc;
}

int
ledger_server_info(struct buf *out, const char *repo, const char *rel)
{
	char *dir = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int rc = 0;

	if (strcmp(rel, "info/refs") == 0) {
		char hex[LEDGER_OID_HEX];

		if ((rc = server_info_head(repo, hex)) == 0 && hex[0] != '\0')
			buf_printf(out, "%s\t" LEDGER_REF "\n", hex);
		return rc;
	}
	if (strcmp(rel, "objects/info/packs") != 0)
		return csirt_error_set(CSIRT_EINVAL, "no server-info file %s",
		                       rel);
	dir = util_path_join(repo, "objects/pack");
	if ((d = opendir(dir)) == NULL) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "reading %s: %s", dir,
		                     strerror(errno));
		goto done;
	}
	/* Only packs with their index: git uses no other. */
	while ((de = readdir(d)) != NULL) {
		char idx[64];
		struct stat st;

		if (!pack_file_name(de->d_name))
			continue;
		snprintf(idx, sizeof(idx), "%.45s.idx", de->d_name);
		if (fstatat(dirfd(d), idx, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = util_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = util_strdup(de->d_name);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "P %s\n", names[i]);
	buf_puts(out, "\n");
done:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return rc;
}

int
ledger_update_server_info(struct ledger *lg)
{
	struct buf packs = BUF_INIT, refs = BUF_INIT;
	int rc;

	/* Packs before refs: a ref never names a commit in a pack the list
	 * lacks. */
	if ((rc = ledger_server_info(&packs, lg->path, "objects/info/packs")) ==
	        0 &&
	    (rc = server_info_put(lg, "objects/info/packs", packs.data,
	                          packs.len)) == 0 &&
	    (rc = ledger_server_info(&refs, lg->path, "info/refs")) == 0)
		rc = server_info_put(lg, "info/refs", refs.len ? refs.data : "",
		                     refs.len);
	buf_free(&packs);
	buf_free(&refs);
	return rc;
}

/* At a clean close: a stale server-info file only misleads a static web
 * server someone points at ledger.git (csirtd renders its own), so it is
 * logged, not returned. */
static void
server_info_refresh(struct ledger *lg)
{
	if (ledger_update_server_info(lg) != 0)
		log_warn("cannot update the ledger's server info", "error",
		         csirt_error_msg());
}

static void merges_stop(struct ledger *lg);
static void spares_stop(struct spares *sp);
static int pack_objects(struct ledger *lg, const git_oid *oids, size_t n,
                        git_revwalk *walk, char name_out[64]);
static void pack_remove(struct ledger *lg, const char *name);

/* A pack found at start-up.  Its merges are not known, so its level is
 * guessed from its size: as if each level's packs were FANOUT times the
 * size of the level below's, level 0 under LEDGER_LEVEL0_BYTES * FANOUT
 * (a batch's pack under load is ~0.1-0.8 MB).  Start-up then costs no
 * copy of the ledger: before, these packs were left out of the levels,
 * never merged while the daemon ran, and one full repack folded them all
 * at the first start that found more than half the limit. */
#define LEDGER_LEVEL0_BYTES ((uint64_t)128 << 10)

struct found_pack {
	char name[64];
	uint64_t size;
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found_pack *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static size_t
level_by_size(uint64_t bytes)
{
	uint64_t lim = LEDGER_LEVEL0_BYTES * LEDGER_MERGE_FANOUT;
	size_t l = 0;

	while (l + 1 < LEDGER_MERGE_LEVELS && bytes >= lim) {
		l++;
		lim *= LEDGER_MERGE_FANOUT;
	}
	return l;
}

/* The packs on disk, with their sizes, smallest first.  A pack whose
 * index was never finished is removed: git does not read it, and nothing
 * refers to it (a batch's ref moves, and a merge's sources go, only after
 * the index is durable). */
static int
packs_found(const char *path, struct found_pack **out, size_t *nout)
{
	char *dir = util_path_join(path, "objects/pack");
	struct found_pack *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	struct dirent *de;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		*out = NULL;
		*nout = 0;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		struct stat st;
		char *p;

		if (l <= 5 || l >= 64 + 5 ||
		    strcmp(de->d_name + l - 5, ".pack") != 0 ||
		    strncmp(de->d_name, "pack-", 5) != 0)
			continue;
		p = util_path_join(dir, de->d_name);
		strcpy(p + strlen(p) - 5, ".idx");
		if (!util_path_exists(p)) {
			strcpy(p + strlen(p) - 3, "pack");
			if (unlink(p) == 0)
				log_warn("removed a pack without an index "
				         "left by a crash",
				         "path", p);
			free(p);
			continue;
		}
		strcpy(p + strlen(p) - 3, "pack");
		if (stat(p, &st) != 0)
			st.st_size = 0;
		free(p);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = util_xrealloc(v, cap * sizeof(*v));
		}
		memcpy(v[n].name, de->d_name, l - 5);
		v[n].name[l - 5] = '\0';
		v[n++].size = (uint64_t)st.st_size;
	}
	closedir(d);
	free(dir);
	if (n > 0)
		qsort(v, n, sizeof(*v), found_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/* Start-up: the packs on disk join the levels by size.  Past half the
 * limit, the smallest are first merged into one by concatenation (written
 * and fsynced before any source is removed), so that start-up copies the
 * small packs, never the large ones; a set that cannot be concatenated
 * (REF_DELTA entries from another tool) falls back to one full repack. */
static int
packs_at_open(struct ledger *lg)
{
	struct found_pack *v = NULL;
	char(*flat)[64] = NULL;
	char keep[64];
	size_t n = 0, k;
	git_revwalk *walk = NULL;
	int rc = 0;

	if (!lg->has_head)
		goto done;
	if ((rc = packs_found(lg->path, &v, &n)) != 0)
		goto done;
	if (n > LEDGER_MAX_PACKS / 2) {
		char nb[32], kb[32];

		k = n - LEDGER_MAX_PACKS / 2 + 1;
		snprintf(nb, sizeof(nb), "%zu", n);
		snprintf(kb, sizeof(kb), "%zu", k);
		log_info("merging the smallest packs", "packs", nb, "merged",
		         kb);
		flat = util_xcalloc(k, sizeof(*flat));
		for (size_t i = 0; i < k; i++)
			memcpy(flat[i], v[i].name, 64);
		if (pack_merge(lg->path, flat, k, true, keep) != 0) {
			log_warn("cannot concatenate the ledger's packs; "
			         "repacking",
			         "error", csirt_error_msg());
			if (git_revwalk_new(&walk, lg->repo) < 0 ||
			    git_revwalk_push(walk, &lg->head) < 0) {
				rc =
				    git_fail(CSIRT_EUNAVAILABLE, "repack walk");
				goto done;
			}
			if ((rc = pack_objects(lg, NULL, 0, walk, keep)) != 0)
				goto done;
			k = n; /* every pack is in `keep` */
		}
		for (size_t i = 0; i < k; i++)
			if (strcmp(v[i].name, keep) != 0)
				pack_remove(lg, v[i].name);
		if (git_odb_refresh(lg->odb) < 0) {
			rc = git_fail(CSIRT_EUNAVAILABLE, "odb refresh");
			goto done;
		}
		free(v);
		v = NULL;
		if ((rc = packs_found(lg->path, &v, &n)) != 0)
			goto done;
	}
	for (size_t i = 0; i < n && i < LEDGER_MAX_PACKS; i++) {
		size_t l = level_by_size(v[i].size);
		memcpy(lg->levels[l][lg->nlevel[l]++].name, v[i].name, 64);
	}
done:
	git_revwalk_free(walk);
	free(flat);
	free(v);
	return rc;
}

int
ledger_open(struct ledger **out, const char *path,
            const struct crypto_signer *signer)
{
	struct ledger *lg = NULL;
	int rc;

	*out = NULL;
	if ((rc = ledger_lib_init()) != 0)
		return rc;
	lg = util_xcalloc(1, sizeof(*lg));
	lg->cache_nodes = LEDGER_CACHE_NODES;
	pthread_mutex_init(&lg->mmu, NULL);
	pthread_cond_init(&lg->mcv, NULL);
	pthread_mutex_init(&lg->spares.mu, NULL);
	pthread_cond_init(&lg->spares.cv, NULL);
	lg->spares.lock_fd = -1;
	lg->spares.ref_fd = -1;
	lg->signer = signer;
	lg->path = util_strdup(path);
	if (signer != NULL)
		remove_stale_locks(path);
	if (git_repository_open_bare(&lg->repo, path) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "opening ledger");
		goto done;
	}
	if (git_repository_odb(&lg->odb, lg->repo) < 0) {
		rc = git_fail(CSIRT_EFAIL, "opening ledger odb");
		goto done;
	}
	lg->pw = util_xcalloc(1, sizeof(*lg->pw));
	packw_reset(lg->pw);
	if ((rc = read_head(lg)) != 0)
		goto done;
	lg->tip = lg->head;
	lg->has_tip = lg->has_head;
	if ((rc = tree_from_commit(lg, lg->has_head ? &lg->head : NULL)) != 0)
		goto done;
	if (signer != NULL && (rc = packs_at_open(lg)) != 0)
		goto done;
	if (signer != NULL && (rc = ledger_update_server_info(lg)) != 0)
		goto done;
	*out = lg;
	lg = NULL;
	rc = 0;
done:
	ledger_close(lg);
	return rc;
}

void
ledger_close(struct ledger *lg)
{
	if (lg == NULL)
		return;
	merges_stop(lg);
	spares_stop(&lg->spares);
	util_fsync_parallel_stop(); /* the batch fsyncs' threads */
	if (lg->signer != NULL && lg->repo != NULL)
		server_info_refresh(lg);
	free(lg->trash);
	pthread_mutex_destroy(&lg->mmu);
	pthread_cond_destroy(&lg->mcv);
	tnode_free(lg->root);
	if (lg->pw != NULL)
		packw_free(lg->pw);
	free(lg->pw);
	buf_free(&lg->delta);
	rawcache_free(lg->raw);
	pack_reader_close(lg->packs);
	git_odb_free(lg->odb);
	git_repository_free(lg->repo);
	free(lg->path);
	free(lg);
}

void
ledger_head(const struct ledger *lg, char out[LEDGER_OID_HEX])
{
	if (lg->has_head)
		git_oid_tostr(out, LEDGER_OID_HEX, &lg->head);
	else
		out[0] = '\0';
}

/* ---- writing ------------------------------------------------------- */

int
ledger_batch_begin(struct ledger *lg)
{
	if (lg->in_batch)
		return csirt_error_set(CSIRT_EFAIL, "batch already open");
	lg->in_batch = true;
	packw_reset(lg->pw);
	return 0;
}

static void
sanitize_ident(char *out, size_t size, const char *in)
{
	size_t j = 0;

	for (size_t i = 0; in[i] != '\0' && j + 1 < size; i++) {
		char c = in[i];
		out[j++] = (c == '<' || c == '>' || c == '\n' || c == '\r' ||
		            c == '\0')
		               ? '_'
		               : c;
	}
	out[j] = '\0';
	if (j == 0)
		snprintf(out, size, "unknown");
}

int
ledger_commit(struct ledger *lg, const struct ledger_commit_info *info,
              const struct ledger_file *files, size_t nfiles,
              char commit_out[LEDGER_OID_HEX])
{
	struct buf body = BUF_INIT, sig = BUF_INIT, signed_body = BUF_INIT;
	char tree_hex[LEDGER_OID_HEX], parent_hex[LEDGER_OID_HEX];
	char author[128];
	git_oid blob, commit;
	int64_t secs = info->time_ms / 1000;
	const char *blank;
	int rc;

	if (!lg->in_batch || lg->signer == NULL)
		return csirt_error_set(
		    CSIRT_EFAIL,
		    "ledger_commit outside a batch or without a key");
	for (size_t i = 0; i < nfiles; i++) {
		if ((rc = odb_write(&blob, lg, files[i].data, files[i].len,
		                    GIT_OBJECT_BLOB)) != 0 ||
		    (rc = tree_put(lg, files[i].path, &blob)) != 0)
			goto done;
	}
	if ((rc = tree_write(lg, lg->root)) != 0)
		goto done;

	sanitize_ident(author, sizeof(author), info->author);
	git_oid_tostr(tree_hex, sizeof(tree_hex), &lg->root->oid);
	/* "tree %s\nparent %s\nauthor %s <%s@csirtd.invalid> %lld +0000\n
	 * committer ... %lld +0000\n\n%s", appended piece by piece (a
	 * twentieth of the commit thread in vsnprintf otherwise). */
	buf_puts(&body, "tree ");
	buf_puts(&body, tree_hex);
	if (lg->has_tip) {
		git_oid_tostr(parent_hex, sizeof(parent_hex), &lg->tip);
		buf_puts(&body, "\nparent ");
		buf_puts(&body, parent_hex);
	}
	buf_puts(&body, "\nauthor ");
	buf_puts(&body, author);
	buf_puts(&body, " <");
	buf_puts(&body, author);
	buf_puts(&body, "@csirtd.invalid> ");
	buf_put_i64(&body, secs);
	buf_puts(&body, " +0000\ncommitter " LEDGER_COMMITTER
	                " <" LEDGER_COMMITTER_EMAIL "> ");
	buf_put_i64(&body, secs);
	buf_puts(&body, " +0000\n\n");
	buf_puts(&body, info->message);
	if (body.data[body.len - 1] != '\n')
		buf_putc(&body, '\n');

	/* git signs the commit without its gpgsig header, then inserts the
	 * header (continuation lines start with one space) before the blank
	 * line that ends the headers. */
	if ((rc = crypto_sshsig_sign(lg->signer, "git", body.data, body.len,
	                             &sig)) != 0)
		goto done;
	blank = strstr(body.data, "\n\n");
	buf_put(&signed_body, body.data, (size_t)(blank - body.data) + 1);
	buf_puts(&signed_body, "gpgsig ");
	for (const char *p = sig.data, *end = sig.data + sig.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n =
		    nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		buf_put(&signed_body, p, n);
		if (nl != NULL)
			buf_putc(&signed_body, ' ');
		p += n;
	}
	buf_putc(&signed_body, '\n');
	buf_puts(&signed_body, blank + 1);

	if ((rc = odb_write(&commit, lg, signed_body.data, signed_body.len,
	                    GIT_OBJECT_COMMIT)) != 0)
		goto done;
	git_oid_cpy(&lg->tip, &commit);
	lg->has_tip = true;
	git_oid_tostr(commit_out, LEDGER_OID_HEX, &commit);
	rc = 0;
done:
	buf_free(&body);
	buf_free(&sig);
	buf_free(&signed_body);
	return rc;
}

static int
pack_objects(struct ledger *lg, const git_oid *oids, size_t n,
             git_revwalk *walk, char name_out[64])
{
	git_packbuilder *pb = NULL;
	char *dir = util_path_join(lg->path, "objects/pack");
	int rc = -1;

	if (git_packbuilder_new(&pb, lg->repo) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "packbuilder");
		goto done;
	}
	git_packbuilder_set_threads(pb, 1);
	for (size_t i = 0; i < n; i++) {
		if (git_packbuilder_insert(pb, &oids[i], NULL) < 0) {
			rc = git_fail(CSIRT_EUNAVAILABLE, "packing object");
			goto done;
		}
	}
	if (walk != NULL && git_packbuilder_insert_walk(pb, walk) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "packing history");
		goto done;
	}
	if (git_packbuilder_write(pb, dir, 0, NULL, NULL) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "writing packfile");
		goto done;
	}
	snprintf(name_out, 64, "pack-%s", git_packbuilder_name(pb));
	rc = 0;
done:
	git_packbuilder_free(pb);
	free(dir);
	return rc;
}

static void
pack_remove(struct ledger *lg, const char *name)
{
	static const char *const exts[] = {".pack", ".idx", ".rev", ".keep"};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(exts); i++) {
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s/objects/pack/%s%s", lg->path, name, exts[i]);
		unlink(p.data);
		buf_free(&p);
	}
}

/* Whether any level's merger thread runs (under mmu). */
static bool
mergers_running(const struct ledger *lg)
{
	for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++)
		if (lg->merger_started[l])
			return true;
	return false;
}

static void *
merger_main(void *arg)
{
	struct merger_arg *ma = arg;
	struct ledger *lg = ma->lg;

	util_thread_name("merger");
	util_thread_background();

	pthread_mutex_lock(&lg->mmu);
	for (;;) {
		struct merge_job *job = NULL;

		if (lg->ntrash > 0) {
			size_t n = lg->ntrash;
			char(*names)[64] = util_xcalloc(n, sizeof(*names));

			memcpy(names, lg->trash, n * sizeof(*names));
			lg->ntrash = 0;
			pthread_mutex_unlock(&lg->mmu);
			for (size_t i = 0; i < n; i++)
				pack_remove(lg, names[i]);
			free(names);
			pthread_mutex_lock(&lg->mmu);
			continue;
		}
		if (lg->jobs[ma->level].state == JOB_QUEUED)
			job = &lg->jobs[ma->level];
		if (job == NULL) {
			if (lg->merger_stop)
				break;
			pthread_cond_wait(&lg->mcv, &lg->mmu);
			continue;
		}
		job->state = JOB_RUNNING;
		while (lg->merge_hold[ma->level] && !lg->merger_stop)
			pthread_cond_wait(&lg->mcv, &lg->mmu); /* tests */
		pthread_mutex_unlock(&lg->mmu);
		/* Level 0's sources, written by the batches through the
		 * page cache, are mapped; the merges' own are not cached. */
		job->rc = pack_merge(lg->path, job->names, job->n,
		                     ma->level > 0, job->merged);
		if (job->rc != 0)
			snprintf(job->err, sizeof(job->err), "%s",
			         csirt_error_msg());
		pthread_mutex_lock(&lg->mmu);
		job->state = JOB_DONE;
		pthread_cond_broadcast(&lg->mcv);
	}
	pthread_mutex_unlock(&lg->mmu);
	return NULL;
}

/* On the writer thread: takes finished merges (the merged pack becomes
 * visible, then its sources go) and hands full levels to the merger.
 * Packs stay bounded: each level rests below FANOUT and has at most one
 * merge in flight. */
static void
merges_step(struct ledger *lg, bool schedule)
{
	pthread_mutex_lock(&lg->mmu);
	for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++) {
		struct merge_job *job = &lg->jobs[l];
		size_t up = l + 1 < LEDGER_MERGE_LEVELS ? l + 1 : l;

		if (job->state != JOB_DONE)
			continue;
		job->state = JOB_IDLE;
		if (job->rc != 0) {
			/* Sources stay on disk; start-up levels them
			 * again. */
			log_warn("pack merge failed", "error", job->err);
			continue;
		}
		if (git_odb_refresh(lg->odb) < 0) {
			log_warn(
			    "odb refresh failed; keeping merged packs", "error",
			    git_error_last() ? git_error_last()->message : "");
			continue;
		}
		/* The merged pack and its index are in place before its
		 * sources go, so a listing of the directory at any moment
		 * (ledger_server_info) covers every object.  The merger
		 * thread removes them; without it (stopped), this one. */
		for (size_t i = 0; i < job->n; i++) {
			if (strcmp(job->names[i], job->merged) == 0)
				continue;
			if (!mergers_running(lg) || lg->merger_stop) {
				pack_remove(lg, job->names[i]);
				continue;
			}
			if (lg->ntrash == lg->trashcap) {
				lg->trashcap = lg->trashcap
				                   ? lg->trashcap * 2
				                   : 2 * LEDGER_MERGE_FANOUT;
				lg->trash = util_xrealloc(
				    lg->trash,
				    lg->trashcap * sizeof(*lg->trash));
			}
			memcpy(lg->trash[lg->ntrash++], job->names[i], 64);
			pthread_cond_broadcast(&lg->mcv);
		}
		memcpy(lg->levels[up][lg->nlevel[up]++].name, job->merged, 64);
	}
	for (size_t l = 0; schedule && l < LEDGER_MERGE_LEVELS; l++) {
		struct merge_job *job = &lg->jobs[l];
		if (lg->nlevel[l] < LEDGER_MERGE_FANOUT ||
		    job->state != JOB_IDLE)
			continue;
		/* The level's thread first: without it the packs stay. */
		if (!lg->merger_started[l]) {
			lg->merger_args[l].lg = lg;
			lg->merger_args[l].level = l;
			if (pthread_create(&lg->mergers[l], NULL, merger_main,
			                   &lg->merger_args[l]) != 0) {
				log_warn("cannot start the pack merger");
				continue;
			}
			lg->merger_started[l] = true;
		}
		/* Take the oldest FANOUT packs of the level. */
		for (size_t i = 0; i < LEDGER_MERGE_FANOUT; i++)
			memcpy(job->names[i], lg->levels[l][i].name, 64);
		job->n = LEDGER_MERGE_FANOUT;
		lg->nlevel[l] -= LEDGER_MERGE_FANOUT;
		memmove(lg->levels[l], lg->levels[l] + LEDGER_MERGE_FANOUT,
		        lg->nlevel[l] * sizeof(lg->levels[l][0]));
		job->state = JOB_QUEUED;
		pthread_cond_broadcast(&lg->mcv);
	}
	pthread_mutex_unlock(&lg->mmu);
}

/* Packs on disk that this process knows of: resting ones and the sources
 * of merges not yet collected.  A job's state is the merger's to change,
 * under mmu (ThreadSanitizer found this read outside it). */
static size_t
packs_known(struct ledger *lg)
{
	size_t n = 0;

	pthread_mutex_lock(&lg->mmu);
	for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++) {
		n += lg->nlevel[l];
		if (lg->jobs[l].state != JOB_IDLE)
			n += lg->jobs[l].n + 1;
	}
	pthread_mutex_unlock(&lg->mmu);
	return n;
}

/* Keeps the pack count under LEDGER_MAX_PACKS: when merges fall behind,
 * the writer waits for one to finish (rare: a level fills far more slowly
 * than it merges). */
static void
merges_backpressure(struct ledger *lg)
{
	while (packs_known(lg) + 1 > LEDGER_MAX_PACKS) {
		bool busy = false;

		pthread_mutex_lock(&lg->mmu);
		for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++)
			busy = busy || lg->jobs[l].state == JOB_QUEUED ||
			       lg->jobs[l].state == JOB_RUNNING;
		if (busy)
			pthread_cond_wait(&lg->mcv, &lg->mmu);
		pthread_mutex_unlock(&lg->mmu);
		if (!busy)
			return; /* nothing in flight to wait for */
		merges_step(lg, true);
	}
}

/* Lets the merger finish what it runs, then collects the results. */
static void
merges_stop(struct ledger *lg)
{
	if (!mergers_running(lg))
		return;
	pthread_mutex_lock(&lg->mmu);
	lg->merger_stop = true;
	for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++)
		if (lg->jobs[l].state == JOB_QUEUED)
			lg->jobs[l].state = JOB_IDLE; /* not started */
	pthread_cond_broadcast(&lg->mcv);
	pthread_mutex_unlock(&lg->mmu);
	for (size_t l = 0; l < LEDGER_MERGE_LEVELS; l++) {
		if (!lg->merger_started[l])
			continue;
		pthread_join(lg->mergers[l], NULL);
		lg->merger_started[l] = false;
	}
	merges_step(lg, false);
}

/* The spares thread's unnamed file for the next ref lock (mu held, and
 * released while the file is made). */
static void
spare_lock_make(struct spares *sp)
{
	int fd;

	pthread_mutex_unlock(&sp->mu);
	fd = open(sp->lock_dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	pthread_mutex_lock(&sp->mu);
	if (fd < 0) {
		/* EOPNOTSUPP, EISDIR: no O_TMPFILE on this file system. */
		log_info("ref locks are created by each batch", "path",
		         sp->lock_dir, "error", strerror(errno));
		sp->lock_off = true;
		return;
	}
	sp->lock_fd = fd;
}

static void *
spares_main(void *arg)
{
	struct spares *sp = arg;

	util_thread_name("spares");
	util_thread_background();

	pthread_mutex_lock(&sp->mu);
	for (;;) {
		struct buf p = BUF_INIT;
		int fd;

		if (sp->stop)
			break;
		if (sp->nretired > 0) {
			fd = sp->retired[--sp->nretired];
			pthread_mutex_unlock(&sp->mu);
			(void)close(fd); /* fsynced when it was the ref */
			pthread_mutex_lock(&sp->mu);
			continue;
		}
		if (!sp->lock_off && sp->lock_fd < 0) {
			spare_lock_make(sp);
			continue;
		}
		if (sp->off || sp->n == LEDGER_SPARES) {
			pthread_cond_wait(&sp->cv, &sp->mu);
			continue;
		}
		buf_printf(&p, "%s/spare-%" PRIu64 ".tmp", sp->dir, sp->seq++);
		pthread_mutex_unlock(&sp->mu);
		(void)unlink(p.data); /* a crash's, should the sweep miss it */
		fd =
		    open(p.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		/* The mode util_write_file_fd() gives, whatever the umask. */
		if (fd >= 0 && fchmod(fd, 0444) < 0) {
			int e = errno;

			close(fd);
			unlink(p.data);
			fd = -1;
			errno = e;
		}
		pthread_mutex_lock(&sp->mu);
		if (fd < 0) {
			/* Batches create their own files from now on. */
			log_warn("cannot create a spare pack file", "path",
			         p.data, "error", strerror(errno));
			sp->off = true;
			buf_free(&p);
			continue;
		}
		sp->fd[sp->n] = fd;
		sp->path[sp->n++] = buf_detach(&p);
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

/* Starts the thread on first use (mu held). */
static void
spares_start(struct ledger *lg)
{
	struct spares *sp = &lg->spares;

	if (sp->started || (sp->off && sp->lock_off))
		return;
	sp->dir = util_path_join(lg->path, "objects/pack");
	sp->lock_dir = util_path_join(lg->path, "refs/heads");
	if (pthread_create(&sp->thread, NULL, spares_main, sp) == 0)
		sp->started = true;
	else
		sp->off = sp->lock_off = true;
}

/* Takes a ready file (its descriptor and path), starting the thread on
 * first use; false when there is none. */
static bool
spares_take(struct ledger *lg, int *fd, struct buf *path)
{
	struct spares *sp = &lg->spares;
	bool got = false;

	pthread_mutex_lock(&sp->mu);
	spares_start(lg);
	if (sp->n > 0) {
		sp->n--;
		*fd = sp->fd[sp->n];
		buf_reset(path);
		buf_puts(path, sp->path[sp->n]);
		free(sp->path[sp->n]);
		got = true;
	}
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	return got;
}

/* Makes the ref's lock at `lock` holding `line`, as git does: the lock
 * must not exist.  From a spare unnamed file when there is one (linked
 * in whole, so the lock never shows empty), else created here.  *fd is
 * the lock's descriptor; *own says the lock is ours to remove on
 * failure. */
static int
ref_lock_make(struct ledger *lg, const char *lock, const char *line, int *fd,
              bool *own)
{
	struct spares *sp = &lg->spares;
	size_t len = strlen(line);

	pthread_mutex_lock(&sp->mu);
	spares_start(lg);
	*fd = sp->lock_fd;
	sp->lock_fd = -1;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	if (*fd >= 0) {
		char self[32];

		if (util_write_all(*fd, line, len) < 0)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "write %s: %s", lock,
			                       strerror(errno));
		snprintf(self, sizeof(self), "/proc/self/fd/%d", *fd);
		if (linkat(AT_FDCWD, self, AT_FDCWD, lock, AT_SYMLINK_FOLLOW) ==
		    0) {
			*own = true;
			pthread_mutex_lock(&sp->mu);
			sp->lock_linked++;
			pthread_mutex_unlock(&sp->mu);
			return 0;
		}
		if (errno == EEXIST)
			goto locked;
		/* No /proc, say: batches create their locks from now on. */
		log_info("ref locks are created by each batch", "path", lock,
		         "error", strerror(errno));
		pthread_mutex_lock(&sp->mu);
		sp->lock_off = true;
		pthread_mutex_unlock(&sp->mu);
		close(*fd);
	}
	*fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (*fd < 0)
		goto locked;
	*own = true;
	if (util_write_all(*fd, line, len) < 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE, "write %s: %s", lock,
		                       strerror(errno));
	return 0;
locked:
	/* One that exists is someone else's (git pack-refs, say), never
	 * removed here (start-up removes a stale one). */
	return csirt_error_set(CSIRT_EUNAVAILABLE,
	                       "moving " LEDGER_REF ": %s: %s", lock,
	                       strerror(errno));
}

/* Takes a spare file (its path goes into `path`), or creates `path`
 * itself, empty, when there is none. */
static int
spare_open(struct ledger *lg, int *fd, struct buf *path)
{
	if (spares_take(lg, fd, path))
		return 0;
	return util_write_file_fd(fd, path->data, "", 0, 0444);
}

/* Writes `len` bytes into the file spare_open() gave. */
static int
spare_fill(int fd, const struct buf *path, const void *data, size_t len)
{
	if (util_write_all(fd, data, len) < 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE, "write %s: %s",
		                       path->data, strerror(errno));
	return 0;
}

/* A batch's pack (trailer included) goes into its file through the page
 * cache, spare_fill() as util_fsync_parallel_after()'s first job: the
 * index's and the ref lock's fsyncs go on while it is copied (1-1.5 ms of
 * a batch under load, into fresh page-cache pages).  With O_DIRECT, as
 * the merges write (struct mout), it cost 2-5 % less CPU a request but
 * lengthened the `durable` phase by 0.2-0.8 ms a batch (the device waited
 * on before the fsyncs, and level 0's merges read their sources from the
 * disk): no faster in four alternated pairs of minutes, 1.005 (session
 * 17). */
struct pack_job {
	int fd;
	const struct buf *path;
	const struct buf *data;
};

static int
pack_job_run(void *arg)
{
	const struct pack_job *j = arg;

	return spare_fill(j->fd, j->path, j->data->data, j->data->len);
}

/* Keeps `fd`, the file just renamed onto the ref, open as the ref's, and
 * hands the one it replaced to the spares thread to close (closed here
 * when the thread is not running or is behind). */
static void
ref_retire(struct spares *sp, int fd)
{
	int old;

	pthread_mutex_lock(&sp->mu);
	old = sp->ref_fd;
	sp->ref_fd = fd;
	if (old >= 0 && sp->started && !sp->stop &&
	    sp->nretired < LEDGER_RETIRED_MAX) {
		sp->retired[sp->nretired++] = old;
		old = -1;
		pthread_cond_signal(&sp->cv);
	}
	pthread_mutex_unlock(&sp->mu);
	if (old >= 0)
		(void)close(old);
}

/* Stops the thread and removes the files it made. */
static void
spares_stop(struct spares *sp)
{
	pthread_mutex_lock(&sp->mu);
	sp->stop = true;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	if (sp->started)
		pthread_join(sp->thread, NULL);
	sp->started = false;
	while (sp->n > 0) {
		sp->n--;
		close(sp->fd[sp->n]);
		unlink(sp->path[sp->n]);
		free(sp->path[sp->n]);
	}
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	sp->lock_fd = -1;
	while (sp->nretired > 0)
		close(sp->retired[--sp->nretired]);
	if (sp->ref_fd >= 0)
		close(sp->ref_fd);
	sp->ref_fd = -1;
	free(sp->dir);
	sp->dir = NULL;
	free(sp->lock_dir);
	sp->lock_dir = NULL;
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->cv);
}

/* Makes the batch durable and moves the ref to lg->tip: the pack and its
 * index under temporary names and the ref's lock file (ref_lock_make())
 * are written, then fsynced together (util_fsync_parallel: the three
 * flushes overlap); the pack and index are renamed (.pack first: git
 * only looks at packs that have an index) and objects/pack is fsynced, so
 * their names are on disk before the ref can name their commits; then the
 * lock is renamed over the ref and refs/heads is fsynced, after which the
 * batch is durable.
 * A crash before the pack renames leaves *.tmp files and a stale lock,
 * which start-up removes; between them, a pack without an index, which
 * start-up removes too.  The ref is written here, not by libgit2, which
 * fsyncs its lock after the pack's fsyncs, one after another: 5
 * sequential fsyncs were 3 (measured under load: 24 ms + 14 ms of a
 * 70 ms batch).  Compare-and-swap as libgit2 did: the ref on disk must
 * still be the head this process committed. */
static int
batch_write_durable(struct ledger *lg, char name_out[64])
{
	struct packw *pw = lg->pw;
	struct crypto_sha1_ctx *sha;
	unsigned char sum[CRYPTO_SHA1_LEN];
	struct buf pack = BUF_INIT, pack_tmp = BUF_INIT, idx = BUF_INIT,
	           idx_tmp = BUF_INIT, data = BUF_INIT, ref = BUF_INIT,
	           lock = BUF_INIT;
	char *dir = util_path_join(lg->path, "objects/pack");
	char *refdir = util_path_join(lg->path, "refs/heads");
	char head[LEDGER_OID_HEX], want[LEDGER_OID_HEX], tip[LEDGER_OID_HEX];
	int fds[3] = {-1, -1, -1};
	const char *paths[3];
	uint32_t n = (uint32_t)pw->n;
	bool renamed = false, own_lock = false;
	int rc;

	if (lg->has_head)
		git_oid_tostr(want, sizeof(want), &lg->head);
	else
		want[0] = '\0';
	pw->data.data[8] = (char)(n >> 24);
	pw->data.data[9] = (char)(n >> 16);
	pw->data.data[10] = (char)(n >> 8);
	pw->data.data[11] = (char)n;
	sha = crypto_sha1_new();
	crypto_sha1_update(sha, pw->data.data, pw->data.len);
	crypto_sha1_final(sha, sum);
	buf_put(&pw->data, sum, sizeof(sum));
	pack_name(name_out, sum);
	buf_printf(&pack, "%s/%s.pack", dir, name_out);
	buf_printf(&pack_tmp, "%s.tmp", pack.data);
	buf_printf(&idx, "%s/%s.idx", dir, name_out);
	buf_printf(&idx_tmp, "%s.tmp", idx.data);
	buf_printf(&ref, "%s/" LEDGER_REF, lg->path);
	buf_printf(&lock, "%s.lock", ref.data);
	idx_build(&data, pw->e, pw->n, sum);
	git_oid_tostr(tip, sizeof(tip), &lg->tip);
	{
		char line[LEDGER_OID_HEX + 1];

		snprintf(line, sizeof(line), "%s\n", tip);
		/* The pack's file now, its bytes with the fsyncs. */
		if ((rc = spare_open(lg, &fds[0], &pack_tmp)) != 0 ||
		    (rc = spare_open(lg, &fds[1], &idx_tmp)) != 0 ||
		    (rc = spare_fill(fds[1], &idx_tmp, data.data, data.len)) !=
		        0 ||
		    (rc = ref_lock_make(lg, lock.data, line, &fds[2],
		                        &own_lock)) != 0)
			goto done;
	}
	/* After the spares were taken: they name the files anew. */
	paths[0] = pack_tmp.data;
	paths[1] = idx_tmp.data;
	paths[2] = lock.data;
	/* Under the lock, as git does: the ref must not have moved. */
	if ((rc = server_info_head(lg->path, head)) != 0)
		goto done;
	if (strcmp(head, want) != 0) {
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "moving " LEDGER_REF ": it is %s on disk, "
		                     "not %s",
		                     head[0] ? head : "absent",
		                     want[0] ? want : "absent");
		goto done;
	}
	{
		struct pack_job job = {fds[0], &pack_tmp, &pw->data};

		if ((rc = util_fsync_parallel_after(fds, paths, 3, pack_job_run,
		                                    &job)) != 0)
			goto done;
	}
	/* The lock's file stays open: it becomes the ref's (ref_retire). */
	for (size_t i = 0; i < 2; i++) {
		int fd = fds[i];

		fds[i] = -1;
		if (close(fd) < 0) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "close %s: %s",
			                     paths[i], strerror(errno));
			goto done;
		}
	}
	if (rename(pack_tmp.data, pack.data) < 0 ||
	    rename(idx_tmp.data, idx.data) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "rename in %s: %s",
		                     dir, strerror(errno));
		goto done;
	}
	if ((rc = util_fsync_path(dir)) != 0)
		goto done;
	if (rename(lock.data, ref.data) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "rename %s: %s",
		                     lock.data, strerror(errno));
		goto done;
	}
	renamed = true;
	ref_retire(&lg->spares, fds[2]);
	fds[2] = -1;
	rc = util_fsync_path(refdir);
done:
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (rc != 0) {
		unlink(pack_tmp.data);
		unlink(idx_tmp.data);
		if (own_lock && !renamed)
			unlink(lock.data);
	}
	buf_free(&pack);
	buf_free(&pack_tmp);
	buf_free(&idx);
	buf_free(&idx_tmp);
	buf_free(&data);
	buf_free(&ref);
	buf_free(&lock);
	free(dir);
	free(refdir);
	return rc;
}

int
ledger_batch_finish(struct ledger *lg)
{
	struct packrec rec;
	int rc = -1;

	if (!lg->in_batch)
		return csirt_error_set(CSIRT_EFAIL, "no batch open");
	if (lg->pw->n == 0) {
		lg->in_batch = false;
		return 0;
	}
	if ((rc = batch_write_durable(lg, rec.name)) != 0)
		goto fail;
	/* Durable.  libgit2 is not told of the new pack: nothing reads its
	 * objects back while they are in memory, and a read that misses
	 * rescans the pack directory by itself (git_odb_read() refreshes on
	 * GIT_ENOTFOUND); a rescan per batch took 0.25 ms of it. */
	lg->head = lg->tip;
	lg->has_head = true;
	lg->in_batch = false;
	packw_reset(lg->pw);
	lg->levels[0][lg->nlevel[0]++] = rec;
	merges_step(lg, true);
	merges_backpressure(lg);
	if (lg->nodes > lg->cache_nodes) {
		tnode_compact(lg, lg->root);
		if (lg->nodes > lg->cache_nodes / 2)
			tnode_trim(lg, lg->root, 0);
	}
	return 0;
fail:
	ledger_batch_abort(lg);
	return rc;
}

void
ledger_batch_abort(struct ledger *lg)
{
	packw_reset(lg->pw);
	lg->in_batch = false;
	lg->tip = lg->head;
	lg->has_tip = lg->has_head;
	if (tree_from_commit(lg, lg->has_head ? &lg->head : NULL) != 0)
		log_error("cannot reload ledger tree", "error",
		          csirt_error_msg());
}

/* ---- reading ------------------------------------------------------- */

int
ledger_read_file(char **out, size_t *len, struct ledger *lg, const char *commit,
                 const char *path)
{
	git_oid oid;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	int rc = -1;
	size_t n;

	*out = NULL;
	if (git_oid_fromstr(&oid, commit) < 0)
		return csirt_error_set(CSIRT_EINVAL, "bad commit id \"%s\"",
		                       commit);
	if (git_commit_lookup(&c, lg->repo, &oid) < 0 ||
	    git_commit_tree(&tree, c) < 0) {
		rc = git_fail(CSIRT_ENOTFOUND, "reading ledger commit");
		goto done;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0) {
		rc = csirt_error_set(CSIRT_ENOTFOUND,
		                     "%s not found in ledger commit %.12s",
		                     path, commit);
		goto done;
	}
	if (git_blob_lookup(&blob, lg->repo, git_tree_entry_id(entry)) < 0) {
		rc = git_fail(CSIRT_ETAMPER, "reading ledger blob");
		goto done;
	}
	n = (size_t)git_blob_rawsize(blob);
	*out = util_xmalloc(n + 1);
	memcpy(*out, git_blob_rawcontent(blob), n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = n;
	rc = 0;
done:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

int
ledger_first_parents(struct ledger *lg, const char *since,
                     char (**ids)[LEDGER_OID_HEX], size_t *n,
                     char bad[LEDGER_OID_HEX])
{
	bool want_since = since != NULL && *since != '\0';
	git_oid since_oid, cur;
	size_t cap = 0;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	bad[0] = '\0';
	if (want_since && git_oid_fromstr(&since_oid, since) < 0)
		return csirt_error_set(CSIRT_ETAMPER, "bad commit id \"%s\"",
		                       since);
	if (!lg->has_head) {
		if (want_since)
			return csirt_error_set(
			    CSIRT_ETAMPER,
			    "the index records ledger commit "
			    "%.12s but the ledger is empty",
			    since);
		return 0;
	}
	git_oid_cpy(&cur, &lg->head);
	while (!want_since || !git_oid_equal(&cur, &since_oid)) {
		struct rawobj *c = NULL;
		const char *p;
		size_t nparents = 0;
		git_oid parent;

		git_oid_tostr(bad, LEDGER_OID_HEX, &cur);
		if ((rc = rawobj_fetch(&c, lg, &cur)) != 0 ||
		    c->type != GIT_OBJECT_COMMIT) {
			rc = csirt_error_set(CSIRT_ETAMPER, "is unreadable: %s",
			                     rc != 0 ? csirt_error_msg()
			                             : "not a commit");
			rawobj_put(c);
			goto done;
		}
		/* git's order: "tree <id>\n", then one "parent <id>\n" per
		 * parent. */
		p = (const char *)c->data;
		if (c->len < 46 || memcmp(p, "tree ", 5) != 0 || p[45] != '\n')
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "is unreadable: no tree header");
		for (p += 46;
		     rc == 0 &&
		     (size_t)(p - (const char *)c->data) + 48 <= c->len &&
		     memcmp(p, "parent ", 7) == 0 && p[47] == '\n';
		     p += 48)
			if (nparents++ == 0 &&
			    git_oid_fromstrn(&parent, p + 7, GIT_OID_HEXSZ) < 0)
				rc = csirt_error_set(
				    CSIRT_ETAMPER, "is unreadable: bad parent");
		rawobj_put(c);
		if (rc != 0)
			goto done;
		if (nparents > 1) {
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "is a merge (%zu parents)",
			                     nparents);
			goto done;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*ids = util_xrealloc(*ids, cap * sizeof(**ids));
		}
		memcpy((*ids)[(*n)++], bad, LEDGER_OID_HEX);
		if (nparents == 0) {
			if (want_since) {
				git_oid_tostr(bad, LEDGER_OID_HEX, &lg->head);
				rc = csirt_error_set(
				    CSIRT_ETAMPER,
				    "does not descend from commit %.12s "
				    "recorded "
				    "by the index: the ledger was rewritten or "
				    "replaced",
				    since);
				goto done;
			}
			break;
		}
		git_oid_cpy(&cur, &parent);
	}
	for (size_t i = 0, j = *n ? *n - 1 : 0; i < j; i++, j--) {
		char t[LEDGER_OID_HEX];
		memcpy(t, (*ids)[i], LEDGER_OID_HEX);
		memcpy((*ids)[i], (*ids)[j], LEDGER_OID_HEX);
		memcpy((*ids)[j], t, LEDGER_OID_HEX);
	}
	bad[0] = '\0';
	rc = 0;
done:
	if (rc != 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/* The message of raw commit `c` (after the blank line ending its headers;
 * a signature's continuation lines are never empty). */
static const char *
commit_message(const struct rawobj *c)
{
	for (size_t i = 0; i + 1 < c->len; i++)
		if (c->data[i] == '\n' && c->data[i + 1] == '\n')
			return (const char *)c->data + i + 2;
	return NULL;
}

/* One history for every walk: ledger_first_parents(), then each commit's
 * message. */
int
ledger_walk(struct ledger *lg, const char *since, ledger_walk_cb cb, void *arg)
{
	char(*ids)[LEDGER_OID_HEX] = NULL;
	char bad[LEDGER_OID_HEX];
	size_t n = 0;
	int rc;

	if ((rc = ledger_first_parents(lg, since, &ids, &n, bad)) != 0) {
		if (bad[0] != '\0') {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", csirt_error_msg());
			rc = csirt_error_set(rc, "ledger commit %.12s %s", bad,
			                     msg);
		}
		return rc;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct rawobj *c = NULL;
		const char *message;
		git_oid oid;

		if (git_oid_fromstr(&oid, ids[i]) < 0 ||
		    (rc = rawobj_fetch(&c, lg, &oid)) != 0) {
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "reading ledger commit %.12s",
			                     ids[i]);
			break;
		}
		if ((message = commit_message(c)) == NULL)
			rc = csirt_error_set(
			    CSIRT_ETAMPER, "ledger commit %.12s has no message",
			    ids[i]);
		else
			rc = cb(ids[i], message, arg);
		rawobj_put(c);
	}
	free(ids);
	return rc;
}

void
ledger_set_cache_nodes(struct ledger *lg, size_t max)
{
	lg->cache_nodes = max;
}

size_t
ledger_cache_nodes(const struct ledger *lg)
{
	return lg->nodes;
}

size_t
ledger_tree_loads(const struct ledger *lg)
{
	return lg->tree_loads;
}

uint64_t
ledger_ref_locks_linked(struct ledger *lg, bool *ready)
{
	struct spares *sp = &lg->spares;
	uint64_t n;

	pthread_mutex_lock(&sp->mu);
	n = sp->lock_linked;
	*ready = sp->lock_fd >= 0;
	pthread_mutex_unlock(&sp->mu);
	return n;
}

void
ledger_merge_hold(struct ledger *lg, size_t level, bool hold)
{
	if (level >= LEDGER_MERGE_LEVELS)
		return;
	pthread_mutex_lock(&lg->mmu);
	lg->merge_hold[level] = hold;
	pthread_cond_broadcast(&lg->mcv);
	pthread_mutex_unlock(&lg->mmu);
}

bool
ledger_merge_held(struct ledger *lg, size_t level)
{
	bool held;

	if (level >= LEDGER_MERGE_LEVELS)
		return false;
	pthread_mutex_lock(&lg->mmu);
	held = lg->merge_hold[level] && lg->jobs[level].state == JOB_RUNNING;
	pthread_mutex_unlock(&lg->mmu);
	return held;
}

int
ledger_stats(struct ledger *lg, size_t *packs, size_t *loose)
{
	char *objdir = util_path_join(lg->path, "objects");
	DIR *d = opendir(objdir);
	struct dirent *de;

	*packs = *loose = 0;
	if (d == NULL) {
		free(objdir);
		return csirt_error_set(CSIRT_EFAIL, "opendir %s: %s", lg->path,
		                       strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 2 && de->d_name[0] != '.') {
			char *sub = util_path_join(objdir, de->d_name);
			DIR *s = opendir(sub);
			struct dirent *e;
			while (s != NULL && (e = readdir(s)) != NULL)
				if (e->d_name[0] != '.')
					(*loose)++;
			if (s != NULL)
				closedir(s);
			free(sub);
		} else if (strcmp(de->d_name, "pack") == 0) {
			char *sub = util_path_join(objdir, "pack");
			DIR *s = opendir(sub);
			struct dirent *e;
			while (s != NULL && (e = readdir(s)) != NULL) {
				size_t l = strlen(e->d_name);
				if (l > 5 &&
				    strcmp(e->d_name + l - 5, ".pack") == 0)
					(*packs)++;
			}
			if (s != NULL)
				closedir(s);
			free(sub);
		}
	}
	closedir(d);
	free(objdir);
	return 0;
}

/* ---- auditing (read-only) -------------------------------------------
 *
 * What csirt-audit needs to check the repository without trusting the
 * daemon: every ref, the raw bytes of an object (hash-verified by libgit2,
 * see ledger_lib_init), and the files a commit changes.  Nothing here
 * writes, and nothing interprets the ledger's content.
 */

struct refs_arg {
	ledger_ref_cb cb;
	void *arg;
	int rc;
};

static int
refs_cb(const char *name, void *payload)
{
	struct refs_arg *ra = payload;

	ra->rc = ra->cb(name, ra->arg);
	return ra->rc != 0 ? GIT_EUSER : 0;
}

int
ledger_refs(struct ledger *lg, ledger_ref_cb cb, void *arg)
{
	struct refs_arg ra = {cb, arg, 0};
	int err = git_reference_foreach_name(lg->repo, refs_cb, &ra);

	if (err == GIT_EUSER)
		return ra.rc;
	if (err < 0)
		return git_fail(CSIRT_ETAMPER, "listing refs");
	return 0;
}

int
ledger_object_read(char **out, size_t *len, struct ledger *lg, const char *id,
                   const char *type)
{
	git_odb_object *obj = NULL;
	struct rawobj *o = NULL;
	git_oid oid;
	size_t n;

	*out = NULL;
	*len = 0;
	if (strlen(id) != GIT_OID_HEXSZ || git_oid_fromstr(&oid, id) < 0)
		return csirt_error_set(CSIRT_EINVAL, "bad object id \"%.64s\"",
		                       id);
	if (ledger_pass_mode_active()) {
		/* A pass reads every commit: through its own pack reader. */
		if (rawobj_fetch(&o, lg, &oid) != 0)
			return csirt_error_set(CSIRT_ENOTFOUND, "%s",
			                       csirt_error_msg());
		if (strcmp(git_object_type2string(o->type), type) != 0) {
			rawobj_put(o);
			return csirt_error_set(CSIRT_ETAMPER,
			                       "object %.12s is not a %s", id,
			                       type);
		}
		*out = util_xmalloc(o->len + 1);
		memcpy(*out, o->data, o->len + 1);
		*len = o->len;
		rawobj_put(o);
		return 0;
	}
	if (git_odb_read(&obj, lg->odb, &oid) < 0)
		return git_fail(CSIRT_ENOTFOUND, "reading ledger object");
	if (strcmp(git_object_type2string(git_odb_object_type(obj)), type) !=
	    0) {
		git_odb_object_free(obj);
		return csirt_error_set(CSIRT_ETAMPER,
		                       "object %.12s is not a %s", id, type);
	}
	n = git_odb_object_size(obj);
	*out = util_xmalloc(n + 1);
	memcpy(*out, git_odb_object_data(obj), n);
	(*out)[n] = '\0';
	*len = n;
	git_odb_object_free(obj);
	return 0;
}

/* ---- large blobs ----------------------------------------------------- */

#define LEDGER_IO_CHUNK 65536

/* Appends `n` bytes to the pack: file, pack checksum and entry CRC. */
static int
blob_pack_out(int fd, struct crypto_sha1_ctx *pack_sha, uint32_t *crc,
              const void *p, size_t n)
{
	crypto_sha1_update(pack_sha, p, n);
	*crc = libdeflate_crc32(*crc, p, n);
	return util_write_all(fd, p, n);
}

int
ledger_blob_put_file(struct ledger *lg, const char *path, const char *file,
                     char oid_out[LEDGER_OID_HEX], uint64_t *size_out)
{
	static unsigned seq;
	unsigned char hdr[32], sum[CRYPTO_SHA1_LEN], oid_raw[CRYPTO_SHA1_LEN];
	unsigned char *in = NULL, *zout = NULL;
	struct crypto_sha1_ctx *pack_sha = NULL, *obj_sha = NULL;
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	struct pentry e;
	struct stat st;
	z_stream zs;
	bool zinit = false;
	uint64_t size, left, v;
	uint32_t crc = 0;
	int in_fd = -1, out = -1, rc = -1, zr;
	size_t h = 0;
	char prefix[40];

	memset(&zs, 0, sizeof(zs));
	memset(&e, 0, sizeof(e));
	if (!lg->in_batch)
		return csirt_error_set(CSIRT_EFAIL, "blob outside a batch");
	in_fd = open(file, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0 || fstat(in_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "blob source %s: %s",
		                     file, strerror(errno ? errno : EINVAL));
		goto done;
	}
	size = (uint64_t)st.st_size;
	buf_printf(&tmp, "%s/objects/pack/tmp_blob_%d_%u.pack", lg->path,
	           (int)getpid(), seq++);
	out = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	/* 0444 whatever the umask, like the packs it merges. */
	if (out < 0 || fchmod(out, 0444) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "create %s: %s",
		                     tmp.data, strerror(errno));
		goto done;
	}
	if (deflateInit(&zs, Z_NO_COMPRESSION) != Z_OK) {
		rc = csirt_error_set(CSIRT_EFAIL, "zlib: init failed");
		goto done;
	}
	zinit = true;
	in = util_xmalloc(LEDGER_IO_CHUNK);
	zout = util_xmalloc(2 * LEDGER_IO_CHUNK);
	pack_sha = crypto_sha1_new();
	obj_sha = crypto_sha1_new();
	snprintf(prefix, sizeof(prefix), "blob %" PRIu64, size);
	crypto_sha1_update(obj_sha, prefix, strlen(prefix) + 1);

	/* Pack header for one object, then the object's type and size. */
	memcpy(hdr, "PACK\0\0\0\2\0\0\0\1", 12);
	crypto_sha1_update(pack_sha, hdr, 12);
	if (util_write_all(out, hdr, 12) < 0)
		goto io;
	v = size;
	hdr[h] = (unsigned char)((GIT_OBJECT_BLOB << 4) | (v & 0x0f));
	v >>= 4;
	while (v != 0) {
		hdr[h++] |= 0x80;
		hdr[h] = (unsigned char)(v & 0x7f);
		v >>= 7;
	}
	h++;
	if (blob_pack_out(out, pack_sha, &crc, hdr, h) < 0)
		goto io;
	left = size;
	do {
		size_t want =
		    left < LEDGER_IO_CHUNK ? (size_t)left : LEDGER_IO_CHUNK;
		ssize_t r = 0;
		if (want > 0) {
			r = read(in_fd, in, want);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = csirt_error_set(
				    CSIRT_EUNAVAILABLE, "reading %s: %s", file,
				    r == 0 ? "file shrank" : strerror(errno));
				goto done;
			}
		}
		left -= (uint64_t)r;
		crypto_sha1_update(obj_sha, in, (size_t)r);
		zs.next_in = in;
		zs.avail_in = (uInt)r;
		do {
			zs.next_out = zout;
			zs.avail_out = 2 * LEDGER_IO_CHUNK;
			zr = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
			if (zr == Z_STREAM_ERROR) {
				rc = csirt_error_set(CSIRT_EFAIL,
				                     "zlib: cannot deflate");
				goto done;
			}
			if (blob_pack_out(out, pack_sha, &crc, zout,
			                  2 * LEDGER_IO_CHUNK - zs.avail_out) <
			    0)
				goto io;
		} while (zs.avail_out == 0 ||
		         (left == 0 && zr != Z_STREAM_END));
	} while (left > 0);
	crypto_sha1_final(pack_sha, sum);
	pack_sha = NULL;
	crypto_sha1_final(obj_sha, oid_raw);
	obj_sha = NULL;
	if (util_write_all(out, sum, sizeof(sum)) < 0 || fsync(out) < 0)
		goto io;
	close(out);
	out = -1;

	memcpy(e.oid.id, oid_raw, GIT_OID_RAWSZ);
	e.crc = crc;
	e.off = 12;
	{
		struct packrec rec;
		pack_name(rec.name, sum);
		buf_printf(&dst, "%s/objects/pack/%s.pack", lg->path, rec.name);
		if (rename(tmp.data, dst.data) < 0)
			goto io;
		buf_reset(&dst);
		buf_printf(&dst, "%s/objects/pack/%s.idx", lg->path, rec.name);
		/* write_idx fsyncs the directory, covering the rename. */
		if ((rc = write_idx(dst.data, &e, 1, sum)) != 0)
			goto done;
		/* A pack like any other from now on: merged by level. */
		lg->levels[0][lg->nlevel[0]++] = rec;
	}
	if ((rc = tree_put(lg, path, &e.oid)) != 0)
		goto done;
	git_oid_tostr(oid_out, LEDGER_OID_HEX, &e.oid);
	if (size_out != NULL)
		*size_out = size;
	merges_step(lg, true);
	merges_backpressure(lg);
	rc = 0;
	goto done;
io:
	rc = csirt_error_set(CSIRT_EUNAVAILABLE, "writing blob pack: %s",
	                     strerror(errno ? errno : EIO));
done:
	if (pack_sha != NULL)
		crypto_sha1_final(pack_sha, sum);
	if (obj_sha != NULL)
		crypto_sha1_final(obj_sha, sum);
	if (zinit)
		deflateEnd(&zs);
	if (out >= 0) {
		close(out);
		unlink(tmp.data);
	}
	if (in_fd >= 0)
		close(in_fd);
	free(in);
	free(zout);
	buf_free(&tmp);
	buf_free(&dst);
	return rc;
}

struct ledger_blob_reader {
	int fd;        /* the .pack holding the object */
	uint64_t pos;  /* next compressed byte in the pack */
	uint64_t size; /* content bytes */
	uint64_t done; /* content bytes handed out */
	bool ended;    /* zlib stream end seen */
	z_stream zs;
	bool zinit;
	struct crypto_sha1_ctx *sha;
	unsigned char want[CRYPTO_SHA1_LEN];
	unsigned char in[LEDGER_IO_CHUNK];
};

static int
pread_all(int fd, void *p, size_t n, uint64_t off)
{
	unsigned char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Looks `oid` up in one v2 index file; 1 with *off set when present. */
static int
idx_find(const char *idx_path, const unsigned char oid[CRYPTO_SHA1_LEN],
         uint64_t *off)
{
	unsigned char head[8 + 1024], cur[CRYPTO_SHA1_LEN], b4[4], b8[8];
	uint32_t lo, hi, n;
	int fd = open(idx_path, O_RDONLY | O_CLOEXEC), found = 0;

	if (fd < 0)
		return 0;
	if (pread_all(fd, head, sizeof(head), 0) < 0 ||
	    memcmp(head, "\377tOc\0\0\0\2", 8) != 0)
		goto done;
	n = get_be32(head + 8 + 255 * 4);
	lo = oid[0] == 0 ? 0 : get_be32(head + 8 + (oid[0] - 1) * 4);
	hi = get_be32(head + 8 + oid[0] * 4);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c;
		if (pread_all(fd, cur, sizeof(cur),
		              8 + 1024 + (uint64_t)mid * 20) < 0)
			goto done;
		c = memcmp(cur, oid, sizeof(cur));
		if (c == 0) {
			uint64_t at =
			    8 + 1024 + (uint64_t)n * 24 + (uint64_t)mid * 4;
			if (pread_all(fd, b4, 4, at) < 0)
				goto done;
			*off = get_be32(b4);
			if (*off & 0x80000000u) {
				at = 8 + 1024 + (uint64_t)n * 28 +
				     (*off & 0x7fffffffu) * 8;
				if (pread_all(fd, b8, 8, at) < 0)
					goto done;
				*off = (uint64_t)get_be32(b8) << 32 |
				       get_be32(b8 + 4);
			}
			found = 1;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
done:
	close(fd);
	return found;
}

/* Finds the pack holding `oid` and opens it: the fd and the offset.  A
 * pack merge may remove the pack between the two opens: then look again. */
static int
blob_locate(const char *repo, const unsigned char oid[CRYPTO_SHA1_LEN],
            int *fd_out, uint64_t *off_out)
{
	char *dir = util_path_join(repo, "objects/pack");
	int rc = CSIRT_ENOTFOUND;

	*fd_out = -1;
	for (int attempt = 0; attempt < 3 && *fd_out < 0; attempt++) {
		DIR *d = opendir(dir);
		struct dirent *de;

		if (d == NULL) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "open %s: %s",
			                     dir, strerror(errno));
			break;
		}
		while ((de = readdir(d)) != NULL && *fd_out < 0) {
			size_t l = strlen(de->d_name);
			struct buf p = BUF_INIT;
			uint64_t off = 0;

			if (l < 5 || strcmp(de->d_name + l - 4, ".idx") != 0)
				continue;
			buf_printf(&p, "%s/%s", dir, de->d_name);
			if (idx_find(p.data, oid, &off)) {
				strcpy(p.data + p.len - 4, ".pack");
				*fd_out = open(p.data, O_RDONLY | O_CLOEXEC);
				*off_out = off;
			}
			buf_free(&p);
		}
		closedir(d);
	}
	free(dir);
	if (*fd_out >= 0)
		return 0;
	return rc == CSIRT_ENOTFOUND
	           ? csirt_error_set(CSIRT_ENOTFOUND,
	                             "blob not found in the ledger's packs")
	           : rc;
}

int
ledger_blob_open(struct ledger_blob_reader **out, const char *repo,
                 const char *oid_hex, uint64_t *size_out)
{
	struct ledger_blob_reader *r = NULL;
	unsigned char oid[CRYPTO_SHA1_LEN], hdr[16];
	char prefix[40];
	uint64_t off = 0, size;
	unsigned shift = 4;
	size_t h = 0;
	int fd = -1, rc;

	*out = NULL;
	if (strlen(oid_hex) != 40 || strspn(oid_hex, "0123456789abcdef") != 40)
		return csirt_error_set(CSIRT_EINVAL, "bad blob id");
	for (size_t i = 0; i < CRYPTO_SHA1_LEN; i++) {
		unsigned v = 0;
		sscanf(oid_hex + 2 * i, "%2x", &v);
		oid[i] = (unsigned char)v;
	}
	if ((rc = blob_locate(repo, oid, &fd, &off)) != 0)
		return rc;
	if (pread_all(fd, hdr, sizeof(hdr), off) < 0) {
		/* A header shorter than 16 bytes still ends the pack. */
		ssize_t got = pread(fd, hdr, sizeof(hdr), (off_t)off);
		if (got < 2) {
			close(fd);
			return csirt_error_set(CSIRT_ETAMPER,
			                       "blob %.12s: truncated pack",
			                       oid_hex);
		}
	}
	if (((hdr[0] >> 4) & 7) != GIT_OBJECT_BLOB) {
		close(fd);
		return csirt_error_set(
		    CSIRT_ETAMPER,
		    "object %.12s is not a whole blob in its "
		    "pack",
		    oid_hex);
	}
	size = hdr[0] & 0x0f;
	while (hdr[h] & 0x80) {
		if (++h >= sizeof(hdr) || shift > 57) {
			close(fd);
			return csirt_error_set(CSIRT_ETAMPER,
			                       "blob %.12s: bad size", oid_hex);
		}
		size |= (uint64_t)(hdr[h] & 0x7f) << shift;
		shift += 7;
	}
	h++;
	r = util_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->pos = off + h;
	r->size = size;
	memcpy(r->want, oid, sizeof(oid));
	if (inflateInit(&r->zs) != Z_OK) {
		ledger_blob_close(r);
		return csirt_error_set(CSIRT_EFAIL, "zlib: init failed");
	}
	r->zinit = true;
	r->sha = crypto_sha1_new();
	snprintf(prefix, sizeof(prefix), "blob %" PRIu64, size);
	crypto_sha1_update(r->sha, prefix, strlen(prefix) + 1);
	if (size_out != NULL)
		*size_out = size;
	*out = r;
	return 0;
}

int
ledger_blob_read(struct ledger_blob_reader *r, void *buf, size_t cap,
                 size_t *got)
{
	unsigned char sum[CRYPTO_SHA1_LEN];

	*got = 0;
	while (*got < cap && !r->ended) {
		int zr;

		if (r->zs.avail_in == 0) {
			ssize_t n =
			    pread(r->fd, r->in, sizeof(r->in), (off_t)r->pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return csirt_error_set(CSIRT_ETAMPER,
				                       "blob: pack ends inside "
				                       "the object");
			r->pos += (uint64_t)n;
			r->zs.next_in = r->in;
			r->zs.avail_in = (uInt)n;
		}
		r->zs.next_out = (Bytef *)buf + *got;
		r->zs.avail_out = (uInt)(cap - *got);
		zr = inflate(&r->zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return csirt_error_set(CSIRT_ETAMPER,
			                       "blob: corrupt deflate stream");
		crypto_sha1_update(r->sha, (unsigned char *)buf + *got,
		                   (cap - *got) - r->zs.avail_out);
		*got = cap - r->zs.avail_out;
		if (zr == Z_STREAM_END)
			r->ended = true;
	}
	r->done += *got;
	if (r->done > r->size)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "blob: longer than its header says");
	if (r->ended && *got == 0) {
		if (r->done != r->size)
			return csirt_error_set(CSIRT_ETAMPER,
			                       "blob: shorter than its header "
			                       "says");
		if (r->sha != NULL) {
			crypto_sha1_final(r->sha, sum);
			r->sha = NULL;
			if (memcmp(sum, r->want, sizeof(sum)) != 0)
				return csirt_error_set(
				    CSIRT_ETAMPER,
				    "blob: content does not hash to its id");
		}
	}
	return 0;
}

void
ledger_blob_close(struct ledger_blob_reader *r)
{
	unsigned char junk[CRYPTO_SHA1_LEN];

	if (r == NULL)
		return;
	if (r->zinit)
		inflateEnd(&r->zs);
	if (r->sha != NULL)
		crypto_sha1_final(r->sha, junk);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

/* ---- mirrors -------------------------------------------------------- */

struct push_status {
	bool rejected;
	char msg[200];
};

/* The remote's verdict on each ref (a hook's refusal lands here). */
static int
push_ref_cb(const char *refname, const char *status, void *data)
{
	struct push_status *ps = data;

	if (status != NULL) {
		ps->rejected = true;
		snprintf(ps->msg, sizeof(ps->msg), "%s: %s", refname, status);
	}
	return 0;
}

/* ssh keys come from ssh-agent only: csirtd holds no mirror secret. */
static int
push_cred_cb(git_credential **out, const char *url, const char *user,
             unsigned int allowed, void *payload)
{
	(void)url;
	(void)payload;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out,
		                                         user ? user : "git");
	return GIT_PASSTHROUGH;
}

int
ledger_push(const char *path, const char *url, char pushed[LEDGER_OID_HEX])
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_push_options opts;
	git_remote_create_options ropts;
	struct push_status ps;
	char spec[] = LEDGER_REF ":" LEDGER_REF; /* no '+': never forced */
	char *specs[] = {spec};
	git_strarray refspecs = {specs, 1};
	git_oid head;
	int rc, err;

	pushed[0] = '\0';
	memset(&ps, 0, sizeof(ps));
	if ((rc = ledger_lib_init()) != 0)
		return rc;
	if (git_repository_open_bare(&repo, path) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "opening ledger");
		goto done;
	}
	if (git_reference_name_to_id(&head, repo, LEDGER_REF) < 0) {
		rc = git_fail(CSIRT_EUNAVAILABLE, "reading " LEDGER_REF);
		goto done;
	}
	/* Anonymous, and without url.*.insteadOf: the URL is the one
	 * configured (and libgit2 1.5 leaks the PCRE2 match data of every
	 * config entry its insteadOf glob does not match). */
	if (git_remote_create_options_init(
	        &ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION) < 0) {
		rc = git_fail(CSIRT_EFAIL, "remote options");
		goto done;
	}
	ropts.repository = repo;
	ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	              GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url, &ropts) < 0) {
		rc = git_fail(CSIRT_EINVAL, "mirror");
		goto done;
	}
	if (git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION) < 0) {
		rc = git_fail(CSIRT_EFAIL, "push options");
		goto done;
	}
	opts.callbacks.push_update_reference = push_ref_cb;
	opts.callbacks.credentials = push_cred_cb;
	opts.callbacks.payload = &ps;
	/* libgit2 refuses a refspec without '+' unless the remote's tip is
	 * an ancestor of ours (GIT_ENONFASTFORWARD), before sending. */
	err = git_remote_push(remote, &refspecs, &opts);
	if (err == GIT_ENONFASTFORWARD)
		rc = git_fail(CSIRT_ECONFLICT,
		              "mirror diverged, not a fast-forward");
	else if (err < 0)
		rc = git_fail(CSIRT_EUNAVAILABLE, "push");
	else if (ps.rejected)
		rc = csirt_error_set(CSIRT_ECONFLICT, "mirror refused %s",
		                     ps.msg);
	else
		rc = 0;
	if (rc == 0)
		git_oid_tostr(pushed, LEDGER_OID_HEX, &head);
done:
	git_remote_free(remote);
	git_repository_free(repo);
	return rc;
}

/* ---- whole-ledger passes --------------------------------------------- */

const char *
ledger_path(const struct ledger *lg)
{
	return lg->path;
}

/*
 * ledger_changes(): a tree diff that skips every subtree whose id is
 * unchanged, so that a commit costs the depth of what it touched, not the
 * size of the ledger (libgit2's diff walks both trees whole: quadratic
 * over a history).  The entries of both sides are parsed in place from
 * the raw objects (no git_tree objects, no name lookups: both lists are in
 * git's tree order, so matching is one merge pass), and the trees read
 * stay in the handle's raw table, where the old side of a commit is the
 * new side of the commit before.  Changed and added entries are reported
 * in the new tree's order, then the deleted ones in the old tree's.
 */

struct rawent {
	const char *name;
	size_t len;
	unsigned mode;
	bool is_tree;
	git_oid oid;
	bool matched;
};

/* Whether entry `a` comes strictly before `b` in git's order, their names
 * differing (a file and a directory of one name are the same name). */
static bool
rawent_before(const struct rawent *a, const struct rawent *b)
{
	return entry_cmp(a->name, a->len, a->is_tree, b->name, b->len,
	                 b->is_tree) < 0 &&
	       !(a->len == b->len && memcmp(a->name, b->name, a->len) == 0);
}

/* Parses a raw tree into entries (caller frees *out), from byte `from`
 * (an entry's start) to its end; *last_off, when given, gets where the
 * last entry starts.  A whole parse (`from` 0) that finds the entries in
 * git's order, no name twice, records that in o->last. */
static int
rawtree_parse(struct rawent **out, size_t *n, struct rawobj *o, size_t from,
              size_t *last_off)
{
	const unsigned char *p = o->data + from;
	const unsigned char *end = o->data + o->len, *last = NULL;
	struct rawent *e = NULL;
	size_t cap = 0;
	bool sorted = from == 0;

	*out = NULL;
	*n = 0;
	while (p < end) {
		const char *name;
		size_t namelen, len;
		bool is_tree;
		unsigned mode = 0;

		len = tree_entry(p, end, &name, &namelen, &is_tree);
		if (len == 0) {
			free(e);
			return csirt_error_set(CSIRT_ETAMPER,
			                       "malformed tree %.12s",
			                       git_oid_tostr_s(&o->oid));
		}
		for (const unsigned char *m = p; *m != ' '; m++)
			mode = mode * 8 + (unsigned)(*m - '0');
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			e = util_xrealloc(e, cap * sizeof(*e));
		}
		e[*n].name = name;
		e[*n].len = namelen;
		e[*n].mode = mode;
		e[*n].is_tree = mode == GIT_FILEMODE_TREE;
		e[*n].matched = false;
		git_oid_fromraw(&e[*n].oid,
		                (const unsigned char *)name + namelen + 1);
		if (sorted && *n > 0 && !rawent_before(&e[*n - 1], &e[*n]))
			sorted = false;
		(*n)++;
		last = p;
		p += len;
	}
	if (sorted && last != NULL)
		atomic_store(&o->last, (size_t)(last - o->data));
	if (last_off != NULL)
		*last_off = last != NULL ? (size_t)(last - o->data) : SIZE_MAX;
	*out = e;
	return 0;
}

/*
 * The raw objects a pass reads twice -- the trees on a commit's path, old
 * side of the next commit's diff, or walked again for a second file --
 * kept per handle in a small direct-mapped table by object id.  Unlike
 * libgit2's cache (which the passes turn off, see ledger_pass_mode()) it
 * never grows and never slows down when full.
 */
#define RAWCACHE_SLOTS 256

struct rawcache {
	struct rawobj *slot[RAWCACHE_SLOTS];
};

static void
rawobj_put(struct rawobj *o)
{
	if (o != NULL && atomic_fetch_sub(&o->refs, 1) == 1) {
		free(o->data);
		free(o);
	}
}

static struct rawobj *
rawobj_ref(struct rawobj *o)
{
	atomic_fetch_add(&o->refs, 1);
	return o;
}

static struct rawobj *
rawobj_new(const git_oid *oid, git_object_t type, unsigned char *data,
           size_t len)
{
	struct rawobj *o = util_xmalloc(sizeof(*o));

	git_oid_cpy(&o->oid, oid);
	o->type = type;
	atomic_init(&o->refs, 1);
	atomic_init(&o->last, SIZE_MAX);
	o->checked = false;
	o->data = data;
	o->len = len;
	return o;
}

static struct rawobj *
rawobj_copy(const git_oid *oid, git_object_t type, const void *data, size_t len)
{
	unsigned char *d = util_xmalloc(len + 1);

	memcpy(d, data, len);
	d[len] = '\0';
	return rawobj_new(oid, type, d, len);
}

static void
rawcache_free(struct rawcache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < RAWCACHE_SLOTS; i++)
		rawobj_put(c->slot[i]);
	free(c);
}

/*
 * The trees of a pass, shared by its threads.  A commit's old side is
 * often a tree last read thousands of commits before, by another worker
 * (a case's events/ tree, say, which every event of the case rewrites and
 * which grows with the case): read again from the pack, its bytes are
 * inflated and hashed twice.  Here every tree read in a pass is kept,
 * direct-mapped by id, within a byte budget, and shared by reference,
 * until a newer version of it has been compared with it (passcache_drop()):
 * the table holds about one version of each tree path, the live ones.
 * Only a pass that checks hashes (csirt-audit) uses it: a rebuild walks
 * each commit's trees from the root and never needs an old version, so
 * the table would only cost it.  Every change of mode empties it.
 */
#define PASSCACHE_SLOTS 262144
#define PASSCACHE_BYTES ((size_t)256 << 20)
#define PASSCACHE_LOCKS 64 /* striped: one lock made 6 % of a verify */

static struct {
	pthread_mutex_t mu[PASSCACHE_LOCKS]; /* slot i under mu[i % LOCKS] */
	struct rawobj **slot; /* PASSCACHE_SLOTS, or NULL outside a pass */
	atomic_size_t bytes;
} passcache;
static pthread_once_t passcache_once = PTHREAD_ONCE_INIT;

static void
passcache_init(void)
{
	for (size_t i = 0; i < PASSCACHE_LOCKS; i++)
		pthread_mutex_init(&passcache.mu[i], NULL);
}

static bool pass_mode, pass_hash_checks;

static size_t
passcache_slot(const git_oid *oid)
{
	uint32_t h;

	memcpy(&h, oid->id + 4, sizeof(h));
	return h % PASSCACHE_SLOTS;
}

/* Called with no pass running (ledger_pass_mode()), so no other thread
 * holds a stripe. */
static void
passcache_reset(bool on)
{
	struct rawobj **old;

	pthread_once(&passcache_once, passcache_init);
	old = passcache.slot;
	passcache.slot =
	    on ? util_xcalloc(PASSCACHE_SLOTS, sizeof(*passcache.slot)) : NULL;
	atomic_store(&passcache.bytes, 0);
	if (old != NULL)
		for (size_t i = 0; i < PASSCACHE_SLOTS; i++)
			rawobj_put(old[i]);
	free(old);
}

/* Tree `oid` from the table (a reference), or NULL. */
static struct rawobj *
passcache_get(const git_oid *oid)
{
	struct rawobj *o = NULL, *e;
	size_t i = passcache_slot(oid);

	if (passcache.slot == NULL)
		return NULL;
	pthread_mutex_lock(&passcache.mu[i % PASSCACHE_LOCKS]);
	e = passcache.slot[i];
	if (e != NULL && git_oid_equal(&e->oid, oid) &&
	    (e->checked || !pass_hash_checks))
		o = rawobj_ref(e);
	pthread_mutex_unlock(&passcache.mu[i % PASSCACHE_LOCKS]);
	return o;
}

static void
passcache_put(struct rawobj *o)
{
	struct rawobj *old = NULL, **e;
	size_t i = passcache_slot(&o->oid);

	if (passcache.slot == NULL)
		return;
	pthread_mutex_lock(&passcache.mu[i % PASSCACHE_LOCKS]);
	e = &passcache.slot[i];
	/* The budget is kept loosely across stripes: a racing put may
	 * overshoot it by one tree. */
	if (atomic_load(&passcache.bytes) - (*e ? (*e)->len : 0) + o->len <=
	    PASSCACHE_BYTES) {
		old = *e;
		if (old != NULL)
			atomic_fetch_sub(&passcache.bytes, old->len);
		*e = rawobj_ref(o);
		atomic_fetch_add(&passcache.bytes, o->len);
	}
	pthread_mutex_unlock(&passcache.mu[i % PASSCACHE_LOCKS]);
	rawobj_put(old);
}

/* Forgets tree `o` if the table holds it. */
static void
passcache_drop(const struct rawobj *o)
{
	struct rawobj *old = NULL;
	size_t i = passcache_slot(&o->oid);

	if (passcache.slot == NULL)
		return;
	pthread_mutex_lock(&passcache.mu[i % PASSCACHE_LOCKS]);
	if (passcache.slot[i] != NULL &&
	    git_oid_equal(&passcache.slot[i]->oid, &o->oid)) {
		old = passcache.slot[i];
		passcache.slot[i] = NULL;
		atomic_fetch_sub(&passcache.bytes, old->len);
	}
	pthread_mutex_unlock(&passcache.mu[i % PASSCACHE_LOCKS]);
	rawobj_put(old);
}

/*
 * Reads object `oid` for a pass: in pass mode from the packs by this
 * handle's own reader (ledger_pack.h) with the hash checked here by
 * libgit2's collision-detecting SHA-1 when the pass checks hashes, and
 * through libgit2 for whatever that reader declines or when the hash does
 * not match (so that the error is libgit2's, as it always was).
 */
static int
rawobj_fetch(struct rawobj **out, struct ledger *lg, const git_oid *oid)
{
	git_odb_object *g = NULL;
	enum pack_type pt;
	unsigned char *data;
	size_t len;

	*out = NULL;
	if (pass_mode) {
		if (pass_hash_checks && (*out = passcache_get(oid)) != NULL)
			return 0;
		if (lg->packs == NULL)
			lg->packs =
			    pack_reader_open(git_repository_path(lg->repo));
		if (pack_reader_read(lg->packs, oid->id, &pt, &data, &len) ==
		    0) {
			git_oid chk;
			git_object_t type = (git_object_t)pt;
			if (!pass_hash_checks ||
			    (git_odb_hash(&chk, data, len, type) == 0 &&
			     git_oid_equal(&chk, oid))) {
				*out = rawobj_new(oid, type, data, len);
				(*out)->checked = pass_hash_checks;
				if (pass_hash_checks && type == GIT_OBJECT_TREE)
					passcache_put(*out);
				return 0;
			}
			free(data);
		}
	}
	if (git_odb_read(&g, lg->odb, oid) < 0)
		return git_fail(CSIRT_ETAMPER, "reading ledger object");
	*out = rawobj_copy(oid, git_odb_object_type(g), git_odb_object_data(g),
	                   git_odb_object_size(g));
	git_odb_object_free(g);
	/* libgit2 checks hashes except in a pass that turned that off. */
	(*out)->checked = !pass_mode || pass_hash_checks;
	if (pass_mode && pass_hash_checks && (*out)->type == GIT_OBJECT_TREE)
		passcache_put(*out);
	return 0;
}

/* The type and size of object `oid` without loading a large blob. */
static int
rawobj_header(struct ledger *lg, const git_oid *oid, size_t *len,
              git_object_t *type)
{
	enum pack_type pt;

	if (pass_mode && lg->packs != NULL &&
	    pack_reader_header(lg->packs, oid->id, &pt, len) == 0) {
		*type = (git_object_t)pt;
		return 0;
	}
	if (git_odb_read_header(len, type, lg->odb, oid) < 0)
		return git_fail(CSIRT_ETAMPER, "reading object header");
	return 0;
}

/* Reads object `oid`, which must be of type `want`; the caller releases
 * *out with rawobj_put(). */
static int
rawobj_read(struct rawobj **out, struct ledger *lg, const git_oid *oid,
            git_object_t want)
{
	size_t h = ((size_t)oid->id[0] << 8 | oid->id[1]) % RAWCACHE_SLOTS;
	struct rawobj *o;
	int rc;

	*out = NULL;
	if (lg->raw == NULL)
		lg->raw = util_xcalloc(1, sizeof(*lg->raw));
	o = lg->raw->slot[h];
	if (o == NULL || !git_oid_equal(&o->oid, oid)) {
		if ((rc = rawobj_fetch(&o, lg, oid)) != 0)
			return rc;
		if (o->type == GIT_OBJECT_TREE) {
			rawobj_put(lg->raw->slot[h]);
			lg->raw->slot[h] = rawobj_ref(o);
		}
	} else {
		rawobj_ref(o);
	}
	if (o->type != want) {
		rawobj_put(o);
		return csirt_error_set(
		    CSIRT_ETAMPER, "object %.12s is not a %s",
		    git_oid_tostr_s(oid), git_object_type2string(want));
	}
	*out = o;
	return 0;
}

static int changes_trees(struct ledger *lg, const git_oid *old,
                         const git_oid *new, struct buf *prefix,
                         ledger_change_cb cb, void *arg);

/* One side of a changed entry, descending into trees. */
static int
changes_entry(struct ledger *lg, const struct rawent *e, enum ledger_change ch,
              struct buf *prefix, ledger_change_cb cb, void *arg)
{
	size_t keep = prefix->len;
	struct rawobj *o = NULL;
	const char *data = NULL;
	size_t n = 0;
	int rc;

	buf_put(prefix, e->name, e->len);
	if (e->is_tree) {
		buf_putc(prefix, '/');
		rc = ch == LEDGER_DELETED
		         ? changes_trees(lg, &e->oid, NULL, prefix, cb, arg)
		         : changes_trees(lg, NULL, &e->oid, prefix, cb, arg);
		goto done;
	}
	if (ch != LEDGER_DELETED && (e->mode == GIT_FILEMODE_BLOB ||
	                             e->mode == GIT_FILEMODE_BLOB_EXECUTABLE)) {
		size_t hlen = 0;
		git_object_t htype = GIT_OBJECT_INVALID;

		/* Evidence content can be gigabytes: its header says so
		 * without inflating it. */
		if ((rc = rawobj_header(lg, &e->oid, &hlen, &htype)) != 0)
			goto done;
		if (htype != GIT_OBJECT_BLOB) {
			rc = csirt_error_set(CSIRT_ETAMPER,
			                     "object %.12s is not a blob",
			                     git_oid_tostr_s(&e->oid));
			goto done;
		}
		if (hlen > LEDGER_DIFF_BLOB_MAX) {
			rc = cb(prefix->data, ch, e->mode, NULL, hlen, arg);
			goto done;
		}
		if ((rc = rawobj_read(&o, lg, &e->oid, GIT_OBJECT_BLOB)) != 0)
			goto done;
		data = (const char *)o->data;
		n = o->len;
	}
	rc = cb(prefix->data, ch, e->mode, data, n, arg);
done:
	rawobj_put(o);
	prefix->len = keep;
	prefix->data[keep] = '\0';
	return rc;
}

/* The entry of `v` (sorted, `nv`) named like `e`, any type; *cur is a
 * cursor that makes the merge linear when both sides are in order. */
static struct rawent *
rawent_find(struct rawent *v, size_t nv, size_t *cur, const struct rawent *e)
{
	while (*cur < nv &&
	       entry_cmp(v[*cur].name, v[*cur].len, v[*cur].is_tree, e->name,
	                 e->len, e->is_tree) < 0)
		(*cur)++;
	if (*cur < nv && v[*cur].len == e->len &&
	    memcmp(v[*cur].name, e->name, e->len) == 0)
		return &v[*cur];
	/* A file that became a tree, or the reverse: another position. */
	for (size_t i = 0; i < nv; i++)
		if (v[i].len == e->len &&
		    memcmp(v[i].name, e->name, e->len) == 0)
			return &v[i];
	return NULL;
}

/*
 * changes_trees() for the commonest change of a big tree: an append.  An
 * event file's name sorts after every earlier one, so a case's events/
 * bucket -- rewritten by every event of the case, and growing with it --
 * usually gains one entry at its end, and the old tree is then a prefix
 * of the new one: the entries after it are the added ones, and neither
 * tree needs parsing whole.  Applies only when the old tree's last entry
 * is known (a parse reached it) and the new entries sort after it, in
 * order; otherwise *applied is false and nothing was reported.
 */
static int
changes_append(bool *applied, struct ledger *lg, struct rawobj *oo,
               struct rawobj *no, struct buf *prefix, ledger_change_cb cb,
               void *arg)
{
	size_t olast = atomic_load(&oo->last), n = 0, nlast = SIZE_MAX;
	struct rawent prev, *v = NULL;
	int rc = 0;

	*applied = false;
	if (olast >= oo->len || oo->len >= no->len ||
	    memcmp(oo->data, no->data, oo->len) != 0 ||
	    tree_entry(oo->data + olast, oo->data + oo->len, &prev.name,
	               &prev.len, &prev.is_tree) != oo->len - olast ||
	    rawtree_parse(&v, &n, no, oo->len, &nlast) != 0 || n == 0)
		goto done;
	/* The old tree is in order with no name twice (its `last` says so):
	 * the new entries must follow it the same way, or the whole diff
	 * decides. */
	for (size_t i = 0; i < n; i++) {
		if (!rawent_before(&prev, &v[i]))
			goto done;
		prev = v[i];
	}
	atomic_store(&no->last, nlast);
	*applied = true;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = changes_entry(lg, &v[i], LEDGER_ADDED, prefix, cb, arg);
done:
	if (!*applied)
		csirt_error_clear(); /* the whole parse will say it again */
	free(v);
	return rc;
}

static int
changes_trees(struct ledger *lg, const git_oid *old, const git_oid *new,
              struct buf *prefix, ledger_change_cb cb, void *arg)
{
	struct rawobj *oo = NULL, *no = NULL;
	struct rawent *ov = NULL, *nv = NULL;
	size_t on = 0, nn = 0, cur = 0;
	int rc;

	if ((old != NULL &&
	     (rc = rawobj_read(&oo, lg, old, GIT_OBJECT_TREE)) != 0) ||
	    (new != NULL &&
	     (rc = rawobj_read(&no, lg, new, GIT_OBJECT_TREE)) != 0))
		goto done;
	if (oo != NULL && no != NULL) {
		bool applied;
		rc = changes_append(&applied, lg, oo, no, prefix, cb, arg);
		if (applied)
			goto done;
	}
	if ((oo != NULL && (rc = rawtree_parse(&ov, &on, oo, 0, NULL)) != 0) ||
	    (no != NULL && (rc = rawtree_parse(&nv, &nn, no, 0, NULL)) != 0))
		goto done;
	for (size_t i = 0; i < nn; i++) {
		struct rawent *e = &nv[i];
		struct rawent *o;

		/* Most entries are the same entry at the merge cursor. */
		if (cur < on && ov[cur].len == e->len &&
		    ov[cur].mode == e->mode &&
		    git_oid_equal(&ov[cur].oid, &e->oid) &&
		    memcmp(ov[cur].name, e->name, e->len) == 0) {
			ov[cur++].matched = true;
			continue;
		}
		o = rawent_find(ov, on, &cur, e);
		if (o != NULL)
			o->matched = true;
		if (o != NULL && o->mode == e->mode &&
		    git_oid_equal(&o->oid, &e->oid))
			continue;
		if (o != NULL && o->is_tree && e->is_tree) {
			size_t keep = prefix->len;
			buf_put(prefix, e->name, e->len);
			buf_putc(prefix, '/');
			rc = changes_trees(lg, &o->oid, &e->oid, prefix, cb,
			                   arg);
			prefix->len = keep;
			prefix->data[keep] = '\0';
		} else if (o != NULL && (o->is_tree || e->is_tree)) {
			/* A file became a directory or the reverse. */
			rc = changes_entry(lg, o, LEDGER_DELETED, prefix, cb,
			                   arg);
			if (rc == 0)
				rc = changes_entry(lg, e, LEDGER_ADDED, prefix,
				                   cb, arg);
		} else {
			rc = changes_entry(
			    lg, e, o != NULL ? LEDGER_MODIFIED : LEDGER_ADDED,
			    prefix, cb, arg);
		}
		if (rc != 0)
			goto done;
	}
	for (size_t i = 0; i < on; i++)
		if (!ov[i].matched &&
		    (rc = changes_entry(lg, &ov[i], LEDGER_DELETED, prefix, cb,
		                        arg)) != 0)
			goto done;
	rc = 0;
done:
	/* The history is linear: once a newer version of this tree was
	 * compared with it, nothing compares with it again. */
	if (rc == 0 && oo != NULL && no != NULL)
		passcache_drop(oo);
	free(ov);
	free(nv);
	rawobj_put(oo);
	rawobj_put(no);
	return rc;
}

int
ledger_changes(struct ledger *lg, const char *old_tree, const char *new_tree,
               ledger_change_cb cb, void *arg)
{
	git_oid ot, nt;
	struct buf prefix = BUF_INIT;
	int rc;

	if ((old_tree != NULL && *old_tree != '\0' &&
	     git_oid_fromstr(&ot, old_tree) < 0) ||
	    git_oid_fromstr(&nt, new_tree) < 0)
		return csirt_error_set(CSIRT_EINVAL, "bad tree id");
	buf_puts(&prefix, "");
	rc = changes_trees(lg,
	                   old_tree != NULL && *old_tree != '\0' ? &ot : NULL,
	                   &nt, &prefix, cb, arg);
	buf_free(&prefix);
	return rc;
}

bool
ledger_pass_mode_active(void)
{
	return pass_mode;
}

void
ledger_pass_mode(bool on, bool hash_checks)
{
	if (ledger_lib_init() != 0)
		return;
	pass_mode = on;
	pass_hash_checks = !on || hash_checks;
	passcache_reset(on);
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, on ? 0 : 1);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION,
	                 !on || hash_checks ? 1 : 0);
}

/* The id of the tree of raw commit `commit` ("tree <hex>" first). */
static int
commit_tree_id(git_oid *out, const char *raw, size_t len, const char *commit)
{
	if (len < 46 || memcmp(raw, "tree ", 5) != 0 || raw[45] != '\n' ||
	    git_oid_fromstrn(out, raw + 5, GIT_OID_HEXSZ) < 0)
		return csirt_error_set(
		    CSIRT_ETAMPER, "commit %.12s has no tree header", commit);
	return 0;
}

int
ledger_tree_read_file(char **out, size_t *len, struct ledger *lg,
                      const char *commit_raw, size_t raw_len,
                      const char *commit, const char *path)
{
	struct rawobj *t = NULL, *blob = NULL;
	git_oid oid;
	const char *p = path;
	int rc;

	*out = NULL;
	if ((rc = commit_tree_id(&oid, commit_raw, raw_len, commit)) != 0)
		return rc;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t want = slash ? (size_t)(slash - p) : strlen(p);
		const unsigned char *q, *end;
		bool found = false;

		if ((rc = rawobj_read(&t, lg, &oid, GIT_OBJECT_TREE)) != 0)
			goto done;
		q = t->data;
		end = q + t->len;
		while (q < end) {
			const char *name;
			size_t namelen, n;
			bool is_tree;
			n = tree_entry(q, end, &name, &namelen, &is_tree);
			if (n == 0)
				break;
			if (namelen == want && is_tree == (slash != NULL) &&
			    memcmp(name, p, want) == 0) {
				git_oid_fromraw(&oid,
				                (const unsigned char *)name +
				                    namelen + 1);
				found = true;
				break;
			}
			q += n;
		}
		rawobj_put(t);
		t = NULL;
		if (!found) {
			rc = csirt_error_set(
			    CSIRT_ENOTFOUND,
			    "%s not found in ledger commit %.12s", path,
			    commit);
			goto done;
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if ((rc = rawobj_read(&blob, lg, &oid, GIT_OBJECT_BLOB)) != 0)
		goto done;
	*len = blob->len;
	*out = util_xmalloc(*len + 1);
	memcpy(*out, blob->data, *len);
	(*out)[*len] = '\0';
	rc = 0;
done:
	rawobj_put(t);
	rawobj_put(blob);
	return rc;
}
