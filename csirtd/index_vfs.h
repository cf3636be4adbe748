/*
 * index_vfs.h - the index's SQLite VFS (index_vfs.c): the unix VFS with the
 * WAL read and written through a mapping inside the brackets index.c opens.
 * Internal to the index module (index.c and index_vfs.c include SQLite).
 */
#ifndef CSIRTD_INDEX_VFS_H
#define CSIRTD_INDEX_VFS_H

struct sqlite3;

#define INDEX_VFS_NAME "csirtd-index"

/* Registers the VFS (not as the default) on the first call; its name, or
 * NULL when SQLite has no unix VFS to wrap (the index then opens with the
 * default one). */
const char *index_vfs_name(void);

/* The bracket: begin once the connection holds the WAL's write lock (after
 * BEGIN IMMEDIATE) or before a checkpoint; end after the COMMIT, the
 * ROLLBACK or the checkpoint.  Either does nothing on a connection whose
 * WAL is not open or not this VFS's. */
void index_vfs_wal_begin(struct sqlite3 *db);
void index_vfs_wal_end(struct sqlite3 *db);

#endif
