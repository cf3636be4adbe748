/*
 * ledger_pack.h - a lock-free reader of the ledger's pack files, for the
 * whole-ledger passes (csirt-audit verify, csirtd rebuild).  Used by
 * ledger.c only, which falls back to libgit2 for whatever this reader
 * declines.
 */
#ifndef CSIRTD_LEDGER_PACK_H
#define CSIRTD_LEDGER_PACK_H

#include <stddef.h>

#define PACK_OID_LEN 20

/* Git object types as packs number them. */
enum pack_type {
	PACK_COMMIT = 1,
	PACK_TREE = 2,
	PACK_BLOB = 3,
	PACK_TAG = 4,
};

struct pack_reader;

/* Maps every pack of the repository whose git directory is `gitdir`
 * (objects/pack/pack-*.idx with its .pack).  Never fails: a pack that
 * cannot be opened or whose index or header is malformed is left out, and
 * its objects are declined.  One reader serves one thread at a time. */
struct pack_reader *pack_reader_open(const char *gitdir);
void pack_reader_close(struct pack_reader *pr);

/* A reader over one pack and its .idx held in memory, borrowed until
 * pack_reader_close() (the fuzz target's way in); a malformed pair gives a
 * reader that declines everything. */
struct pack_reader *pack_reader_open_mem(const unsigned char *idx,
                                         size_t idx_len,
                                         const unsigned char *pack,
                                         size_t pack_len);

/* Packs mapped (for tests). */
size_t pack_reader_packs(const struct pack_reader *pr);

/*
 * Reads object `oid` (20 raw bytes): 0 with its type, its content in
 * *data (malloc'd, NUL-terminated, caller frees) and its size; 1 when
 * declined -- the object is in no mapped pack (loose, or in a newer pack),
 * is larger than PACK_OBJECT_MAX, sits at the end of a delta chain deeper
 * than PACK_DELTA_DEPTH, or anything about it is malformed.  The content's
 * hash is not checked here.
 */
#define PACK_OBJECT_MAX ((size_t)64 << 20)
#define PACK_DELTA_DEPTH 64
int pack_reader_read(struct pack_reader *pr, const unsigned char *oid,
                     enum pack_type *type, unsigned char **data, size_t *len);

/* The type and size of object `oid` without reading a whole undeltified
 * object (evidence content can be gigabytes); 1 when declined, as above
 * (a deltified object is read whole, so the limits apply). */
int pack_reader_header(struct pack_reader *pr, const unsigned char *oid,
                       enum pack_type *type, size_t *len);

#endif
