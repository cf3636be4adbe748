/*
 * fuzz_web.c - libFuzzer target: the web client's answers (web.c) to an
 * untrusted path and If-None-Match header.  The input is "PATH\nHEADER"
 * (no newline: a path alone, no header).  Aborts when an answer breaks
 * what web.c promises: a status of 200, 304 or 404, the CSP and nosniff on
 * every answer, a 200 body that is exactly one embedded asset, and a 304
 * only for an ETag the asset has (or "*").
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "web.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *inm = NULL, *nl;
	const char *csp, *nosniff, *etag;
	struct web_reply r;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	if ((nl = strchr(in, '\n')) != NULL) {
		*nl = '\0';
		inm = nl + 1;
	}
	(void)web_path(in);
	web_respond(&r, "GET", in, inm);
	csp = web_reply_header(&r, "Content-Security-Policy");
	nosniff = web_reply_header(&r, "X-Content-Type-Options");
	etag = web_reply_header(&r, "ETag");
	if (csp == NULL || strcmp(csp, web_csp) != 0 || nosniff == NULL ||
	    r.n_headers > WEB_HEADERS_MAX)
		abort();
	switch (r.status) {
	case 200: {
		const struct web_asset *a = NULL;

		for (const struct web_asset *p = web_assets; p->name != NULL;
		     p++)
			if (p->data == r.body)
				a = p;
		if (a == NULL || a->len != r.len || etag == NULL ||
		    strcmp(etag, a->etag) != 0 ||
		    (inm != NULL && strcmp(inm, a->etag) == 0))
			abort();
		break;
	}
	case 304:
		if (etag == NULL || inm == NULL || r.len != 0 ||
		    (strstr(inm, etag + 1) == NULL && strchr(inm, '*') == NULL))
			abort();
		break;
	case 404:
		if (etag != NULL)
			abort();
		break;
	default:
		abort();
	}
	free(in);
	return 0;
}
