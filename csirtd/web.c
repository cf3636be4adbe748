/*
 * web.c - answers for the web client: which embedded asset a path names,
 * its content type and ETag, and the headers every answer carries.
 *
 * The assets are a constant table compiled into the daemon (web_assets.c,
 * generated from clients/web/ by csirtd/web-embed.cmake), looked up by
 * exact name: there is no file system behind a path, so "..", symlinks or
 * an encoded slash can only ever miss.  The pages load nothing but
 * themselves and the Twirp API, which is what the Content-Security-Policy
 * below states and the browser enforces; it must never be relaxed to
 * allow inline script or another origin.
 *
 * Pure functions over constant data: no I/O, no allocation, no HTTP
 * library (server.c sends what web_respond() decides).
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "web.h"

const char web_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'";

static const struct {
	const char *ext;
	const char *type;
} web_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

static const char web_not_found[] = "not found\n";
static const char web_bad_method[] = "method not allowed\n";

const char *
web_content_type(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++) {
		size_t e = strlen(web_types[i].ext);

		if (n > e && strcmp(name + n - e, web_types[i].ext) == 0)
			return web_types[i].type;
	}
	return NULL;
}

bool
web_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
	       strncmp(path, WEB_PREFIX, strlen(WEB_PREFIX)) == 0;
}

const struct web_asset *
web_asset_find(const char *name)
{
	for (const struct web_asset *a = web_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* RFC 9110 §13.1.2: a list of entity tags or "*", compared weakly. */
static bool
web_etag_matches(const char *if_none_match, const char *etag)
{
	const char *p = if_none_match;
	size_t elen = strlen(etag);

	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if ((n == 1 && *p == '*') ||
		    (n == elen && memcmp(p, etag, elen) == 0))
			return true;
		p += n;
	}
	return false;
}

const char *
web_reply_header(const struct web_reply *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void
web_header_add(struct web_reply *out, const char *name, const char *value)
{
	assert(out->n_headers < WEB_HEADERS_MAX);
	out->headers[out->n_headers].name = name;
	out->headers[out->n_headers].value = value;
	out->n_headers++;
}

/* Sent with every answer, errors included: the page may be framed by no
 * one, sniffed into nothing, and leaks no referrer. */
static void
web_security_headers(struct web_reply *out)
{
	web_header_add(out, "Content-Security-Policy", web_csp);
	web_header_add(out, "X-Content-Type-Options", "nosniff");
	web_header_add(out, "Referrer-Policy", "no-referrer");
	web_header_add(out, "X-Frame-Options", "DENY");
	web_header_add(out, "Cross-Origin-Opener-Policy", "same-origin");
	web_header_add(out, "Cross-Origin-Resource-Policy", "same-origin");
}

static void
web_reply_text(struct web_reply *out, int status, const char *text)
{
	out->status = status;
	out->body = text;
	out->len = strlen(text);
	web_header_add(out, "Content-Type", "text/plain; charset=utf-8");
	web_header_add(out, "Cache-Control", "no-store");
}

void
web_respond(struct web_reply *out, const char *method, const char *path,
            const char *if_none_match)
{
	const struct web_asset *a = NULL;
	const char *type = NULL;

	memset(out, 0, sizeof(*out));
	web_security_headers(out);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		web_header_add(out, "Allow", "GET, HEAD");
		web_reply_text(out, 405, web_bad_method);
		return;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		a = web_asset_find("index.html");
	else if (strncmp(path, WEB_PREFIX, strlen(WEB_PREFIX)) == 0)
		a = web_asset_find(path + strlen(WEB_PREFIX));
	if (a != NULL)
		type = web_content_type(a->name);
	if (a == NULL || type == NULL) {
		web_reply_text(out, 404, web_not_found);
		return;
	}
	/* Names carry no content hash, so the browser revalidates each
	 * time and gets a 304 while the daemon's build is unchanged. */
	web_header_add(out, "Cache-Control", "no-cache");
	web_header_add(out, "ETag", a->etag);
	if (if_none_match != NULL && web_etag_matches(if_none_match, a->etag)) {
		out->status = 304;
		out->body = NULL;
		out->len = 0;
		return;
	}
	web_header_add(out, "Content-Type", type);
	out->status = 200;
	out->body = a->data;
	out->len = a->len;
}
