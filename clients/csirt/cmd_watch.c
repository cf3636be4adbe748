/*
 * cmd_watch.c - `csirt watch`: follows the ledger live through the
 * WatchEvents long-poll, one line per event the caller may see (seq, time,
 * actor, type, case), or one compact JSON HistoryEntry per line (--json).
 *
 * It keeps no state but the cursor: each answer's last_seq is the next
 * after_seq, so nothing is printed twice or skipped however the polls and
 * the server's batches interleave.  It runs until interrupted, or until
 * --count events were printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))

enum { O_AFTER = 1, O_COUNT };

/* A decimal number with nothing after it. */
static int
watch_number(uint64_t *out, const char *s)
{
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
watch_print(const struct cli *cli, const Csirt__V1__HistoryEntry *h)
{
	const Csirt__V1__Event *e = h->event;
	struct buf b = BUF_INIT;

	if (cli->json) {
		if (codec_to_json(&b, &h->base, 0) != 0) {
			buf_free(&b);
			cli_err("watch: cannot encode an event as JSON");
			return CLI_EFAIL;
		}
		printf("%s\n", b.data);
		buf_free(&b);
	} else if (e != NULL) {
		printf("%llu %s %s %s %s\n", (unsigned long long)e->seq,
		       e->time, e->actor, e->type,
		       e->case_id[0] != '\0' ? e->case_id : "-");
	}
	return CLI_OK;
}

int
cmd_watch(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"after", required_argument, NULL, O_AFTER},
	    {"count", required_argument, NULL, O_COUNT},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__WatchEventsRequest *req =
	    NEW(Csirt__V1__WatchEventsRequest,
	        csirt__v1__watch_events_request__descriptor);
	Csirt__V1__WatchEventsResponse *resp = NULL;
	uint64_t count = 0, printed = 0;
	int ch, rc = CLI_EUSAGE;

	while ((ch = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case O_AFTER:
			if (watch_number(&req->after_seq, optarg) != 0) {
				rc = cli_usage("watch", "--after takes a "
				                        "sequence number");
				goto done;
			}
			break;
		case O_COUNT:
			if (watch_number(&count, optarg) != 0 || count == 0) {
				rc = cli_usage("watch", "--count takes a "
				                        "positive number");
				goto done;
			}
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("watch", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (optind < argc) {
		rc = cli_usage("watch", "unexpected argument");
		goto done;
	}
	for (;;) {
		if ((rc = cli_rpc(cli, "CaseService/WatchEvents", &req->base,
		                  &csirt__v1__watch_events_response__descriptor,
		                  (ProtobufCMessage **)&resp)) != CLI_OK)
			goto done;
		for (size_t i = 0; i < resp->n_entries; i++) {
			if ((rc = watch_print(cli, resp->entries[i])) != CLI_OK)
				goto done;
			if (count != 0 && ++printed == count)
				goto done;
		}
		fflush(stdout);
		req->after_seq = resp->last_seq;
		codec_free(&resp->base);
		resp = NULL;
	}
done:
	fflush(stdout);
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}
