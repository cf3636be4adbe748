/*
 * ledger_pack.c - a lock-free reader of the ledger's pack files.
 *
 * libgit2 reads a packed object through a process-wide lock around its
 * pack windows and an allocation or two of its own per object; a pass over
 * a million commits from two threads spent a tenth of its time waiting on
 * that lock.  A whole-ledger pass only reads, so each of its handles maps
 * every pack and its index once, at open, and reads with no lock and no
 * shared state: the index's fan-out table and a binary search find the
 * entry, the object is inflated straight into its buffer, and a delta is
 * applied to its base (kept in a small cache: the ledger's trees are
 * deltified against the first version of the tree in the same pack).
 *
 * The formats are git's (Documentation/gitformat-pack.txt): the .idx of
 * version 2 (fan-out, sorted ids, CRC-32s, 31-bit offsets with an overflow
 * table of 64-bit ones), and the pack's per-object header (type and size
 * in a little-endian base-128 varint), OFS_DELTA's base distance (the
 * "offset encoding" with its +1 per continuation byte), REF_DELTA's base
 * id, and the delta's copy and insert instructions.  Every length and
 * offset read from the files is checked against the mapping before use.
 *
 * The reader declines rather than reports: a loose object, a pack written
 * after open, anything malformed.  ledger.c then reads the object through
 * libgit2, which gives the error it always gave; ledger.c also checks the
 * content's hash, with libgit2's collision-detecting SHA-1.
 */
#include "ledger_pack.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

#define IDX_HEADER 8
#define IDX_FANOUT (256 * 4)
#define IDX_TRAILER (2 * PACK_OID_LEN)
#define PACK_HEADER 12
#define PACK_TRAILER PACK_OID_LEN
#define BASE_SLOTS 64
#define BASE_MAX ((size_t)1 << 20) /* larger bases are not kept */

enum {
	OBJ_OFS_DELTA = 6,
	OBJ_REF_DELTA = 7,
};

struct pack {
	const unsigned char *idx;
	size_t idx_len;
	const unsigned char *data;
	size_t data_len;
	uint32_t n;
	const unsigned char *oids;  /* n ids of 20 bytes, sorted */
	const unsigned char *off32; /* n big-endian 32-bit offsets */
	const unsigned char *off64; /* n64 big-endian 64-bit offsets */
	size_t n64;
	time_t mtime;
	bool borrowed; /* not mapped here (pack_reader_open_mem()) */
};

struct base {
	const struct pack *pack;
	uint64_t off;
	enum pack_type type;
	unsigned char *data;
	size_t len;
};

/* The mappings, shared by the readers of one repository: the threads of a
 * pass map each pack once (a mapping counts in the process's RSS once per
 * address range). */
struct pack_maps {
	char *gitdir;
	unsigned refs; /* under maps_mu */
	struct pack *packs;
	size_t n;
};

static pthread_mutex_t maps_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pack_maps *maps_shared; /* the last opened, while in use */

struct pack_reader {
	struct pack_maps *maps;
	struct pack *packs; /* maps->packs */
	size_t n;
	size_t *order; /* pack indices, most recently hit first */
	z_stream zs;
	bool zinit;
	struct base bases[BASE_SLOTS];
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static const unsigned char *
map_file(const char *path, size_t *len, time_t *mtime)
{
	struct stat st;
	void *m;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uintmax_t)st.st_size > SIZE_MAX) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	if (mtime != NULL)
		*mtime = st.st_mtime;
	return m;
}

static void
pack_unmap(struct pack *p)
{
	if (p->borrowed) {
		memset(p, 0, sizeof(*p));
		return;
	}
	if (p->idx != NULL)
		munmap((void *)(uintptr_t)p->idx, p->idx_len);
	if (p->data != NULL)
		munmap((void *)(uintptr_t)p->data, p->data_len);
	memset(p, 0, sizeof(*p));
}

/* Checks the .idx (version 2) and the pack's header against each other. */
static bool
pack_check(struct pack *p)
{
	const unsigned char *fan = p->idx + IDX_HEADER;
	size_t fixed, rest;
	uint32_t prev = 0;

	if (p->idx_len < IDX_HEADER + IDX_FANOUT + IDX_TRAILER ||
	    memcmp(p->idx, "\377tOc", 4) != 0 || be32(p->idx + 4) != 2)
		return false;
	for (size_t i = 0; i < 256; i++) {
		uint32_t v = be32(fan + 4 * i);
		if (v < prev)
			return false;
		prev = v;
	}
	p->n = prev;
	fixed = IDX_HEADER + IDX_FANOUT + IDX_TRAILER;
	if ((p->idx_len - fixed) / 28 < p->n)
		return false;
	rest = p->idx_len - fixed - (size_t)p->n * 28;
	if (rest % 8 != 0)
		return false;
	p->n64 = rest / 8;
	p->oids = fan + IDX_FANOUT;
	p->off32 = p->oids + (size_t)p->n * (PACK_OID_LEN + 4);
	p->off64 = p->off32 + (size_t)p->n * 4;
	return p->data_len >= PACK_HEADER + PACK_TRAILER &&
	       memcmp(p->data, "PACK", 4) == 0 &&
	       (be32(p->data + 4) == 2 || be32(p->data + 4) == 3) &&
	       be32(p->data + 8) == p->n;
}

static int
pack_newer_first(const void *a, const void *b)
{
	const struct pack *x = a, *y = b;

	return (x->mtime < y->mtime) - (x->mtime > y->mtime);
}

static void
reader_order_init(struct pack_reader *pr)
{
	pr->order = util_xcalloc(pr->n ? pr->n : 1, sizeof(*pr->order));
	for (size_t i = 0; i < pr->n; i++)
		pr->order[i] = i;
}

static struct pack_maps *
maps_open(const char *gitdir)
{
	struct pack_maps *m = util_xcalloc(1, sizeof(*m));
	char *dir = util_path_join(gitdir, "objects/pack");
	struct buf path = BUF_INIT;
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	m->gitdir = util_strdup(gitdir);
	m->refs = 1;
	while (d != NULL && (de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		struct pack p;

		memset(&p, 0, sizeof(p));
		if (nl < 9 || strncmp(de->d_name, "pack-", 5) != 0 ||
		    strcmp(de->d_name + nl - 4, ".idx") != 0)
			continue;
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, de->d_name);
		p.idx = map_file(path.data, &p.idx_len, NULL);
		path.len -= 3; /* "idx" */
		buf_puts(&path, "pack");
		p.data = map_file(path.data, &p.data_len, &p.mtime);
		if (p.idx == NULL || p.data == NULL || !pack_check(&p)) {
			pack_unmap(&p);
			continue;
		}
		if (m->n == cap) {
			cap = cap ? cap * 2 : 16;
			m->packs =
			    util_xrealloc(m->packs, cap * sizeof(*m->packs));
		}
		m->packs[m->n++] = p;
	}
	if (d != NULL)
		closedir(d);
	if (m->n > 1)
		qsort(m->packs, m->n, sizeof(*m->packs), pack_newer_first);
	buf_free(&path);
	free(dir);
	return m;
}

static void
maps_free(struct pack_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		pack_unmap(&m->packs[i]);
	free(m->packs);
	free(m->gitdir);
	free(m);
}

struct pack_reader *
pack_reader_open(const char *gitdir)
{
	struct pack_reader *pr = util_xcalloc(1, sizeof(*pr));

	pthread_mutex_lock(&maps_mu);
	if (maps_shared != NULL && strcmp(maps_shared->gitdir, gitdir) == 0) {
		maps_shared->refs++;
		pr->maps = maps_shared;
	}
	pthread_mutex_unlock(&maps_mu);
	if (pr->maps == NULL) {
		/* Mapped outside the lock; the first of several concurrent
		 * openers becomes the shared one. */
		pr->maps = maps_open(gitdir);
		pthread_mutex_lock(&maps_mu);
		if (maps_shared == NULL) {
			maps_shared = pr->maps;
			pr->maps->refs++;
		}
		pthread_mutex_unlock(&maps_mu);
	}
	pr->packs = pr->maps->packs;
	pr->n = pr->maps->n;
	reader_order_init(pr);
	return pr;
}

void
pack_reader_close(struct pack_reader *pr)
{
	struct pack_maps *m, *drop = NULL;

	if (pr == NULL)
		return;
	m = pr->maps;
	pthread_mutex_lock(&maps_mu);
	if (--m->refs == 0)
		drop = m;
	else if (m->refs == 1 && maps_shared == m) {
		/* Only the shared slot holds it: let it go. */
		maps_shared = NULL;
		drop = m;
	}
	pthread_mutex_unlock(&maps_mu);
	if (drop != NULL)
		maps_free(drop);
	for (size_t i = 0; i < BASE_SLOTS; i++)
		free(pr->bases[i].data);
	if (pr->zinit)
		inflateEnd(&pr->zs);
	free(pr->order);
	free(pr);
}

size_t
pack_reader_packs(const struct pack_reader *pr)
{
	return pr->n;
}

/* The offset of `oid` in pack `p`, or false. */
static bool
pack_find(const struct pack *p, const unsigned char *oid, uint64_t *off)
{
	const unsigned char *fan = p->idx + IDX_HEADER;
	uint32_t lo = oid[0] > 0 ? be32(fan + 4 * (oid[0] - 1)) : 0;
	uint32_t hi = be32(fan + 4 * oid[0]);
	uint32_t v;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->oids + (size_t)mid * PACK_OID_LEN, oid,
		               PACK_OID_LEN);
		if (c < 0) {
			lo = mid + 1;
			continue;
		}
		if (c > 0) {
			hi = mid;
			continue;
		}
		v = be32(p->off32 + (size_t)mid * 4);
		if (v & 0x80000000u) {
			if ((v & 0x7fffffffu) >= p->n64)
				return false;
			*off = be64(p->off64 + (size_t)(v & 0x7fffffffu) * 8);
		} else {
			*off = v;
		}
		return *off >= PACK_HEADER && *off < p->data_len - PACK_TRAILER;
	}
	return false;
}

/* Packs are tried most recently hit first (a hit moves its pack to the
 * front): a commit's new objects share one pack, and the older objects it
 * needs sit in a few others. */
static const struct pack *
reader_find(struct pack_reader *pr, const unsigned char *oid, uint64_t *off)
{
	for (size_t j = 0; j < pr->n; j++) {
		size_t k = pr->order[j];
		if (!pack_find(&pr->packs[k], oid, off))
			continue;
		memmove(pr->order + 1, pr->order, j * sizeof(*pr->order));
		pr->order[0] = k;
		return &pr->packs[k];
	}
	return NULL;
}

/* An entry's header at `off`: its type, its (inflated) size, where its
 * zlib stream starts, and a delta's base. */
struct entry {
	int type;
	uint64_t size;
	uint64_t zoff;
	uint64_t base_off;            /* OFS_DELTA */
	const unsigned char *base_id; /* REF_DELTA */
};

static bool
entry_read(const struct pack *p, uint64_t off, struct entry *e)
{
	const unsigned char *d = p->data;
	uint64_t end = p->data_len - PACK_TRAILER, start = off;
	unsigned shift = 4;
	unsigned char c;

	memset(e, 0, sizeof(*e));
	if (off >= end)
		return false;
	c = d[off++];
	e->type = (c >> 4) & 7;
	e->size = c & 15;
	while (c & 0x80) {
		if (off >= end || shift > 57)
			return false;
		c = d[off++];
		e->size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (e->type == OBJ_OFS_DELTA) {
		uint64_t dist;
		if (off >= end)
			return false;
		c = d[off++];
		dist = c & 0x7f;
		while (c & 0x80) {
			if (off >= end || dist > (UINT64_MAX >> 8))
				return false;
			c = d[off++];
			dist = ((dist + 1) << 7) | (c & 0x7f);
		}
		if (dist == 0 || dist > start - PACK_HEADER)
			return false;
		e->base_off = start - dist;
	} else if (e->type == OBJ_REF_DELTA) {
		if (end - off < PACK_OID_LEN)
			return false;
		e->base_id = d + off;
		off += PACK_OID_LEN;
	} else if (e->type < PACK_COMMIT || e->type > PACK_TAG) {
		return false;
	}
	e->zoff = off;
	return off < end;
}

/* Inflates the zlib stream at `off` into `out`, which must come to exactly
 * `size` bytes (`out` has room for one more, to catch a longer stream). */
static bool
inflate_at(struct pack_reader *pr, const struct pack *p, uint64_t off,
           unsigned char *out, size_t size)
{
	uint64_t avail = p->data_len - PACK_TRAILER - off;
	int zrc;

	if (!pr->zinit) {
		memset(&pr->zs, 0, sizeof(pr->zs));
		if (inflateInit(&pr->zs) != Z_OK)
			return false;
		pr->zinit = true;
	} else if (inflateReset(&pr->zs) != Z_OK) {
		return false;
	}
	pr->zs.next_in = (unsigned char *)(uintptr_t)(p->data + off);
	pr->zs.avail_in = avail > UINT_MAX ? UINT_MAX : (uInt)avail;
	pr->zs.next_out = out;
	pr->zs.avail_out = (uInt)size + 1;
	zrc = inflate(&pr->zs, Z_FINISH);
	return zrc == Z_STREAM_END && pr->zs.total_out == size;
}

static bool
delta_varint(const unsigned char **p, const unsigned char *end, size_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned char c;

	do {
		if (*p >= end || shift > 63)
			return false;
		c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	if (v > PACK_OBJECT_MAX)
		return false;
	*out = (size_t)v;
	return true;
}

/* Applies delta `d` to `base`; *out is malloc'd (NUL-terminated). */
static bool
delta_apply(unsigned char **out, size_t *outlen, const unsigned char *base,
            size_t blen, const unsigned char *d, size_t dlen)
{
	const unsigned char *p = d, *end = d + dlen;
	size_t srclen, len, w = 0;
	unsigned char *o;

	if (!delta_varint(&p, end, &srclen) || srclen != blen ||
	    !delta_varint(&p, end, &len))
		return false;
	o = util_xmalloc(len + 1);
	while (p < end) {
		unsigned char c = *p++;
		if (c & 0x80) {
			size_t off = 0, n = 0;
			for (unsigned i = 0; i < 7; i++) {
				if (!(c & (1u << i)))
					continue;
				if (p >= end)
					goto bad;
				if (i < 4)
					off |= (size_t)*p++ << (8 * i);
				else
					n |= (size_t)*p++ << (8 * (i - 4));
			}
			if (n == 0)
				n = 0x10000;
			if (off > blen || n > blen - off || n > len - w)
				goto bad;
			memcpy(o + w, base + off, n);
			w += n;
		} else if (c != 0) {
			if (c > (size_t)(end - p) || c > len - w)
				goto bad;
			memcpy(o + w, p, c);
			p += c;
			w += c;
		} else {
			goto bad; /* reserved */
		}
	}
	if (w != len)
		goto bad;
	o[len] = '\0';
	*out = o;
	*outlen = len;
	return true;
bad:
	free(o);
	return false;
}

static bool read_at(struct pack_reader *pr, const struct pack *p, uint64_t off,
                    unsigned depth, enum pack_type *type, unsigned char **data,
                    size_t *len);

/* Delta base at `off` of `p`, through the cache: in a slot until the next
 * call that misses the same slot (read_at() drops a big one after use). */
static struct base *
base_get(struct pack_reader *pr, const struct pack *p, uint64_t off,
         unsigned depth)
{
	size_t h = (size_t)((off * 0x9e3779b97f4a7c15ull) >> 58) % BASE_SLOTS;
	struct base *b = &pr->bases[h];
	enum pack_type type;
	unsigned char *data;
	size_t len;

	if (b->data != NULL && b->pack == p && b->off == off)
		return b;
	if (!read_at(pr, p, off, depth + 1, &type, &data, &len))
		return NULL;
	free(b->data);
	b->pack = p;
	b->off = off;
	b->type = type;
	b->data = data;
	b->len = len;
	return b;
}

/* The object at `off` of `p`.  A delta's base is resolved before the
 * delta is inflated, so that a chain holds one level's buffers at a time,
 * not one per level. */
static bool
read_at(struct pack_reader *pr, const struct pack *p, uint64_t off,
        unsigned depth, enum pack_type *type, unsigned char **data, size_t *len)
{
	struct base *b = NULL;
	struct entry e;
	unsigned char *z;
	bool ok;

	if (depth > PACK_DELTA_DEPTH || !entry_read(p, off, &e) ||
	    e.size > PACK_OBJECT_MAX)
		return false;
	if (e.type == OBJ_REF_DELTA) {
		uint64_t boff;
		const struct pack *bp = reader_find(pr, e.base_id, &boff);
		if (bp == NULL || (b = base_get(pr, bp, boff, depth)) == NULL)
			return false;
	} else if (e.type == OBJ_OFS_DELTA) {
		if ((b = base_get(pr, p, e.base_off, depth)) == NULL)
			return false;
	}
	z = util_xmalloc((size_t)e.size + 1);
	ok = inflate_at(pr, p, e.zoff, z, (size_t)e.size);
	if (ok && b == NULL) {
		z[e.size] = '\0';
		*type = (enum pack_type)e.type;
		*data = z;
		*len = (size_t)e.size;
		return true;
	}
	ok = ok && delta_apply(data, len, b->data, b->len, z, (size_t)e.size);
	if (ok)
		*type = b->type;
	free(z);
	if (b != NULL && b->len > BASE_MAX) {
		/* Big bases are rare: not worth their memory. */
		free(b->data);
		b->data = NULL;
	}
	return ok;
}

/* A reader over one pack and its index held in memory, borrowed (the fuzz
 * target's way in). */
struct pack_reader *
pack_reader_open_mem(const unsigned char *idx, size_t idx_len,
                     const unsigned char *pack, size_t pack_len)
{
	struct pack_reader *pr = util_xcalloc(1, sizeof(*pr));
	struct pack_maps *m = util_xcalloc(1, sizeof(*m));
	struct pack p;

	memset(&p, 0, sizeof(p));
	p.idx = idx;
	p.idx_len = idx_len;
	p.data = pack;
	p.data_len = pack_len;
	p.borrowed = true;
	m->gitdir = util_strdup("");
	m->refs = 1;
	if (pack_check(&p)) {
		m->packs = util_xmalloc(sizeof(*m->packs));
		m->packs[0] = p;
		m->n = 1;
	}
	pr->maps = m;
	pr->packs = m->packs;
	pr->n = m->n;
	reader_order_init(pr);
	return pr;
}

int
pack_reader_read(struct pack_reader *pr, const unsigned char *oid,
                 enum pack_type *type, unsigned char **data, size_t *len)
{
	uint64_t off;
	const struct pack *p = reader_find(pr, oid, &off);

	*data = NULL;
	*len = 0;
	if (p == NULL || !read_at(pr, p, off, 0, type, data, len))
		return 1;
	return 0;
}

int
pack_reader_header(struct pack_reader *pr, const unsigned char *oid,
                   enum pack_type *type, size_t *len)
{
	uint64_t off;
	const struct pack *p = reader_find(pr, oid, &off);
	struct entry e;
	unsigned char *data;
	int rc;

	if (p == NULL || !entry_read(p, off, &e) || e.size > SIZE_MAX)
		return 1;
	if (e.type >= PACK_COMMIT && e.type <= PACK_TAG) {
		*type = (enum pack_type)e.type;
		*len = (size_t)e.size;
		return 0;
	}
	if ((rc = pack_reader_read(pr, oid, type, &data, len)) == 0)
		free(data);
	return rc;
}
