/*
 * config.h - the daemon's configuration: one table of every setting, its
 * default, its limits and its help text.  Sources, in increasing priority:
 * built-in defaults, the config file (--config), command-line flags.
 */
#ifndef CSIRT_CONFIG_H
#define CSIRT_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "log.h"

struct config {
	char *data_dir;
	char *listen; /* "ADDR:PORT"; port 0 picks a free port */
	char *listen_host;
	uint16_t listen_port;
	enum log_level log_level;
	uint64_t max_body_bytes;
	uint64_t max_header_bytes;
	uint64_t idle_timeout_s;
	uint64_t max_connections;
	uint64_t writer_queue_depth;
	uint64_t writer_batch_max;
	/* Deadlines (DESIGN.md §4). */
	uint64_t report_delay_limit_min;
	uint64_t ack_limit_min;
	uint64_t ack_limit_s; /* testing: non-zero replaces the above */
	char *auto_escalate_categories; /* "1,7"; "" none */
	/* TLS (all optional; "" is off).  Checked by crypto_tls_new(), which
	 * csirtd.c calls at start-up and for -n. */
	char *tls_cert;      /* PEM, leaf first then intermediates */
	char *tls_key;       /* PEM private key of tls_cert, unencrypted */
	char *tls_client_ca; /* PEM CA bundle; set: client certs required */
	/* Evidence (issue 6). */
	uint64_t evidence_max_bytes;    /* largest evidence file */
	uint64_t evidence_upload_ttl_s; /* idle staging uploads expire */
	uint64_t evidence_uploads_max;  /* staging uploads at once */
	/* Signed checkpoints: every N events or T seconds (0: off). */
	uint64_t checkpoint_events;
	uint64_t checkpoint_interval_s;
	/* Mirrors: one per line ("" none), each checked by
	 * mirror_url_check(). */
	char *mirrors;
};

/* Fills `cfg` with the defaults; release with config_free(). */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Reads a "key = value" file.  Errors name the file and line. */
int config_load_file(struct config *cfg, const char *path);

/* Sets one key from a string (file line or flag); validates it. */
int config_set(struct config *cfg, const char *key, const char *value);

/* Final cross-field checks; call once after every source is applied.
 * Checks that the TLS keys are given together, not the files themselves. */
int config_validate(struct config *cfg);

/* Prints every key with its effective value and help (for -n and docs). */
void config_print(const struct config *cfg, FILE *fp);

/* Parses a category list ("1,7", "" = none) into bits 1u << category.
 * CSIRT_EINVAL names the list. */
int config_category_mask(uint32_t *out, const char *list);

/* The acknowledgement deadline in ms: ack_limit_s if set, else
 * ack_limit_min. */
int64_t config_ack_limit_ms(const struct config *cfg);

/* Whether the daemon serves HTTPS (tls_cert is set). */
int config_tls_enabled(const struct config *cfg);

#endif
