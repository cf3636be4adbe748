/*
 * ledger.h - the git ledger (ledger.c is the only includer of libgit2).
 *
 * A bare repository with one linear branch, refs/heads/ledger.  Each call to
 * ledger_commit() adds one signed commit that writes a set of files; the
 * commits of a batch become one packfile in ledger_batch_finish(), which
 * makes pack and ref durable before returning.  Nothing here knows what an
 * event or a case is: paths and bytes come from the caller.
 */
#ifndef CSIRT_LEDGER_H
#define CSIRT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define LEDGER_REF "refs/heads/ledger"
#define LEDGER_OID_HEX 41 /* 40 hex digits and a terminator */

/* Packs: the merger concatenates LEDGER_MERGE_FANOUT packs of one level
 * into one of the next, so up to FANOUT - 1 rest on each level.  16, not
 * 8: each byte of the ledger is copied once per level it climbs, and 16
 * took a quarter of the merger's CPU away (session 10, README).  Past
 * LEDGER_MAX_PACKS the writer waits for a merge; a start that finds more
 * than half of it merges the smallest first. */
#define LEDGER_MERGE_FANOUT 16
#define LEDGER_MAX_PACKS 96
/* Replaced ref files waiting for the spares thread to close them. */
#define LEDGER_RETIRED_MAX 8

struct ledger;
struct buf;

struct ledger_file {
	const char *path; /* "cases/2026/00/01/2026-000123/case.json" */
	const void *data;
	size_t len;
};

struct ledger_commit_info {
	const char *author;  /* login of the acting user */
	int64_t time_ms;     /* server time of the event */
	const char *message; /* summary line, blank line, trailers */
};

/* Creates an empty bare repository at `path` (fails if it exists). */
int ledger_create(const char *path);

/* Opens the repository.  `signer` (borrowed, may be NULL for read-only use)
 * signs every commit.  Removes stale lock files left by a crash: call only
 * while holding the data directory's lock. */
int ledger_open(struct ledger **out, const char *path,
                const struct crypto_signer *signer);
void ledger_close(struct ledger *lg);

/* The head commit of refs/heads/ledger as hex, or "" when empty. */
void ledger_head(const struct ledger *lg, char out[LEDGER_OID_HEX]);

/* Starts a batch; objects stay in memory until ledger_batch_finish(). */
int ledger_batch_begin(struct ledger *lg);
/* Adds one commit on top of the current (possibly unfinished) head that
 * writes `files`.  Fills `commit_out` with the new commit id. */
int ledger_commit(struct ledger *lg, const struct ledger_commit_info *info,
                  const struct ledger_file *files, size_t nfiles,
                  char commit_out[LEDGER_OID_HEX]);
/* Writes the batch's objects as one packfile, fsyncs it, then moves the
 * ref (fsynced).  On failure the on-disk ref is unchanged and the batch is
 * discarded: call nothing else for it. */
int ledger_batch_finish(struct ledger *lg);
/* Forgets the batch's commits and objects. */
void ledger_batch_abort(struct ledger *lg);

/* ---- large blobs (evidence content, issue 6): never held in memory. */

/*
 * Streams the regular file `file` into the ledger as one blob, written as
 * a pack of its own (stored deflate: the content is ciphertext) computing
 * git's SHA-1 of "blob <size>\0" + content on the way, fsyncs pack and
 * index, and puts the blob at `path` in the current batch's tree, so the
 * next ledger_commit() of the batch includes it.  Memory use is constant.
 * Inside a batch only; on a later abort the pack stays unreferenced.
 */
int ledger_blob_put_file(struct ledger *lg, const char *path, const char *file,
                         char oid_out[LEDGER_OID_HEX], uint64_t *size_out);

/*
 * A streaming reader of one blob straight from the packs of the repository
 * at `repo` (the ledger.git directory): finds the object through the pack
 * indexes, inflates it incrementally, and at the end checks that the
 * content hashes to `oid_hex` (CSIRT_ETAMPER otherwise).  Uses no libgit2,
 * so any thread may use its own reader while the writer works.  libgit2
 * 1.5 has no streaming reads of packed objects.  Caller frees with
 * ledger_blob_close().  CSIRT_ENOTFOUND when no pack holds the object.
 */
struct ledger_blob_reader;
int ledger_blob_open(struct ledger_blob_reader **out, const char *repo,
                     const char *oid_hex, uint64_t *size_out);
/* Reads up to `cap` content bytes into `buf`; *got is 0 at the end (after
 * the SHA-1 check passed). */
int ledger_blob_read(struct ledger_blob_reader *r, void *buf, size_t cap,
                     size_t *got);
/* NULL is a no-op. */
void ledger_blob_close(struct ledger_blob_reader *r);

/* Reads a file at a commit.  Caller frees *out (NUL-terminated). */
int ledger_read_file(char **out, size_t *len, struct ledger *lg,
                     const char *commit, const char *path);

/* The commits after `since` ("" for the whole history) up to the head,
 * oldest first, following each commit's one parent: *ids (caller frees)
 * and *n.  CSIRT_ETAMPER when a commit on the way is unreadable or a merge
 * (the ledger's history is linear), or when the line reaches its root
 * without meeting `since` (the ledger was rewritten or replaced); the
 * message then begins with what is wrong and `bad` names the commit. */
int ledger_first_parents(struct ledger *lg, const char *since,
                         char (**ids)[LEDGER_OID_HEX], size_t *n,
                         char bad[LEDGER_OID_HEX]);

/* Calls `cb` for every commit after `since` ("" for the whole history) up
 * to the head, oldest first, with the commit id and its message.  Returns
 * CSIRT_ETAMPER if `since` is not an ancestor of the head. */
typedef int (*ledger_walk_cb)(const char *commit, const char *message,
                              void *arg);
int ledger_walk(struct ledger *lg, const char *since, ledger_walk_cb cb,
                void *arg);

/* Rewrites git's server-info files for dumb HTTP clones on disk:
 * info/refs (the ledger ref and its head) and objects/info/packs (every
 * pack with an index).  Done by ledger_open() and ledger_close() with a
 * signer (never per batch); writer thread only. */
int ledger_update_server_info(struct ledger *lg);

/* Appends to `out` the current content of server-info file `rel`
 * ("info/refs" or "objects/info/packs") of the repository at `repo`, from
 * the ref file and the pack directory on disk; any thread (it reads files
 * only).  Read the refs before the packs: a pack is in place before a ref
 * names its commits, and a merge's sources go after the merged pack is in
 * place. */
int ledger_server_info(struct buf *out, const char *repo, const char *rel);

/* Number of packfiles and loose objects (for maintenance and tests). */
int ledger_stats(struct ledger *lg, size_t *packs, size_t *loose);

/* For tests: the in-memory tree's node budget (ledger.c's
 * LEDGER_CACHE_NODES otherwise), its nodes now, and how many trees it
 * has read back from the packs so far. */
void ledger_set_cache_nodes(struct ledger *lg, size_t max);
size_t ledger_cache_nodes(const struct ledger *lg);
size_t ledger_tree_loads(const struct ledger *lg);

/* For tests: how many ref locks were linked in from a spare unnamed file
 * (struct spares in ledger.c), and in *ready whether one is ready now. */
uint64_t ledger_ref_locks_linked(struct ledger *lg, bool *ready);

/* For tests: while `hold`, a merge of packs of `level` that has started
 * waits before it writes anything, as a long merge of a deep level would;
 * ledger_merge_held() says whether one is waiting so. */
void ledger_merge_hold(struct ledger *lg, size_t level, bool hold);
bool ledger_merge_held(struct ledger *lg, size_t level);

/* Bytes the pack merges of this process have read from their sources
 * and written to the merged packs, by way: sources mapped (level 0's,
 * written through the page cache) or read with O_DIRECT, merged packs
 * written with O_DIRECT or, where the file system refuses it, through the
 * page cache. */
struct ledger_merge_io {
	uint64_t read_mapped, read_direct;
	uint64_t written_direct, written_buffered;
};

void ledger_merge_io(struct ledger_merge_io *out);

/* ---- auditing: read-only access for csirt-audit, which trusts nothing
 * csirtd wrote but the repository itself. */

/* Calls `cb` with the name of every reference (loose and packed-refs).
 * A non-zero return from `cb` stops the walk and is returned. */
typedef int (*ledger_ref_cb)(const char *name, void *arg);
int ledger_refs(struct ledger *lg, ledger_ref_cb cb, void *arg);

/* The raw content of object `id` (40 hex), which must be of `type`
 * ("commit", "tree", "blob"; else CSIRT_ETAMPER); libgit2 checks that the
 * content hashes to the id.  Caller frees *out (NUL-terminated). */
int ledger_object_read(char **out, size_t *len, struct ledger *lg,
                       const char *id, const char *type);

enum ledger_change {
	LEDGER_ADDED = 'A',
	LEDGER_MODIFIED = 'M',
	LEDGER_DELETED = 'D'
};
/* One file changed by a commit: its path, the change, the git file mode
 * (the old one for a deletion) and the new content (NULL for a deletion
 * or an entry that is not a regular blob); `data` is borrowed for the
 * call.  A blob larger than LEDGER_DIFF_BLOB_MAX is not loaded: `data` is
 * NULL and `len` its size (evidence content; read it with
 * ledger_blob_open()).  A non-zero return stops the diff and is returned. */
#define LEDGER_DIFF_BLOB_MAX (1u << 20)
typedef int (*ledger_change_cb)(const char *path, enum ledger_change change,
                                unsigned mode, const char *data, size_t len,
                                void *arg);

/* ---- mirrors (mirror.c calls this from its own thread) */

/* Pushes refs/heads/ledger of the repository at `path` to `url` (a local
 * path or an ssh URL; ssh authenticates through ssh-agent), fast-forward
 * only: never forced, never deleting.  Opens its own handle, so it may run
 * beside the writer.  Fills `pushed` with the commit pushed.
 * CSIRT_ECONFLICT when the mirror has diverged or refused the update
 * (the mirror is left as it was), CSIRT_EUNAVAILABLE when it could not be
 * reached or written. */
int ledger_push(const char *path, const char *url, char pushed[LEDGER_OID_HEX]);

/* ---- whole-ledger passes (replay, csirt-audit) */

/* The repository path the handle was opened with (borrowed), for worker
 * threads that open their own handles. */
const char *ledger_path(const struct ledger *lg);

/* Every file that differs between two trees given by id (`old_tree` "" or
 * NULL: the empty tree), without rename detection; unchanged subtrees are
 * skipped, so the cost is that of the change, not of the tree. */
int ledger_changes(struct ledger *lg, const char *old_tree,
                   const char *new_tree, ledger_change_cb cb, void *arg);

/*
 * Process-wide, around a whole-ledger pass (csirt-audit, `csirtd
 * rebuild`), before it opens handles: `on` turns libgit2's object cache
 * off (the passes keep a small table of the trees they read twice; a full
 * libgit2 cache slows every lookup down) and, when `hash_checks` is false,
 * libgit2's check of object hashes on read off too -- only for a pass that
 * trusts the ledger (a rebuild; csirt-audit keeps it on).  `on` false
 * restores the defaults (cache and hash checks on).
 */
void ledger_pass_mode(bool on, bool hash_checks);
bool ledger_pass_mode_active(void);

/* ledger_read_file() for a commit already read raw (`commit_raw`, from
 * ledger_object_read()): walks the raw trees, sharing the trees read with
 * the previous walks on the handle.  Caller frees *out (NUL-terminated). */
int ledger_tree_read_file(char **out, size_t *len, struct ledger *lg,
                          const char *commit_raw, size_t raw_len,
                          const char *commit, const char *path);

#endif
