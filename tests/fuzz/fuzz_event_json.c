/*
 * fuzz_event_json.c - libFuzzer target: what the writer reads back from the
 * ledger when it replays history (writer.c): an event file, parsed with
 * codec_from_json() as csirt.v1.Event, and a commit message, parsed with
 * layout_trailers_parse().  The whole input is tried as both.
 *
 * An accepted event must survive fuzz_codec_roundtrip() with CODEC_PRETTY
 * (the ledger's on-disk form); accepted trailers must print with
 * layout_message() and parse back to the same values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "fuzz.h"
#include "layout.h"
#include "util.h"

static void
fuzz_trailers(const char *message)
{
	struct layout_trailers t, t2;
	struct buf b = BUF_INIT;

	if (layout_trailers_parse(&t, message) != 0)
		return;
	layout_message(&b, "fuzz", &t);
	/* Field by field: a repeated trailer leaves bytes after the NUL. */
	if (layout_trailers_parse(&t2, b.data) != 0 ||
	    strcmp(t.event, t2.event) != 0 ||
	    strcmp(t.case_id, t2.case_id) != 0 || t.seq != t2.seq ||
	    t.case_seq != t2.case_seq || strcmp(t.actor, t2.actor) != 0 ||
	    strcmp(t.role, t2.role) != 0 ||
	    strcmp(t.event_sha256, t2.event_sha256) != 0) {
		fprintf(stderr,
		        "fuzz: trailers do not survive layout_message(): "
		        "%s\n%s\n",
		        csirt_error_msg(), b.data);
		abort();
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *ev = NULL;
	char *text;

	if (codec_from_json(&ev, &csirt__v1__event__descriptor,
	                    (const char *)data, size, NULL) == 0)
		fuzz_codec_roundtrip(ev, CODEC_PRETTY);
	codec_free(ev);

	/* A commit message is a C string: stop at the first NUL. */
	text = util_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_trailers(text);
	free(text);
	return 0;
}
