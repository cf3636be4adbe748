/*
 * fuzz_common.c - the request table and the codec round-trip check shared
 * by the fuzz targets (see fuzz.h).  Linked into each target; never into
 * the daemon.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "fuzz.h"
#include "util.h"

#define FUZZ_REQUESTS_MAX 64 /* the selector's six bits */

/* Fixed order: the committed seeds start with an index into this list. */
static const ProtobufCMessageDescriptor *const fuzz_known[] = {
    &csirt__v1__report_incident_request__descriptor,
    &csirt__v1__get_case_request__descriptor,
    &csirt__v1__list_cases_request__descriptor,
    &csirt__v1__update_case_request__descriptor,
    &csirt__v1__case_action_request__descriptor,
    &csirt__v1__assign_investigators_request__descriptor,
    &csirt__v1__add_note_request__descriptor,
    &csirt__v1__edit_note_request__descriptor,
    &csirt__v1__get_note_versions_request__descriptor,
    &csirt__v1__get_history_request__descriptor,
    &csirt__v1__who_am_irequest__descriptor,
    &csirt__v1__create_division_request__descriptor,
    &csirt__v1__list_divisions_request__descriptor,
    &csirt__v1__create_user_request__descriptor,
    &csirt__v1__update_user_request__descriptor,
    &csirt__v1__disable_user_request__descriptor,
    &csirt__v1__list_users_request__descriptor,
    &csirt__v1__issue_token_request__descriptor,
    &csirt__v1__list_tokens_request__descriptor,
    &csirt__v1__revoke_token_request__descriptor,
};

static const ProtobufCServiceDescriptor *const fuzz_services[] = {
    &csirt__v1__case_service__descriptor,
    &csirt__v1__directory_service__descriptor,
    &csirt__v1__evidence_service__descriptor, /* issue 6 */
};

static const ProtobufCMessageDescriptor *fuzz_table[FUZZ_REQUESTS_MAX];
static size_t fuzz_table_len;

static void
fuzz_table_add(const ProtobufCMessageDescriptor *d)
{
	for (size_t i = 0; i < fuzz_table_len; i++)
		if (fuzz_table[i] == d)
			return;
	if (fuzz_table_len == FUZZ_REQUESTS_MAX) {
		fprintf(stderr, "fuzz: more than %d request types\n",
		        FUZZ_REQUESTS_MAX);
		abort();
	}
	fuzz_table[fuzz_table_len++] = d;
}

const ProtobufCMessageDescriptor *const *
fuzz_requests(size_t *n)
{
	if (fuzz_table_len == 0) {
		for (size_t i = 0; i < UTIL_ARRAY_LEN(fuzz_known); i++)
			fuzz_table_add(fuzz_known[i]);
		/* A method added to a service is fuzzed without editing
		 * this file (its selector comes after the listed ones). */
		for (size_t s = 0; s < UTIL_ARRAY_LEN(fuzz_services); s++)
			for (unsigned m = 0; m < fuzz_services[s]->n_methods;
			     m++)
				fuzz_table_add(
				    fuzz_services[s]->methods[m].input);
	}
	*n = fuzz_table_len;
	return fuzz_table;
}

const ProtobufCMessageDescriptor *
fuzz_request_select(uint8_t selector, unsigned *flags)
{
	size_t n;
	const ProtobufCMessageDescriptor *const *t = fuzz_requests(&n);

	*flags = 0;
	if (selector & 0x40)
		*flags |= CODEC_PRETTY;
	if (selector & 0x80)
		*flags |= CODEC_EMIT_DEFAULTS;
	return t[(selector & 0x3f) % n];
}

int
fuzz_request_selector(const ProtobufCMessageDescriptor *desc, unsigned flags)
{
	size_t n;
	const ProtobufCMessageDescriptor *const *t = fuzz_requests(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i] == desc)
			return (int)i | ((flags & CODEC_PRETTY) ? 0x40 : 0) |
			       ((flags & CODEC_EMIT_DEFAULTS) ? 0x80 : 0);
	return -1;
}

static void fuzz_fail(const ProtobufCMessage *msg, const char *what,
                      const struct buf *a, const struct buf *b)
    __attribute__((noreturn));

static void
fuzz_fail(const ProtobufCMessage *msg, const char *what, const struct buf *a,
          const struct buf *b)
{
	fprintf(stderr, "fuzz: %s: %s (last error: %s)\n",
	        msg->descriptor->name, what, csirt_error_msg());
	if (a != NULL && a->data != NULL)
		fprintf(stderr, "fuzz: first (%zu bytes): %.*s\n", a->len,
		        (int)a->len, a->data);
	if (b != NULL && b->data != NULL)
		fprintf(stderr, "fuzz: second (%zu bytes): %.*s\n", b->len,
		        (int)b->len, b->data);
	abort();
}

static bool
fuzz_buf_eq(const struct buf *a, const struct buf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Whether `msg` or any message inside it kept fields unknown to its
 * descriptor (protobuf keeps and re-packs them; JSON cannot carry them). */
static bool
fuzz_has_unknown(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	if (msg->n_unknown_fields > 0)
		return true;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *member = (const char *)msg + f->offset;
		ProtobufCMessage *const *subs;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)((const char *)msg +
		                                      f->quantifier_offset) !=
		        f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(
			    const size_t *)(const void *)((const char *)msg +
			                                  f->quantifier_offset);
			subs = *(ProtobufCMessage *const *const *)(const void *)
			           member;
		} else {
			subs = (ProtobufCMessage *const *)(const void *)member;
		}
		for (size_t k = 0; k < n; k++)
			if (subs[k] != NULL && fuzz_has_unknown(subs[k]))
				return true;
	}
	return false;
}

/* codec_to_json() writes the JSON jansson printed before codec wrote it
 * itself (the ledger's files): jansson, reading it back, prints the same
 * bytes. */
static void
fuzz_jansson_agrees(const ProtobufCMessage *msg, const struct buf *js,
                    unsigned flags)
{
	size_t jflags =
	    JSON_PRESERVE_ORDER |
	    ((flags & CODEC_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT);
	json_t *v = json_loadb(js->data, js->len, 0, NULL);
	struct buf again = BUF_INIT;
	char *text = v != NULL ? json_dumps(v, jflags) : NULL;

	if (text == NULL)
		fuzz_fail(msg, "jansson cannot read codec_to_json's output", js,
		          NULL);
	buf_puts(&again, text);
	if (flags & CODEC_PRETTY)
		buf_putc(&again, '\n');
	if (!fuzz_buf_eq(js, &again))
		fuzz_fail(msg,
		          "jansson prints codec_to_json's output otherwise", js,
		          &again);
	free(text);
	json_decref(v);
	buf_free(&again);
}

void
fuzz_codec_roundtrip(const ProtobufCMessage *msg, unsigned flags)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	struct buf pb = BUF_INIT, pb2 = BUF_INIT, js = BUF_INIT, js2 = BUF_INIT;
	ProtobufCMessage *m2 = NULL, *m3 = NULL;

	if (codec_pack(&pb, msg) != 0)
		fuzz_fail(msg, "codec_pack failed", NULL, NULL);
	if (codec_unpack(&m2, desc, pb.data, pb.len, NULL) != 0)
		fuzz_fail(msg, "its protobuf encoding does not decode", NULL,
		          NULL);
	if (codec_pack(&pb2, m2) != 0 || !fuzz_buf_eq(&pb, &pb2))
		fuzz_fail(msg, "protobuf re-encoding differs", NULL, NULL);

	if (codec_to_json(&js, msg, flags) != 0)
		fuzz_fail(msg, "codec_to_json failed on a decoded message",
		          NULL, NULL);
	fuzz_jansson_agrees(msg, &js, flags);
	if (codec_from_json(&m3, desc, js.data, js.len, NULL) != 0)
		fuzz_fail(msg, "its JSON does not parse back", &js, NULL);
	if (codec_to_json(&js2, m3, flags) != 0 || !fuzz_buf_eq(&js, &js2))
		fuzz_fail(msg, "JSON re-encoding differs", &js, &js2);
	if (!fuzz_has_unknown(msg)) {
		buf_reset(&pb2);
		if (codec_pack(&pb2, m3) != 0 || !fuzz_buf_eq(&pb, &pb2))
			fuzz_fail(msg,
			          "protobuf of the JSON round trip differs",
			          &js, NULL);
	}
	codec_free(m2);
	codec_free(m3);
	buf_free(&pb);
	buf_free(&pb2);
	buf_free(&js);
	buf_free(&js2);
}
