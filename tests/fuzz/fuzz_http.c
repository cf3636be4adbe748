/*
 * fuzz_http.c - libFuzzer target: the HTTP/1.1 request-head parser
 * (http.c), as server.c drives it: find the end of the head in the bytes
 * received so far, parse it in place, decode the path, then the next
 * pipelined head after the declared (or chunked) body.
 *
 * The first byte picks small limits (so that they are reached), the rest
 * is the byte stream.  Aborts on an inconsistency: a head length outside
 * the input, a parsed head whose strings leave it, a body over the limit,
 * or a decoded path with a NUL inside.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

static void
check_in(const char *s, const char *head, size_t len)
{
	if (s < head || s + strlen(s) >= head + len)
		abort();
}

/* Decodes a chunked body at data[*off..size), fed in growing prefixes
 * as bytes would arrive; 0 with *off past it when complete. */
static int
dechunk(const uint8_t *data, size_t size, size_t *off,
        const struct http_limits *lim)
{
	struct http_chunked st = {0};
	struct http_error err;
	size_t have = *off, pos = *off;
	uint64_t total = 0;

	for (;;) {
		const char *p;
		size_t dlen;
		bool done;
		long used =
		    http_chunked_next(&st, (const char *)data + pos, have - pos,
		                      &p, &dlen, &done, lim, &err);

		if (used < 0)
			return -1;
		if ((size_t)used > have - pos || dlen > (size_t)used ||
		    (dlen > 0 && p != (const char *)data + pos))
			abort();
		total += dlen;
		if (total > lim->max_body_bytes)
			abort();
		pos += (size_t)used;
		if (done) {
			*off = pos;
			return 0;
		}
		if (used == 0) {
			if (have == size)
				return -1;
			have += (size - have + 1) / 2;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim;
	struct http_request req;
	struct http_error err;
	char path[HTTP_MAX_PATH];
	size_t off = 1;

	if (size < 1)
		return 0;
	lim.max_header_bytes = 1024u << (data[0] & 3);
	lim.max_body_bytes = (size_t)64 << ((data[0] >> 2) & 7);
	while (off < size) {
		const char *p = (const char *)data + off;
		size_t n = size - off;
		long end = http_head_end(p, n, &lim, &err);
		char *head;

		if (end < 0) {
			if (err.code == NULL || err.msg == NULL)
				abort();
			break;
		}
		if (end == 0 || (size_t)end > n)
			break;
		/* In place, as the server does, on its own copy. */
		head = malloc((size_t)end + 1);
		if (head == NULL)
			abort();
		memcpy(head, p, (size_t)end);
		head[end] = '\0';
		if (http_parse_head(&req, head, (size_t)end, &lim, &err) != 0) {
			free(head);
			break;
		}
		check_in(req.method, head, (size_t)end);
		check_in(req.target, head, (size_t)end);
		for (size_t i = 0; i < req.nheaders; i++) {
			check_in(req.headers[i].name, head, (size_t)end);
			check_in(req.headers[i].value, head, (size_t)end);
		}
		if (req.content_length > lim.max_body_bytes ||
		    (req.minor != 0 && req.minor != 1))
			abort();
		if (http_path_decode(path, req.target, &err) == 0 &&
		    strlen(path) >= HTTP_MAX_PATH)
			abort();
		free(head);
		off += (size_t)end;
		if (req.chunked) {
			if (dechunk(data, size, &off, &lim) != 0)
				break;
			continue;
		}
		if (req.content_length > size - off)
			break;
		off += (size_t)req.content_length;
	}
	return 0;
}
