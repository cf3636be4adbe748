/*
 * config.c - the settings table and the "key = value" file parser.
 *
 * The file is untrusted input: lines are bounded, keys must be known, numbers
 * must parse completely and fall inside each key's limits, and every error
 * names the file and line.  Nothing here touches the network or the disk
 * beyond reading the one file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "mirror.h"
#include "util.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1 << 20)

enum setting_type { SET_STRING, SET_UINT, SET_LOGLEVEL };

/* Setting flags. */
#define SET_EMPTY_OK 0x1 /* a string that may be "" (feature off) */
#define SET_CATLIST 0x2  /* a string that is a list of categories */
#define SET_MIRROR 0x4   /* repeatable: each line adds a mirror, "" clears */

struct setting {
	const char *key;
	enum setting_type type;
	unsigned flags;
	size_t offset;
	uint64_t min, max;
	const char *def;
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct setting settings[] = {
    {"data", SET_STRING, 0, OFF(data_dir), 0, 0, "./var",
     "data directory (ledger.git, index.sqlite, keystore.sqlite, keys/)"},
    {"listen", SET_STRING, 0, OFF(listen), 0, 0, "127.0.0.1:8080",
     "address and port to listen on (port 0 picks a free port)"},
    {"log_level", SET_LOGLEVEL, 0, OFF(log_level), 0, 0, "info",
     "debug, info, warn or error"},
    {"max_body_bytes", SET_UINT, 0, OFF(max_body_bytes), 1024, 64 << 20,
     "2097152", "largest request body accepted"},
    {"max_header_bytes", SET_UINT, 0, OFF(max_header_bytes), 1024, 1 << 20,
     "16384", "largest request header block accepted"},
    {"idle_timeout_s", SET_UINT, 0, OFF(idle_timeout_s), 1, 3600, "30",
     "seconds a connection may idle or dribble before it is closed"},
    {"max_connections", SET_UINT, 0, OFF(max_connections), 1, 1000000, "1024",
     "open client connections; one more is answered resource_exhausted "
     "and closed (keep it under the file-descriptor limit)"},
    {"writer_queue_depth", SET_UINT, 0, OFF(writer_queue_depth), 1, 1000000,
     "4096",
     "commands waiting for the ledger writer before "
     "resource_exhausted"},
    {"writer_batch_max", SET_UINT, 0, OFF(writer_batch_max), 1, 100000, "512",
     "most commands the writer commits in one batch"},
    {"report_delay_limit_min", SET_UINT, 0, OFF(report_delay_limit_min), 1,
     10080, "60",
     "minutes from recognition to report (直ちに) after which a report "
     "is flagged report_late"},
    {"ack_limit_min", SET_UINT, 0, OFF(ack_limit_min), 1, 10080, "30",
     "minutes a report may stay unacknowledged before the daemon records "
     "deadline.missed and marks the case overdue"},
    {"ack_limit_s", SET_UINT, 0, OFF(ack_limit_s), 0, 86400, "0",
     "for testing only: non-zero replaces ack_limit_min, in seconds"},
    {"auto_escalate_categories", SET_STRING, SET_EMPTY_OK | SET_CATLIST,
     OFF(auto_escalate_categories), 0, 0, "1,7",
     "categories (1-7, comma-separated; empty: none) escalated by the "
     "daemon as soon as they are reported"},
    {"tls_cert", SET_STRING, SET_EMPTY_OK, OFF(tls_cert), 0, 0, "",
     "PEM certificate chain (leaf first); set: serve HTTPS only"},
    {"tls_key", SET_STRING, SET_EMPTY_OK, OFF(tls_key), 0, 0, "",
     "PEM private key of tls_cert (unencrypted, readable by csirtd only)"},
    {"tls_client_ca", SET_STRING, SET_EMPTY_OK, OFF(tls_client_ca), 0, 0, "",
     "PEM CA bundle; set: every client must present a certificate it "
     "signed (mTLS)"},
    {"evidence_max_bytes", SET_UINT, 0, OFF(evidence_max_bytes), 1,
     UINT64_C(1) << 40, "4294967296",
     "largest evidence file accepted (bytes of plaintext)"},
    {"evidence_upload_ttl_s", SET_UINT, 0, OFF(evidence_upload_ttl_s), 1,
     30 * 86400, "86400",
     "seconds an unfinished evidence upload may idle before its staging "
     "file is removed"},
    {"evidence_uploads_max", SET_UINT, 0, OFF(evidence_uploads_max), 1, 10000,
     "64", "evidence uploads in progress at once (all users)"},
    /* Signed checkpoints (checkpoint.h). */
    {"checkpoint_events", SET_UINT, 0, OFF(checkpoint_events), 0, 10000000,
     "1000",
     "events after which the daemon commits a signed checkpoint (RFC 6962 "
     "Merkle root of the events); 0: no count trigger"},
    {"checkpoint_interval_s", SET_UINT, 0, OFF(checkpoint_interval_s), 0, 86400,
     "300",
     "seconds after which a checkpoint is committed if events were added "
     "since the last; 0: no time trigger (both 0: no checkpoints)"},
    /* Mirrors (mirror.h). */
    {"mirror", SET_STRING, SET_EMPTY_OK | SET_MIRROR, OFF(mirrors), 0, 0, "",
     "a mirror pushed after each batch, fast-forward only: an absolute "
     "path of a bare repository or an ssh URL (ssh-agent keys); repeat "
     "for more"},
};

static const struct setting *
setting_find(const char *key)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(settings); i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

int
config_category_mask(uint32_t *out, const char *list)
{
	const char *p = list;
	uint32_t mask = 0;

	*out = 0;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p < '1' || *p > '7' || (p[1] >= '0' && p[1] <= '9'))
			return csirt_error_set(CSIRT_EINVAL,
			                       "\"%s\" is not a list of "
			                       "categories 1-7 (e.g. \"1,7\")",
			                       list);
		mask |= 1u << (*p - '0');
		p++;
		while (*p == ' ')
			p++;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return csirt_error_set(CSIRT_EINVAL,
			                       "\"%s\" is not a list of "
			                       "categories 1-7 (e.g. \"1,7\")",
			                       list);
	}
	*out = mask;
	return 0;
}

int64_t
config_ack_limit_ms(const struct config *cfg)
{
	if (cfg->ack_limit_s != 0)
		return (int64_t)cfg->ack_limit_s * 1000;
	return (int64_t)cfg->ack_limit_min * 60 * 1000;
}

int
config_set(struct config *cfg, const char *key, const char *value)
{
	const struct setting *s = setting_find(key);
	char *base = (char *)cfg;

	if (s == NULL)
		return csirt_error_set(CSIRT_EINVAL, "unknown setting \"%s\"",
		                       key);
	switch (s->type) {
	case SET_STRING: {
		char **field = (char **)(void *)(base + s->offset);
		uint32_t mask;
		if (*value == '\0' && !(s->flags & SET_EMPTY_OK))
			return csirt_error_set(CSIRT_EINVAL,
			                       "%s must not be empty", key);
		if ((s->flags & SET_CATLIST) &&
		    config_category_mask(&mask, value) != 0)
			return csirt_error_wrap(CSIRT_EINVAL, "%s", key);
		if ((s->flags & SET_MIRROR) && *value != '\0' && *field &&
		    **field != '\0') {
			struct buf b = BUF_INIT;
			if (mirror_url_check(value) != 0)
				return csirt_error_wrap(CSIRT_EINVAL, "%s",
				                        key);
			buf_printf(&b, "%s\n%s", *field, value);
			free(*field);
			*field = buf_detach(&b);
			break;
		}
		if ((s->flags & SET_MIRROR) && *value != '\0' &&
		    mirror_url_check(value) != 0)
			return csirt_error_wrap(CSIRT_EINVAL, "%s", key);
		free(*field);
		*field = util_strdup(value);
		break;
	}
	case SET_UINT: {
		uint64_t *field = (uint64_t *)(void *)(base + s->offset);
		char *end;
		unsigned long long v;
		errno = 0;
		if (*value < '0' || *value > '9')
			goto badnum;
		v = strtoull(value, &end, 10);
		if (errno != 0 || *end != '\0')
			goto badnum;
		if (v < s->min || v > s->max)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "%s = %llu is out of range %" PRIu64 "..%" PRIu64,
			    key, v, s->min, s->max);
		*field = v;
		break;
	badnum:
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: \"%s\" is not a whole number", key,
		                       value);
	}
	case SET_LOGLEVEL: {
		enum log_level *field =
		    (enum log_level *)(void *)(base + s->offset);
		if (log_level_parse(field, value) < 0)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "log_level: \"%s\" is not one of debug, info, "
			    "warn, error",
			    value);
		break;
	}
	}
	return 0;
}

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(settings); i++) {
		int rc = config_set(cfg, settings[i].key, settings[i].def);
		(void)rc;
		if (rc != 0)
			abort(); /* a bad default is a programming error */
	}
}

void
config_free(struct config *cfg)
{
	free(cfg->data_dir);
	free(cfg->listen);
	free(cfg->listen_host);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_client_ca);
	free(cfg->mirrors);
	free(cfg->auto_escalate_categories);
	memset(cfg, 0, sizeof(*cfg));
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	                 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
config_load_file(struct config *cfg, const char *path)
{
	char *text = NULL, *line, *next;
	size_t len;
	int rc, lineno = 0;

	rc = util_read_file(&text, &len, path, CONFIG_FILE_MAX);
	if (rc != 0)
		return csirt_error_wrap(rc, "config");
	if (!util_utf8_valid(text, len) || strlen(text) != len) {
		rc = csirt_error_set(CSIRT_EINVAL, "%s: not UTF-8 text", path);
		goto done;
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		char *eq, *key, *value;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strlen(line) > CONFIG_LINE_MAX) {
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "%s:%d: line longer than %d bytes",
			                     path, lineno, CONFIG_LINE_MAX);
			goto done;
		}
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "%s:%d: expected \"key = value\"",
			                     path, lineno);
			goto done;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		if ((rc = config_set(cfg, key, value)) != 0) {
			rc = csirt_error_wrap(rc, "%s:%d", path, lineno);
			goto done;
		}
	}
	rc = 0;
done:
	free(text);
	return rc;
}

int
config_tls_enabled(const struct config *cfg)
{
	return cfg->tls_cert != NULL && cfg->tls_cert[0] != '\0';
}

/* The TLS keys come as a set: a certificate without its key (or the
 * reverse) is a mistake, and client certificates make no sense without
 * TLS.  Never fall back to plain HTTP because of a half configuration. */
static int
config_validate_tls(const struct config *cfg)
{
	int has_key = cfg->tls_key[0] != '\0';

	if (config_tls_enabled(cfg) && !has_key)
		return csirt_error_set(CSIRT_EINVAL,
		                       "tls_cert is set but tls_key is not");
	if (!config_tls_enabled(cfg) && has_key)
		return csirt_error_set(CSIRT_EINVAL,
		                       "tls_key is set but tls_cert is not");
	if (!config_tls_enabled(cfg) && cfg->tls_client_ca[0] != '\0')
		return csirt_error_set(
		    CSIRT_EINVAL, "tls_client_ca needs tls_cert and tls_key");
	return 0;
}

int
config_validate(struct config *cfg)
{
	const char *l = cfg->listen, *colon;
	char *end;
	unsigned long port;
	size_t hostlen;
	int rc;

	if ((rc = config_validate_tls(cfg)) != 0)
		return rc;

	if (l[0] == '[') {
		const char *close = strchr(l, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		colon = close + 1;
		hostlen = (size_t)(close - l - 1);
		l++;
	} else {
		colon = strrchr(l, ':');
		if (colon == NULL)
			goto bad;
		hostlen = (size_t)(colon - l);
	}
	if (hostlen == 0 || colon[1] == '\0')
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535 || colon[1] < '0' ||
	    colon[1] > '9')
		goto bad;
	free(cfg->listen_host);
	cfg->listen_host = util_xmalloc(hostlen + 1);
	memcpy(cfg->listen_host, l, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (uint16_t)port;
	return 0;
bad:
	return csirt_error_set(
	    CSIRT_EINVAL,
	    "listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:8080)",
	    cfg->listen);
}

void
config_print(const struct config *cfg, FILE *fp)
{
	const char *base = (const char *)cfg;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(settings); i++) {
		const struct setting *s = &settings[i];
		fprintf(fp, "# %s\n", s->help);
		switch (s->type) {
		case SET_STRING: {
			const char *v =
			    *(char *const *)(const void *)(base + s->offset);
			/* A repeatable key: one line per value. */
			while ((s->flags & SET_MIRROR) && strchr(v, '\n')) {
				fprintf(fp, "%s = %.*s\n", s->key,
				        (int)strcspn(v, "\n"), v);
				v = strchr(v, '\n') + 1;
			}
			fprintf(fp, "%s = %s\n", s->key, v);
			break;
		}
		case SET_UINT:
			fprintf(fp, "%s = %" PRIu64 "\n", s->key,
			        *(const uint64_t *)(const void *)(base +
			                                          s->offset));
			break;
		case SET_LOGLEVEL: {
			static const char *names[] = {"debug", "info", "warn",
			                              "error"};
			fprintf(
			    fp, "%s = %s\n", s->key,
			    names[*(const enum log_level
			                *)(const void *)(base + s->offset)]);
			break;
		}
		}
	}
}
