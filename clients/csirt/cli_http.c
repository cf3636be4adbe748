/*
 * cli_http.c - the CLI's HTTP/1.1 client: parses the server URL, connects
 * (every address getaddrinfo gives, in turn), wraps the socket in TLS for
 * https:// (crypto.c verifies the certificate and host name; nothing here
 * can skip that), sends one POST with Connection: close and reads the
 * response framed by Content-Length.
 *
 * It never retries a request (a command may not be idempotent) and never
 * follows redirects.  Every error message names the URL tried.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli_http.h"
#include "crypto.h"
#include "error.h"

#define CLI_HTTP_TIMEOUT_S 60
#define CLI_HTTP_MAX_HEADER (64 * 1024)
#define CLI_HTTP_MAX_BODY (256u * 1024 * 1024)

struct cli_url {
	int tls;
	char host[256];
	char port[16];
	char prefix[1024];
};

static int
cli_http_url_parse(struct cli_url *u, const char *url)
{
	const char *p, *host, *end;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		snprintf(u->port, sizeof(u->port), "80");
	} else if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		u->tls = 1;
		snprintf(u->port, sizeof(u->port), "443");
	} else
		return csirt_error_set(CSIRT_EINVAL,
		                       "server URL %s: must start with "
		                       "http:// or https://",
		                       url);
	if (*p == '[') {
		host = p + 1;
		end = strchr(host, ']');
		if (end == NULL)
			return csirt_error_set(
			    CSIRT_EINVAL, "server URL %s: unclosed [", url);
		hlen = (size_t)(end - host);
		p = end + 1;
	} else {
		host = p;
		hlen = strcspn(p, ":/");
		p += hlen;
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return csirt_error_set(CSIRT_EINVAL,
		                       "server URL %s: no host name", url);
	memcpy(u->host, host, hlen);
	if (*p == ':') {
		size_t plen = strcspn(p + 1, "/");

		if (plen == 0 || plen >= sizeof(u->port) ||
		    strspn(p + 1, "0123456789") != plen)
			return csirt_error_set(CSIRT_EINVAL,
			                       "server URL %s: bad port", url);
		memcpy(u->port, p + 1, plen);
		u->port[plen] = '\0';
		p += 1 + plen;
	}
	if (*p != '\0' && *p != '/')
		return csirt_error_set(CSIRT_EINVAL, "server URL %s: bad host",
		                       url);
	snprintf(u->prefix, sizeof(u->prefix), "%s", p);
	/* The request path supplies the slash. */
	hlen = strlen(u->prefix);
	while (hlen > 0 && u->prefix[hlen - 1] == '/')
		u->prefix[--hlen] = '\0';
	return 0;
}

static int
cli_http_connect(int *out, const struct cli_url *u, const char *url)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {CLI_HTTP_TIMEOUT_S, 0};
	int fd = -1, err = 0, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "cannot resolve %s (from %s): %s",
		                       u->host, url, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "cannot connect to %s: %s", url,
		                       strerror(err));
	*out = fd;
	return 0;
}

struct cli_conn {
	int fd;
	struct crypto_tls_client *tls;
	const char *url;
};

static int
cli_conn_write(struct cli_conn *c, const void *data, size_t len)
{
	const char *p = data;

	if (c->tls != NULL)
		return crypto_tls_client_write(c->tls, data, len) == 0
		           ? 0
		           : csirt_error_wrap(CSIRT_EUNAVAILABLE, "%s", c->url);
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "sending to %s: %s", c->url,
			                       strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads everything until the server closes (we sent Connection: close). */
static int
cli_conn_read_all(struct cli_conn *c, struct buf *out)
{
	char chunk[16384];

	for (;;) {
		long n;

		if (c->tls != NULL) {
			n = crypto_tls_client_read(c->tls, chunk,
			                           sizeof(chunk));
			if (n < 0)
				return csirt_error_wrap(CSIRT_EUNAVAILABLE,
				                        "%s", c->url);
		} else {
			n = recv(c->fd, chunk, sizeof(chunk), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return csirt_error_set(
				    CSIRT_EUNAVAILABLE, "reading from %s: %s",
				    c->url,
				    errno == EAGAIN || errno == EWOULDBLOCK
				        ? "timed out"
				        : strerror(errno));
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n >
		    CLI_HTTP_MAX_HEADER + CLI_HTTP_MAX_BODY)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "%s: response too large",
			                       c->url);
		buf_put(out, chunk, (size_t)n);
	}
}

/* Splits the raw response into status, Content-Type and body. */
static int
cli_http_parse(struct cli_http_resp *resp, const struct buf *raw,
               const char *url, int tls)
{
	const char *end, *line, *next;
	long long clen = -1;
	size_t hlen, blen;
	int chunked = 0;

	end = raw->len > 0 ? strstr(raw->data, "\r\n\r\n") : NULL;
	if (end == NULL ||
	    sscanf(raw->data, "HTTP/1.%*1[01] %3d", &resp->status) != 1)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "%s did not answer with HTTP/1.1 (is "
		                       "it csirtd%s?)",
		                       url,
		                       strncmp(url, "http:", 5) == 0
		                           ? ", and does it need https://"
		                           : "");
	hlen = (size_t)(end - raw->data) + 4;
	for (line = strstr(raw->data, "\r\n") + 2; line < end;
	     line = next + 2) {
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtoll(line + 15, NULL, 10);
		else if (strncasecmp(line, "Content-Type:", 13) == 0) {
			const char *v = line + 13;
			while (*v == ' ')
				v++;
			snprintf(resp->content_type, sizeof(resp->content_type),
			         "%.*s", (int)(next - v), v);
		} else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
			chunked = 1;
	}
	if (chunked)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "%s answered with chunked encoding, "
		                       "which csirtd never sends",
		                       url);
	blen = raw->len - hlen;
	/* Over TLS the end of the stream is not authenticated (no
	 * close_notify from libevent), so the length must be. */
	if (clen < 0 && tls)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "%s: response without Content-Length",
		                       url);
	if (clen >= 0) {
		if ((unsigned long long)clen > blen)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "%s: response cut short (%zu of "
			                       "%lld bytes)",
			                       url, blen, clen);
		blen = (size_t)clen;
	}
	buf_put(&resp->body, raw->data + hlen, blen);
	return 0;
}

int
cli_http_post(struct cli_http_resp *resp, const struct cli_http_req *req)
{
	struct cli_conn c = {-1, NULL, req->url};
	struct buf head = BUF_INIT, raw = BUF_INIT;
	struct cli_url u;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if ((rc = cli_http_url_parse(&u, req->url)) != 0)
		goto done;
	if ((rc = cli_http_connect(&c.fd, &u, req->url)) != 0)
		goto done;
	if (u.tls && (rc = crypto_tls_client_connect(&c.tls, c.fd, u.host,
	                                             req->cafile)) != 0) {
		rc = csirt_error_wrap(CSIRT_EUNAVAILABLE, "%s", req->url);
		goto done;
	}
	buf_printf(&head, "POST %s%s HTTP/1.1\r\n", u.prefix, req->path);
	if (strchr(u.host, ':') != NULL)
		buf_printf(&head, "Host: [%s]:%s\r\n", u.host, u.port);
	else
		buf_printf(&head, "Host: %s:%s\r\n", u.host, u.port);
	buf_printf(&head,
	           "User-Agent: csirt/%s\r\nConnection: close\r\n"
	           "Content-Type: %s\r\nAccept: %s\r\n"
	           "Content-Length: %zu\r\n",
	           CSIRT_VERSION, req->content_type, req->content_type,
	           req->body_len);
	if (req->token != NULL)
		buf_printf(&head, "Authorization: Bearer %s\r\n", req->token);
	buf_puts(&head, "\r\n");
	buf_put(&head, req->body, req->body_len);
	if ((rc = cli_conn_write(&c, head.data, head.len)) != 0 ||
	    (rc = cli_conn_read_all(&c, &raw)) != 0 ||
	    (rc = cli_http_parse(resp, &raw, req->url, u.tls)) != 0)
		goto done;
	rc = 0;
done:
	crypto_tls_client_free(c.tls);
	if (c.fd >= 0)
		close(c.fd);
	if (head.data != NULL)
		crypto_wipe(head.data, head.len); /* holds the token */
	buf_free(&head);
	buf_free(&raw);
	if (rc != 0)
		buf_free(&resp->body);
	return rc;
}
