/*
 * cli_rpc.c - one Twirp call from the CLI: packs the request as protobuf,
 * POSTs it to /twirp/csirt.v1.<Service>/<Method>, decodes the reply, and
 * turns every Twirp error into a message that says what went wrong and what
 * to do, and into the CLI's exit code.  Commands never see HTTP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_http.h"
#include "codec.h"
#include "error.h"

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("csirt: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_print_json(const ProtobufCMessage *msg)
{
	struct buf b = BUF_INIT;

	if (codec_to_json(&b, msg, CODEC_PRETTY) != 0) {
		cli_err("cannot print the reply as JSON: %s",
		        csirt_error_msg());
		buf_free(&b);
		return CLI_EFAIL;
	}
	fwrite(b.data, 1, b.len, stdout);
	if (b.len == 0 || b.data[b.len - 1] != '\n')
		fputc('\n', stdout);
	buf_free(&b);
	return CLI_OK;
}

/* The string value of "key" in a flat JSON object (Twirp's error body),
 * unescaped well enough for a message; NULL if absent.  Caller frees. */
static char *
cli_rpc_json_field(const char *json, const char *key)
{
	struct buf pat = BUF_INIT, out = BUF_INIT;
	const char *p;

	buf_printf(&pat, "\"%s\"", key);
	p = strstr(json, pat.data);
	buf_free(&pat);
	if (p == NULL)
		return NULL;
	p += strlen(key) + 2;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != '"')
		return NULL;
	for (; *p != '\0' && *p != '"'; p++) {
		if (*p != '\\') {
			buf_putc(&out, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			buf_putc(&out, '\n');
			break;
		case 't':
			buf_putc(&out, '\t');
			break;
		case 'u': {
			unsigned v = 0;
			if (sscanf(p + 1, "%4x", &v) != 1)
				break;
			p += 4;
			if (v < 0x80)
				buf_putc(&out, (char)v);
			else if (v < 0x800) {
				buf_putc(&out, (char)(0xc0 | (v >> 6)));
				buf_putc(&out, (char)(0x80 | (v & 0x3f)));
			} else {
				buf_putc(&out, (char)(0xe0 | (v >> 12)));
				buf_putc(&out,
				         (char)(0x80 | ((v >> 6) & 0x3f)));
				buf_putc(&out, (char)(0x80 | (v & 0x3f)));
			}
			break;
		}
		case '\0':
			p--;
			break;
		default:
			buf_putc(&out, *p);
		}
	}
	if (out.data == NULL)
		buf_puts(&out, "");
	return buf_detach(&out);
}

/* What each Twirp code means for the person at the terminal. */
static const struct {
	const char *code;
	int exit;
	const char *what;
	const char *todo;
} cli_rpc_errors[] = {
    {"unauthenticated", CLI_EAUTH, "the server did not accept your token",
     "run `csirt login` again or set CSIRT_TOKEN to a valid token (an "
     "administrator issues tokens with `csirt admin token issue`)"},
    {"permission_denied", CLI_EPERM, "your role may not do this",
     "ask someone whose role allows it (see `csirt help` for who may "
     "do what), or check `csirt whoami`"},
    {"not_found", CLI_ENOTFOUND, "not found",
     "check the id (`csirt list` shows the cases you may see; a case of "
     "another division is reported as not found)"},
    {"bad_route", CLI_ENETWORK, "the server does not know this call",
     "check that the URL points at csirtd and that the client and server "
     "versions match (`csirt --version`)"},
    {"already_exists", CLI_ECONFLICT, "it already exists",
     "choose another name, or look at the existing one"},
    {"failed_precondition", CLI_ECONFLICT,
     "not allowed in the case's current state",
     "see the state with `csirt show ID` and its steps with `csirt history "
     "ID`"},
    {"aborted", CLI_ECONFLICT, "the change conflicted with another one",
     "look at the current state and try again"},
    {"invalid_argument", CLI_EUSAGE, "the server refused the input",
     "correct the value named above (see the command's --help)"},
    {"malformed", CLI_EUSAGE, "the server could not decode the request",
     "this is a client bug or a version mismatch; try --json to see more"},
    {"out_of_range", CLI_EUSAGE, "a value is out of range",
     "correct it (see the command's --help)"},
    {"resource_exhausted", CLI_ENETWORK, "the server is busy",
     "try again in a moment"},
    {"unavailable", CLI_ENETWORK, "the server is unavailable",
     "try again later; if it persists, tell the csirtd operator"},
    {"deadline_exceeded", CLI_ENETWORK, "the server took too long",
     "try again; if it persists, tell the csirtd operator"},
    {"unimplemented", CLI_ENETWORK, "the server does not implement this",
     "upgrade csirtd or use a matching client"},
    {"internal", CLI_ENETWORK, "the server failed",
     "tell the csirtd operator (its log names the request)"},
    {"data_loss", CLI_EFAIL, "the stored content failed verification",
     "it was altered or damaged in storage; tell the csirtd operator "
     "and the auditors"},
};

/* Reports a non-200 reply; returns the exit code. */
static int
cli_rpc_error(const char *method, const struct cli_http_resp *resp)
{
	char *code = NULL, *msg = NULL;
	int rc = CLI_ENETWORK;
	size_t i;

	if (strncmp(resp->content_type, "application/json", 16) == 0) {
		code = cli_rpc_json_field(resp->body.data, "code");
		msg = cli_rpc_json_field(resp->body.data, "msg");
	}
	if (code == NULL) {
		if (resp->status == 413)
			cli_err("%s: the request is too large for the server "
			        "(HTTP 413); shorten the text or ask the "
			        "operator to raise max_body_bytes",
			        method);
		else
			cli_err("%s: HTTP %d without a Twirp error (is the URL "
			        "a csirtd server?)",
			        method, resp->status);
		rc = resp->status == 413 ? CLI_EUSAGE : CLI_ENETWORK;
		goto done;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(cli_rpc_errors); i++)
		if (strcmp(code, cli_rpc_errors[i].code) == 0)
			break;
	if (i == UTIL_ARRAY_LEN(cli_rpc_errors)) {
		cli_err("%s: %s (%s)", method, msg != NULL ? msg : "", code);
		goto done;
	}
	cli_err("%s: %s: %s (%s)\n  what to do: %s", method,
	        cli_rpc_errors[i].what, msg != NULL && *msg ? msg : "-", code,
	        cli_rpc_errors[i].todo);
	rc = cli_rpc_errors[i].exit;
done:
	free(code);
	free(msg);
	return rc;
}

int
cli_rpc(struct cli *cli, const char *method, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **out)
{
	struct cli_http_resp resp;
	struct cli_http_req hreq;
	struct buf body = BUF_INIT, path = BUF_INIT;
	int rc;

	*out = NULL;
	memset(&resp, 0, sizeof(resp));
	if (cli->url == NULL || *cli->url == '\0') {
		cli_err("no server: run `csirt login --url URL`, or set "
		        "CSIRT_URL (e.g. http://127.0.0.1:8080)");
		return CLI_EUSAGE;
	}
	if (cli->token == NULL || *cli->token == '\0') {
		cli_err("no token: run `csirt login`, or set CSIRT_TOKEN");
		return CLI_EAUTH;
	}
	if (codec_pack(&body, req) != 0) {
		cli_err("%s: cannot encode the request: %s", method,
		        csirt_error_msg());
		rc = CLI_EFAIL;
		goto done;
	}
	buf_printf(&path, "/twirp/csirt.v1.%s", method);
	memset(&hreq, 0, sizeof(hreq));
	hreq.url = cli->url;
	hreq.path = path.data;
	hreq.cafile = cli->cafile;
	hreq.content_type = "application/protobuf";
	hreq.token = cli->token;
	hreq.body = body.data;
	hreq.body_len = body.len;
	if ((rc = cli_http_post(&resp, &hreq)) != 0) {
		cli_err("%s", csirt_error_msg());
		rc = rc == CSIRT_EINVAL ? CLI_EUSAGE : CLI_ENETWORK;
		goto done;
	}
	if (resp.status != 200) {
		rc = cli_rpc_error(method, &resp);
		goto done;
	}
	if (codec_unpack(out, rdesc, resp.body.data, resp.body.len, NULL) !=
	    0) {
		cli_err("%s: undecodable reply from %s: %s", method, cli->url,
		        csirt_error_msg());
		rc = CLI_ENETWORK;
		goto done;
	}
	rc = CLI_OK;
done:
	buf_free(&body);
	buf_free(&path);
	buf_free(&resp.body);
	return rc;
}
