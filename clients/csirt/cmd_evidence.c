/*
 * cmd_evidence.c - `csirt evidence add|get|list|history|dispose`: digital
 * evidence (issue 6).
 *
 * add streams the file in 1 MiB chunks (never the whole file in memory)
 * after hashing it, shows a progress bar on a terminal (plain progress
 * lines otherwise), and remembers the upload in the config directory so
 * that running the same command again after an interruption resumes where
 * the server says it stopped.  get writes to a temporary file next to the
 * target, checks the SHA-256 of what arrived against the manifest, and
 * only then renames it: a partial or unverified file never carries the
 * final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "crypto.h"
#include "table.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))
#define CHUNK (1u << 20)

/* ---- progress ---------------------------------------------------------- */

struct progress {
	const char *what; /* "upload", "download" */
	uint64_t total;
	int tty;
	int last; /* last percentage (plain) or bar cells (tty) shown */
};

static void
progress_show(struct progress *p, uint64_t done)
{
	int pct = p->total == 0 ? 100 : (int)(done * 100 / p->total);

	if (p->tty) {
		int cells = pct * 30 / 100;
		if (cells == p->last && done != p->total)
			return;
		p->last = cells;
		fprintf(stderr, "\r%s [%.*s%*s] %3d%% %llu/%llu", p->what,
		        cells, "##############################", 30 - cells, "",
		        pct, (unsigned long long)done,
		        (unsigned long long)p->total);
		if (done == p->total)
			fputc('\n', stderr);
	} else {
		/* One line per 10%, and at the end. */
		if (pct / 10 == p->last / 10 && done != p->total)
			return;
		if (done == p->total && p->last == 100)
			return;
		p->last = pct;
		fprintf(stderr, "%s: %llu of %llu bytes (%d%%)\n", p->what,
		        (unsigned long long)done, (unsigned long long)p->total,
		        pct);
	}
	fflush(stderr);
}

/* ---- add --------------------------------------------------------------- */

/* Where an unfinished upload of (case, file digest) is remembered. */
static char *
resume_path(const char *case_id, const char *sha, const char *supersedes)
{
	char *cfg = cli_config_path(), *slash = strrchr(cfg, '/');
	struct buf p = BUF_INIT;

	if (slash != NULL)
		*slash = '\0';
	buf_printf(&p, "%s/uploads", slash != NULL ? cfg : ".");
	util_mkdir_p(p.data, 0700);
	buf_printf(&p, "/%s-%.16s%s%s", case_id, sha,
	           supersedes != NULL ? "-" : "",
	           supersedes != NULL ? supersedes : "");
	free(cfg);
	return buf_detach(&p);
}

static int
file_sha256(char out[CRYPTO_SHA256_HEX_LEN], uint64_t *size, int fd,
            const char *path)
{
	struct crypto_sha256_ctx *c = crypto_sha256_new();
	unsigned char *b = util_xmalloc(CHUNK), d[CRYPTO_SHA256_LEN];
	ssize_t r;

	*size = 0;
	while ((r = read(fd, b, CHUNK)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err("evidence add: reading %s: %s", path,
			        strerror(errno));
			crypto_sha256_final(c, d);
			free(b);
			return CLI_EFAIL;
		}
		crypto_sha256_update(c, b, (size_t)r);
		*size += (uint64_t)r;
	}
	crypto_sha256_final(c, d);
	util_hex(out, d, sizeof(d));
	free(b);
	return CLI_OK;
}

/* The remembered upload, if the server still has it for this file. */
static Csirt__V1__EvidenceUpload *
resume_lookup(struct cli *cli, const char *state, uint64_t size)
{
	Csirt__V1__GetEvidenceUploadRequest *req;
	Csirt__V1__EvidenceUpload *up = NULL;
	char *id = NULL;

	if (access(state, R_OK) != 0 || cli_read_text(&id, state) != CLI_OK)
		return NULL;
	id[strcspn(id, "\n")] = '\0';
	req = NEW(Csirt__V1__GetEvidenceUploadRequest,
	          csirt__v1__get_evidence_upload_request__descriptor);
	codec_set_string(&req->upload_id, id);
	/* The server may have forgotten it (expired, restarted): then its
	 * message says so and a new upload begins. */
	if (cli_rpc(cli, "EvidenceService/GetEvidenceUpload", &req->base,
	            &csirt__v1__evidence_upload__descriptor,
	            (ProtobufCMessage **)&up) != CLI_OK)
		up = NULL;
	codec_free(&req->base);
	free(id);
	if (up != NULL && up->size != size) {
		codec_free(&up->base);
		up = NULL;
	}
	if (up == NULL)
		fprintf(stderr, "starting a new upload\n");
	return up;
}

static int
evidence_add(struct cli *cli, int argc, char **argv)
{
	enum { O_SUPERSEDES = 1, O_REASON, O_CONF, O_NAME, O_TYPE };
	static const struct option opts[] = {
	    {"supersedes", required_argument, NULL, O_SUPERSEDES},
	    {"reason", required_argument, NULL, O_REASON},
	    {"confidentiality", required_argument, NULL, O_CONF},
	    {"name", required_argument, NULL, O_NAME},
	    {"media-type", required_argument, NULL, O_TYPE},
	    {NULL, 0, NULL, 0},
	};
	const char *supersedes = NULL, *reason = NULL, *conf = NULL,
	           *name = NULL, *type = NULL, *path, *case_id;
	Csirt__V1__EvidenceUpload *up = NULL;
	Csirt__V1__EvidenceResponse *done = NULL;
	char sha[CRYPTO_SHA256_HEX_LEN], *state = NULL;
	unsigned char *chunk = NULL;
	struct progress pg = {"upload", 0, 0, -1};
	uint64_t size = 0, at;
	int ch, fd = -1, rc = CLI_EUSAGE, v = 0;

	while ((ch = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case O_SUPERSEDES:
			supersedes = optarg;
			break;
		case O_REASON:
			reason = optarg;
			break;
		case O_CONF:
			conf = optarg;
			break;
		case O_NAME:
			name = optarg;
			break;
		case O_TYPE:
			type = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_usage("evidence", NULL);
		default:
			return CLI_EUSAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage("evidence", "expected a case id and a file");
	if ((supersedes == NULL) != (reason == NULL))
		return cli_usage("evidence",
		                 "a new version needs both "
		                 "--supersedes ID and --reason TEXT");
	if (conf != NULL &&
	    (v = cli_enum_parse(&csirt__v1__confidentiality__descriptor,
	                        "CONFIDENTIALITY_", conf)) < 0) {
		cli_err("evidence add: --confidentiality %s: use low, medium "
		        "or high",
		        conf);
		return CLI_EUSAGE;
	}
	case_id = argv[optind];
	path = argv[optind + 1];
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cli_err("evidence add: %s: %s", path, strerror(errno));
		return CLI_EFAIL;
	}
	if ((rc = file_sha256(sha, &size, fd, path)) != CLI_OK)
		goto done;
	state = resume_path(case_id, sha, supersedes);
	up = resume_lookup(cli, state, size);
	if (up != NULL) {
		fprintf(stderr, "resuming upload %s of %s at %llu bytes\n",
		        up->upload_id, up->evidence_id,
		        (unsigned long long)up->received);
	} else {
		Csirt__V1__BeginEvidenceUploadRequest *req =
		    NEW(Csirt__V1__BeginEvidenceUploadRequest,
		        csirt__v1__begin_evidence_upload_request__descriptor);
		const char *base = strrchr(path, '/');
		codec_set_string(&req->case_id, case_id);
		codec_set_string(&req->name, name != NULL   ? name
		                             : base != NULL ? base + 1
		                                            : path);
		codec_set_string(&req->media_type, type);
		req->size = size;
		codec_set_string(&req->sha256, sha);
		codec_set_string(&req->supersedes, supersedes);
		codec_set_string(&req->reason, reason);
		if (v > 0) {
			req->classification =
			    NEW(Csirt__V1__Classification,
			        csirt__v1__classification__descriptor);
			req->classification->confidentiality =
			    (Csirt__V1__Confidentiality)v;
			req->classification->integrity =
			    CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
			req->classification->availability =
			    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
		}
		rc =
		    cli_rpc(cli, "EvidenceService/BeginEvidenceUpload",
		            &req->base, &csirt__v1__evidence_upload__descriptor,
		            (ProtobufCMessage **)&up);
		codec_free(&req->base);
		if (rc != CLI_OK)
			goto done;
		/* Remembered for a resume; removed once committed. */
		util_write_file_atomic(state, up->upload_id,
		                       strlen(up->upload_id), 0600);
	}
	pg.total = size;
	pg.tty = isatty(STDERR_FILENO);
	chunk = util_xmalloc(CHUNK);
	for (at = up->received; at < size;) {
		Csirt__V1__AppendEvidenceRequest *req =
		    NEW(Csirt__V1__AppendEvidenceRequest,
		        csirt__v1__append_evidence_request__descriptor);
		Csirt__V1__EvidenceUpload *st = NULL;
		size_t want = size - at < CHUNK ? (size_t)(size - at) : CHUNK;
		ssize_t r = pread(fd, chunk, want, (off_t)at);

		if (r != (ssize_t)want) {
			cli_err("evidence add: %s changed while uploading",
			        path);
			codec_free(&req->base);
			rc = CLI_EFAIL;
			goto done;
		}
		codec_set_string(&req->upload_id, up->upload_id);
		req->offset = at;
		req->data.data = chunk;
		req->data.len = want;
		progress_show(&pg, at);
		rc = cli_rpc(cli, "EvidenceService/AppendEvidence", &req->base,
		             &csirt__v1__evidence_upload__descriptor,
		             (ProtobufCMessage **)&st);
		req->data.data = NULL; /* chunk is ours */
		req->data.len = 0;
		codec_free(&req->base);
		if (rc != CLI_OK) {
			cli_err("evidence add: interrupted at %llu of %llu "
			        "bytes; run the same command again to resume",
			        (unsigned long long)at,
			        (unsigned long long)size);
			goto done;
		}
		at = st->received;
		codec_free(&st->base);
	}
	progress_show(&pg, size);
	{
		Csirt__V1__CommitEvidenceUploadRequest *req =
		    NEW(Csirt__V1__CommitEvidenceUploadRequest,
		        csirt__v1__commit_evidence_upload_request__descriptor);
		codec_set_string(&req->upload_id, up->upload_id);
		rc = cli_rpc(cli, "EvidenceService/CommitEvidenceUpload",
		             &req->base,
		             &csirt__v1__evidence_response__descriptor,
		             (ProtobufCMessage **)&done);
		codec_free(&req->base);
	}
	if (rc != CLI_OK)
		goto done;
	unlink(state);
	if (cli->json)
		rc = cli_print_json(&done->base);
	else
		printf("%s  %s %u  sha256 %s  (%s %llu)\n",
		       done->manifest->evidence_id,
		       label(cli->lang, "note.version"),
		       done->manifest->version, done->manifest->sha256,
		       label(cli->lang, "event.seq"),
		       (unsigned long long)done->seq);
done:
	if (fd >= 0)
		close(fd);
	free(chunk);
	free(state);
	codec_free(up != NULL ? &up->base : NULL);
	codec_free(done != NULL ? &done->base : NULL);
	return rc;
}

/* ---- get --------------------------------------------------------------- */

static int
evidence_get(struct cli *cli, int argc, char **argv)
{
	enum { O_VERSION = 1 };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"version", required_argument, NULL, O_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	struct crypto_sha256_ctx *sha = NULL;
	unsigned char d[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX_LEN], want[CRYPTO_SHA256_HEX_LEN] = "";
	struct progress pg = {"download", 0, 0, -1};
	struct buf tmp = BUF_INIT;
	unsigned long version = 0;
	uint64_t at = 0;
	int ch, fd = -1, rc = CLI_EUSAGE;
	bool eof = false;
	char *end;

	while ((ch = cli_getopt(cli, argc, argv, "o:h", opts)) != -1) {
		switch (ch) {
		case 'o':
			output = optarg;
			break;
		case O_VERSION:
			errno = 0;
			version = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || version > 100000)
				return cli_usage("evidence",
				                 "--version takes a number");
			break;
		case CLI_OPT_HELP:
			return cli_usage("evidence", NULL);
		default:
			return CLI_EUSAGE;
		}
	}
	if (argc - optind != 1 || output == NULL)
		return cli_usage("evidence", "expected an evidence id and "
		                             "-o FILE");
	buf_printf(&tmp, "%s.XXXXXX", output);
	if ((fd = mkstemp(tmp.data)) < 0) {
		cli_err("evidence get: cannot create a file next to %s: %s",
		        output, strerror(errno));
		buf_free(&tmp);
		return CLI_EFAIL;
	}
	sha = crypto_sha256_new();
	pg.tty = isatty(STDERR_FILENO);
	while (!eof) {
		Csirt__V1__DownloadEvidenceRequest *req =
		    NEW(Csirt__V1__DownloadEvidenceRequest,
		        csirt__v1__download_evidence_request__descriptor);
		Csirt__V1__DownloadEvidenceResponse *resp = NULL;

		codec_set_string(&req->evidence_id, argv[optind]);
		req->version = (uint32_t)version;
		req->offset = at;
		rc =
		    cli_rpc(cli, "EvidenceService/DownloadEvidence", &req->base,
		            &csirt__v1__download_evidence_response__descriptor,
		            (ProtobufCMessage **)&resp);
		codec_free(&req->base);
		if (rc != CLI_OK)
			goto done;
		if (resp->manifest != NULL)
			snprintf(want, sizeof(want), "%s",
			         resp->manifest->sha256);
		pg.total = resp->size;
		if (util_write_all(fd, resp->data.data, resp->data.len) < 0) {
			cli_err("evidence get: writing %s: %s", tmp.data,
			        strerror(errno));
			codec_free(&resp->base);
			rc = CLI_EFAIL;
			goto done;
		}
		crypto_sha256_update(sha, resp->data.data, resp->data.len);
		at += resp->data.len;
		eof = resp->eof;
		codec_free(&resp->base);
		if (!eof && at == 0) {
			cli_err("evidence get: the server sent nothing");
			rc = CLI_ENETWORK;
			goto done;
		}
		progress_show(&pg, at);
	}
	crypto_sha256_final(sha, d);
	sha = NULL;
	util_hex(hex, d, sizeof(d));
	/* The server verified it; so does the client, end to end. */
	if (strcmp(hex, want) != 0) {
		cli_err("evidence get: the content received does not match "
		        "the manifest's SHA-256 (%s); nothing was written",
		        want);
		rc = CLI_EFAIL;
		goto done;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		cli_err("evidence get: %s: %s", tmp.data, strerror(errno));
		rc = CLI_EFAIL;
		goto done;
	}
	fd = -1;
	if (rename(tmp.data, output) < 0) {
		cli_err("evidence get: %s: %s", output, strerror(errno));
		rc = CLI_EFAIL;
		goto done;
	}
	buf_reset(&tmp);
	if (!cli->json)
		printf("%s  %llu bytes  sha256 %s\n", output,
		       (unsigned long long)at, hex);
	rc = CLI_OK;
done:
	if (sha != NULL)
		crypto_sha256_final(sha, d);
	if (fd >= 0)
		close(fd);
	if (tmp.len > 0)
		unlink(tmp.data);
	buf_free(&tmp);
	return rc;
}

/* ---- list, history, dispose -------------------------------------------- */

static void
size_text(char *out, size_t n, uint64_t size)
{
	snprintf(out, n, "%llu", (unsigned long long)size);
}

static int
evidence_list(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__ListEvidenceRequest *req;
	Csirt__V1__ListEvidenceResponse *resp = NULL;
	struct table *t;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("evidence", NULL)
		                          : CLI_EUSAGE;
	if (argc - optind != 1)
		return cli_usage("evidence", "expected a case id");
	req = NEW(Csirt__V1__ListEvidenceRequest,
	          csirt__v1__list_evidence_request__descriptor);
	codec_set_string(&req->case_id, argv[optind]);
	rc = cli_rpc(cli, "EvidenceService/ListEvidence", &req->base,
	             &csirt__v1__list_evidence_response__descriptor,
	             (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&resp->base);
		codec_free(&resp->base);
		return rc;
	}
	t = table_new(7);
	table_header(t, 0, label(cli->lang, "evidence.id"));
	table_header(t, 1, label(cli->lang, "note.version"));
	table_header(t, 2, label(cli->lang, "evidence.name"));
	table_header(t, 3, label(cli->lang, "evidence.size"));
	table_header(t, 4, label(cli->lang, "classification.confidentiality"));
	table_header(t, 5, label(cli->lang, "evidence.uploaded_at"));
	table_header(t, 6, label(cli->lang, "evidence.disposed"));
	for (size_t i = 0; i < resp->n_items; i++) {
		const Csirt__V1__EvidenceItem *it = resp->items[i];
		const Csirt__V1__EvidenceManifest *m;
		char ver[16], size[32];
		const char *cells[7];

		if (it->n_versions == 0)
			continue;
		m = it->versions[it->n_versions - 1];
		snprintf(ver, sizeof(ver), "%u", m->version);
		size_text(size, sizeof(size), m->size);
		cells[0] = it->evidence_id;
		cells[1] = ver;
		cells[2] = m->name;
		cells[3] = size;
		cells[4] =
		    m->classification != NULL
		        ? cli_enum_label(
		              cli, &csirt__v1__confidentiality__descriptor,
		              (int)m->classification->confidentiality)
		        : "";
		cells[5] = m->uploaded_at;
		cells[6] = it->disposed ? it->disposed_at : "";
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	codec_free(&resp->base);
	return CLI_OK;
}

static int
evidence_history(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__GetEvidenceHistoryRequest *req;
	Csirt__V1__GetEvidenceHistoryResponse *resp = NULL;
	const Csirt__V1__EvidenceItem *it;
	struct table *t;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("evidence", NULL)
		                          : CLI_EUSAGE;
	if (argc - optind != 1)
		return cli_usage("evidence", "expected an evidence id");
	req = NEW(Csirt__V1__GetEvidenceHistoryRequest,
	          csirt__v1__get_evidence_history_request__descriptor);
	codec_set_string(&req->evidence_id, argv[optind]);
	rc = cli_rpc(cli, "EvidenceService/GetEvidenceHistory", &req->base,
	             &csirt__v1__get_evidence_history_response__descriptor,
	             (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	if (rc != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(&resp->base);
		codec_free(&resp->base);
		return rc;
	}
	it = resp->item;
	t = table_new(7);
	table_header(t, 0, label(cli->lang, "note.version"));
	table_header(t, 1, label(cli->lang, "evidence.uploaded_at"));
	table_header(t, 2, label(cli->lang, "evidence.uploader"));
	table_header(t, 3, label(cli->lang, "evidence.name"));
	table_header(t, 4, label(cli->lang, "evidence.size"));
	table_header(t, 5, label(cli->lang, "evidence.sha256"));
	table_header(t, 6, label(cli->lang, "evidence.reason"));
	for (size_t i = 0; it != NULL && i < it->n_versions; i++) {
		const Csirt__V1__EvidenceManifest *m = it->versions[i];
		char ver[16], size[32];
		const char *cells[7];

		snprintf(ver, sizeof(ver), "%u", m->version);
		size_text(size, sizeof(size), m->size);
		cells[0] = ver;
		cells[1] = m->uploaded_at;
		cells[2] = m->uploader;
		cells[3] = m->name;
		cells[4] = size;
		cells[5] = m->sha256;
		cells[6] = m->reason;
		table_add_row(t, cells);
	}
	printf("%s\n", it != NULL ? it->evidence_id : "");
	table_print(t, stdout);
	table_free(t);
	if (it != NULL && it->disposed)
		printf("%s: %s  %s  %s\n",
		       label(cli->lang, "evidence.disposed"), it->disposed_at,
		       it->disposed_by, it->disposal_reason);
	codec_free(&resp->base);
	return CLI_OK;
}

static int
evidence_dispose(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__DisposeEvidenceRequest *req;
	Csirt__V1__EvidenceResponse *resp = NULL;
	const char *reason = NULL;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "m:h", opts)) != -1) {
		if (ch == 'm')
			reason = optarg;
		else
			return ch == CLI_OPT_HELP ? cli_usage("evidence", NULL)
			                          : CLI_EUSAGE;
	}
	if (argc - optind != 1 || reason == NULL)
		return cli_usage("evidence", "expected an evidence id and "
		                             "--reason TEXT");
	req = NEW(Csirt__V1__DisposeEvidenceRequest,
	          csirt__v1__dispose_evidence_request__descriptor);
	codec_set_string(&req->evidence_id, argv[optind]);
	codec_set_string(&req->reason, reason);
	rc = cli_rpc(cli, "EvidenceService/DisposeEvidence", &req->base,
	             &csirt__v1__evidence_response__descriptor,
	             (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	if (rc != CLI_OK)
		return rc;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		printf("%s  %s  (%s %llu)\n", argv[optind],
		       label(cli->lang, "evidence.disposed"),
		       label(cli->lang, "event.seq"),
		       (unsigned long long)resp->seq);
	codec_free(&resp->base);
	return rc;
}

static int
evidence_reclassify(struct cli *cli, int argc, char **argv)
{
	enum { O_CONF = 1, O_INT, O_AVAIL };
	static const struct option opts[] = {
	    {"confidentiality", required_argument, NULL, O_CONF},
	    {"integrity", required_argument, NULL, O_INT},
	    {"availability", required_argument, NULL, O_AVAIL},
	    {"reason", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__ReclassifyEvidenceRequest *req;
	Csirt__V1__EvidenceResponse *resp = NULL;
	const char *reason = NULL, *conf = NULL, *integ = "low", *avail = "low";
	int ch, rc, c, i, a;

	while ((ch = cli_getopt(cli, argc, argv, "m:h", opts)) != -1) {
		switch (ch) {
		case 'm':
			reason = optarg;
			break;
		case O_CONF:
			conf = optarg;
			break;
		case O_INT:
			integ = optarg;
			break;
		case O_AVAIL:
			avail = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_usage("evidence", NULL);
		default:
			return CLI_EUSAGE;
		}
	}
	if (argc - optind != 1 || reason == NULL || conf == NULL)
		return cli_usage("evidence", "expected an evidence id, "
		                             "--confidentiality and --reason");
	c = cli_enum_parse(&csirt__v1__confidentiality__descriptor,
	                   "CONFIDENTIALITY_", conf);
	i = cli_enum_parse(&csirt__v1__integrity__descriptor, "INTEGRITY_",
	                   integ);
	a = cli_enum_parse(&csirt__v1__availability__descriptor,
	                   "AVAILABILITY_", avail);
	if (c <= 0 || i <= 0 || a <= 0) {
		cli_err("evidence reclassify: levels are low, medium or high "
		        "(機密性) and low or high (完全性, 可用性)");
		return CLI_EUSAGE;
	}
	req = NEW(Csirt__V1__ReclassifyEvidenceRequest,
	          csirt__v1__reclassify_evidence_request__descriptor);
	codec_set_string(&req->evidence_id, argv[optind]);
	codec_set_string(&req->reason, reason);
	req->classification = NEW(Csirt__V1__Classification,
	                          csirt__v1__classification__descriptor);
	req->classification->confidentiality = (Csirt__V1__Confidentiality)c;
	req->classification->integrity = (Csirt__V1__Integrity)i;
	req->classification->availability = (Csirt__V1__Availability)a;
	rc = cli_rpc(cli, "EvidenceService/ReclassifyEvidence", &req->base,
	             &csirt__v1__evidence_response__descriptor,
	             (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	if (rc != CLI_OK)
		return rc;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		printf("%s  %s  (%s %llu)\n", argv[optind],
		       cli_enum_label(
		           cli, &csirt__v1__confidentiality__descriptor, c),
		       label(cli->lang, "event.seq"),
		       (unsigned long long)resp->seq);
	codec_free(&resp->base);
	return rc;
}

int
cmd_evidence(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *, int, char **);
	} subs[] = {
	    {"add", evidence_add},         {"get", evidence_get},
	    {"list", evidence_list},       {"history", evidence_history},
	    {"dispose", evidence_dispose}, {"reclassify", evidence_reclassify},
	};
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "+h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("evidence", NULL)
		                          : CLI_EUSAGE;
	if (optind >= argc)
		return cli_usage(
		    "evidence",
		    "expected add, get, list, history, dispose or reclassify");
	argc -= optind;
	argv += optind;
	optind = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subs); i++)
		if (strcmp(argv[0], subs[i].name) == 0)
			return subs[i].fn(cli, argc, argv);
	return cli_usage(
	    "evidence",
	    "expected add, get, list, history, dispose or reclassify");
}
