/*
 * fuzz_pack.c - libFuzzer target: the passes' pack reader (ledger_pack.c),
 * which parses pack files an auditor's copy of the ledger may bring from
 * anywhere: entry headers, OFS_DELTA distances, REF_DELTA ids, zlib
 * streams, delta instructions, chains and cycles of deltas.
 *
 * Input: one byte k (1 + its value % 16 entries), k entries of a 20-byte
 * object id and a little-endian 32-bit offset into the pack, then the
 * pack's body (what follows its 12-byte header).  The target builds the
 * header ("PACK", version 2, k objects), a zeroed trailer and a valid
 * version-2 .idx over the entries (sorted, fan-out, offsets of 2 GiB and
 * more in the 64-bit table), and reads every entry whole and by header.
 * The seeds (corpus/fuzz_pack/) are real packs by git: blobs, trees and
 * commits, OFS and REF deltas.
 *
 * Invariant checked: an object read whole has the type and size its
 * header read gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ledger_pack.h"
#include "util.h"

#define ENTRY_LEN (PACK_OID_LEN + 4)

struct ent {
	unsigned char oid[PACK_OID_LEN];
	uint32_t off;
};

static int
ent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ent *)a)->oid,
	              ((const struct ent *)b)->oid, PACK_OID_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ent e[16];
	struct buf idx = BUF_INIT, pack = BUF_INIT;
	struct pack_reader *pr;
	size_t k, n64 = 0;
	uint32_t fan[256] = {0};

	if (size < 1)
		return 0;
	k = 1 + data[0] % 16;
	if (size < 1 + k * ENTRY_LEN)
		return 0;
	for (size_t i = 0; i < k; i++) {
		const uint8_t *p = data + 1 + i * ENTRY_LEN;
		memcpy(e[i].oid, p, PACK_OID_LEN);
		e[i].off = (uint32_t)p[20] | (uint32_t)p[21] << 8 |
		           (uint32_t)p[22] << 16 | (uint32_t)p[23] << 24;
	}
	qsort(e, k, sizeof(e[0]), ent_cmp);

	buf_put(&pack, "PACK", 4);
	buf_put_be32(&pack, 2);
	buf_put_be32(&pack, (uint32_t)k);
	buf_put(&pack, data + 1 + k * ENTRY_LEN, size - 1 - k * ENTRY_LEN);
	for (int i = 0; i < PACK_OID_LEN; i++)
		buf_putc(&pack, '\0');

	buf_put(&idx, "\377tOc", 4);
	buf_put_be32(&idx, 2);
	for (size_t i = 0; i < k; i++)
		for (unsigned b = e[i].oid[0]; b < 256; b++)
			fan[b]++;
	for (unsigned b = 0; b < 256; b++)
		buf_put_be32(&idx, fan[b]);
	for (size_t i = 0; i < k; i++)
		buf_put(&idx, e[i].oid, PACK_OID_LEN);
	for (size_t i = 0; i < k; i++)
		buf_put_be32(&idx,
		             0); /* CRC-32s: the reader does not use them */
	for (size_t i = 0; i < k; i++)
		buf_put_be32(&idx, e[i].off & 0x80000000u
		                       ? 0x80000000u | (uint32_t)n64++
		                       : e[i].off);
	for (size_t i = 0; i < k; i++)
		if (e[i].off & 0x80000000u) {
			buf_put_be32(&idx, 0);
			buf_put_be32(&idx, e[i].off);
		}
	for (int i = 0; i < 2 * PACK_OID_LEN; i++)
		buf_putc(&idx, '\0');

	pr = pack_reader_open_mem((const unsigned char *)idx.data, idx.len,
	                          (const unsigned char *)pack.data, pack.len);
	if (pack_reader_packs(pr) != 1) {
		fprintf(stderr, "fuzz_pack: a well-formed .idx was refused\n");
		abort();
	}
	for (size_t i = 0; i < k; i++) {
		enum pack_type t, ht;
		unsigned char *obj;
		size_t len, hlen;

		if (pack_reader_read(pr, e[i].oid, &t, &obj, &len) != 0)
			continue;
		if (obj[len] != '\0' ||
		    pack_reader_header(pr, e[i].oid, &ht, &hlen) != 0 ||
		    ht != t || hlen != len) {
			fprintf(stderr,
			        "fuzz_pack: read and header disagree\n");
			abort();
		}
		free(obj);
	}
	pack_reader_close(pr);
	buf_free(&idx);
	buf_free(&pack);
	return 0;
}
