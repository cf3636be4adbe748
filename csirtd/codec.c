/*
 * codec.c - protobuf binary and proto3 JSON for every csirt.v1 message.
 *
 * Owns the two encodings of a message and the checks that make decoded input
 * safe to hand to the domain: nesting depth, elements per repeated field,
 * bytes per string, UTF-8 in every string, no NUL in strings, enum values
 * defined.  Everything is driven by the generated descriptors; no message
 * type is special-cased here.  This is the only module that includes
 * <protobuf-c/protobuf-c.h> and <jansson.h>.
 *
 * It must never do I/O, never assert on input (bytes from the network are
 * CSIRT_EINVAL with a message naming the field path, e.g.
 * "incident_reported.case.equipment[2].kind: undefined enum value 99"), and
 * never change the JSON it prints for a given message: the ledger stores
 * codec_to_json(..., CODEC_PRETTY) bytes, so that output is an on-disk
 * format.  Fields are printed in the order of the descriptor's `fields`
 * array (protoc-c sorts it by field number), two-space indent, UTF-8 raw.
 *
 * Memory: every message this module returns is laid out exactly as
 * protobuf_c_message_unpack() lays it out (malloc'd strings, arrays,
 * sub-messages and bytes; the shared protobuf_c_empty_string for empty
 * singular strings), so one free routine, codec_free(), releases either.
 */
#include <assert.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "codec.h"
#include "error.h"
#include "util.h"

const struct codec_limits codec_default_limits = {
    .max_depth = 32,
    .max_repeated = 10000,
    .max_string_bytes = 1 << 20,
};

/* Longest user-supplied text (a key, a bad value) quoted in a message. */
#define CODEC_QUOTE_MAX 64

#define CODEC_MEMBER(msg, off) ((void *)((char *)(msg) + (off)))
#define CODEC_CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

/* State carried down one encode or decode: the limits and the path of the
 * field being visited, which every error message starts with. */
struct codec_walk {
	const struct codec_limits *lim;
	struct buf path;
};

/*
 * codec_free() frees with this allocator rather than the default one: it is
 * malloc/free except that the shared empty string is never passed to free().
 * protobuf_c_message_free_unpacked() frees repeated string elements without
 * comparing them to the empty string, so a hand-built message that stored
 * it there (codec_set_string() on an element) would otherwise crash.
 */
static void *
codec_alloc_cb(void *arg, size_t size)
{
	(void)arg;
	return malloc(size);
}

static void
codec_free_cb(void *arg, void *p)
{
	(void)arg;
	if (p != (const void *)protobuf_c_empty_string)
		free(p);
}

static ProtobufCAllocator codec_allocator = {
    .alloc = codec_alloc_cb,
    .free = codec_free_cb,
    .allocator_data = NULL,
};

/* The generated code stores the shared empty string in `char *` fields. */
static char *
codec_empty_string(void)
{
	return (char *)(uintptr_t)protobuf_c_empty_string;
}

/* ---- paths and errors */

static void
codec_walk_init(struct codec_walk *w, const struct codec_limits *lim)
{
	w->lim = lim != NULL ? lim : &codec_default_limits;
	w->path.data = NULL;
	w->path.len = w->path.cap = 0;
}

static size_t
codec_path_push(struct codec_walk *w, const char *name)
{
	size_t mark = w->path.len;

	if (mark > 0)
		buf_putc(&w->path, '.');
	buf_puts(&w->path, name);
	return mark;
}

static size_t
codec_path_push_index(struct codec_walk *w, size_t i)
{
	size_t mark = w->path.len;

	buf_printf(&w->path, "[%zu]", i);
	return mark;
}

static void
codec_path_pop(struct codec_walk *w, size_t mark)
{
	w->path.len = mark;
	if (w->path.data != NULL)
		w->path.data[mark] = '\0';
}

/* Sets CSIRT_EINVAL with "<path>: <message>" and returns it. */
static int codec_fail(struct codec_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
codec_fail(struct codec_walk *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->path.len == 0)
		return csirt_error_set(CSIRT_EINVAL, "%s", msg);
	return csirt_error_set(CSIRT_EINVAL, "%s: %s", w->path.data, msg);
}

/*
 * Copies untrusted text into `dst` for quoting in an error message (which
 * ends up in a JSON Twirp error, so it must stay valid UTF-8): control bytes
 * become '?', invalid UTF-8 is replaced byte by byte, and long text is cut
 * at a character boundary.
 */
static const char *
codec_quote(char *dst, size_t size, const char *src, size_t len)
{
	bool utf8 = util_utf8_valid(src, len);
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
			dst[o++] = '?';
		} else if (c >= 0xc0) {
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (o + n + 4 >= size)
				break;
			memcpy(dst + o, src + i, n);
			o += n;
			i += n - 1;
		} else {
			dst[o++] = (char)c;
		}
		if (o >= CODEC_QUOTE_MAX && i + 1 < len) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
	}
	dst[o] = '\0';
	return dst;
}

static const char *
codec_json_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* ---- descriptor helpers */

static size_t
codec_elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

static bool
codec_is_oneof(const ProtobufCFieldDescriptor *f)
{
	return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* True for the oneof members that are not the selected one: their storage
 * is shared with the selected member and must not be read. */
static bool
codec_oneof_unselected(const ProtobufCMessage *msg,
                       const ProtobufCFieldDescriptor *f)
{
	return codec_is_oneof(f) && *(const uint32_t *)CODEC_CMEMBER(
	                                msg, f->quantifier_offset) != f->id;
}

/* proto3 default: 0, "", false, first enum value 0, empty bytes, unset
 * message.  -0.0 is not the default (it prints differently). */
static bool
codec_is_default(const ProtobufCFieldDescriptor *f, const void *elem)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return *(const int32_t *)elem == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const int64_t *)elem == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)elem == 0 &&
		       !signbit(*(const float *)elem);
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)elem == 0 &&
		       !signbit(*(const double *)elem);
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)elem == 0;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)elem;
		return s == NULL || *s == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)elem)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)elem == NULL;
	}
	return true;
}

/* Whether a singular field is printed without CODEC_EMIT_DEFAULTS. */
static bool
codec_field_present(const ProtobufCMessage *msg,
                    const ProtobufCFieldDescriptor *f)
{
	const void *member = CODEC_CMEMBER(msg, f->offset);

	if (codec_is_oneof(f))
		return !codec_oneof_unselected(msg, f);
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return true;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->type == PROTOBUF_C_TYPE_STRING ||
		    f->type == PROTOBUF_C_TYPE_MESSAGE) {
			const void *p = *(const void *const *)member;
			return p != NULL && p != f->default_value;
		}
		return *(const protobuf_c_boolean *)CODEC_CMEMBER(
		    msg, f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE:
	case PROTOBUF_C_LABEL_REPEATED:
		break;
	}
	return !codec_is_default(f, member);
}

/* Matches a JSON key against the proto name ("recognized_at") and the
 * lowerCamelCase JSON name protoc derives from it ("recognizedAt"). */
static bool
codec_name_matches(const char *key, const char *name)
{
	bool upper = false;

	if (strcmp(key, name) == 0)
		return true;
	for (const char *n = name; *n != '\0'; n++) {
		char c = *n;

		if (c == '_') {
			upper = true;
			continue;
		}
		if (upper && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		upper = false;
		if (*key++ != c)
			return false;
	}
	return *key == '\0';
}

static const ProtobufCFieldDescriptor *
codec_field_lookup(const ProtobufCMessageDescriptor *desc, const char *key)
{
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (codec_name_matches(key, desc->fields[i].name))
			return &desc->fields[i];
	return NULL;
}

/* ---- base64 (RFC 4648): standard with padding out; either alphabet, with
 * or without padding, in. */

static const char codec_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
codec_base64_encode(struct buf *out, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;
		char q[4];

		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		q[0] = codec_b64[(v >> 18) & 63];
		q[1] = codec_b64[(v >> 12) & 63];
		q[2] = n > 1 ? codec_b64[(v >> 6) & 63] : '=';
		q[3] = n > 2 ? codec_b64[v & 63] : '=';
		buf_put(out, q, 4);
	}
}

static int
codec_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes into a malloc'd buffer (NULL when empty); -1 on bad input. */
static int
codec_base64_decode(uint8_t **out, size_t *outlen, const char *s, size_t len)
{
	uint8_t *p = NULL;
	size_t n = len, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (n > 0 && s[n - 1] == '=') {
		if (len % 4 != 0)
			return -1;
		n--;
		if (n > 0 && s[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return -1;
	if (n == 0)
		return 0;
	p = util_xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = codec_base64_value(s[i]);

		if (v < 0) {
			free(p);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = p;
	*outlen = o;
	return 0;
}

/* ---- message -> JSON */

/*
 * Written straight into the output buffer, byte for byte what jansson's
 * json_dump_callback() printed for the json_t tree this module used to
 * build (JSON_INDENT(2) or JSON_COMPACT, JSON_PRESERVE_ORDER, no
 * JSON_ENSURE_ASCII): a newline and two spaces per level before each member
 * and before the closing bracket of a non-empty object or array, ": " (","
 * ":" compact) between key and value, "{}" and "[]" when empty; strings
 * escape '"', '\\' and bytes below 0x20 (\b \f \n \r \t, else \u00XX in
 * upper-case hex) and nothing else.  Building the tree and dumping it was
 * 39 % of the writer's apply (every event renders its own JSON and its
 * case's).  The tests and fuzz targets check that jansson, reading this
 * output back, prints the same bytes.
 */

static void
codec_json_indent(struct buf *out, unsigned flags, size_t depth)
{
	if (!(flags & CODEC_PRETTY))
		return;
	buf_putc(out, '\n');
	for (size_t i = 0; i < depth; i++)
		buf_put(out, "  ", 2);
}

/* A JSON string of s[0..len), which must be valid UTF-8. */
static int
codec_json_string(struct buf *out, struct codec_walk *w, const char *s,
                  size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	if (!util_utf8_valid(s, len))
		return codec_fail(w, "invalid UTF-8");
	buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_put(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
			break;
		}
		buf_put(out, esc, n);
	}
	buf_put(out, s + run, len - run);
	buf_putc(out, '"');
	return 0;
}

/* A finite double as jansson prints a real; NaN and the infinities as the
 * strings proto3 JSON uses. */
static int
codec_json_double(struct buf *out, double d)
{
	json_t *v;
	char *text;

	if (isnan(d)) {
		buf_puts(out, "\"NaN\"");
		return 0;
	}
	if (isinf(d)) {
		buf_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return 0;
	}
	if ((v = json_real(d)) == NULL ||
	    (text = json_dumps(v, JSON_ENCODE_ANY)) == NULL) {
		json_decref(v);
		return csirt_error_set(CSIRT_EFAIL, "out of memory in JSON");
	}
	buf_puts(out, text);
	free(text);
	json_decref(v);
	return 0;
}

static int codec_json_msg(struct buf *out, struct codec_walk *w,
                          const ProtobufCMessage *msg, unsigned flags,
                          size_t depth);

static int
codec_json_elem(struct buf *out, struct codec_walk *w,
                const ProtobufCFieldDescriptor *f, const void *elem,
                unsigned flags, size_t depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		buf_put_i64(out, *(const int32_t *)elem);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		buf_put_u64(out, *(const uint32_t *)elem, 0);
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		buf_putc(out, '"');
		buf_put_i64(out, *(const int64_t *)elem);
		buf_putc(out, '"');
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		buf_putc(out, '"');
		buf_put_u64(out, *(const uint64_t *)elem, 0);
		buf_putc(out, '"');
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return codec_json_double(out, *(const float *)elem);
	case PROTOBUF_C_TYPE_DOUBLE:
		return codec_json_double(out, *(const double *)elem);
	case PROTOBUF_C_TYPE_BOOL:
		buf_puts(out,
		         *(const protobuf_c_boolean *)elem ? "true" : "false");
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int32_t *)elem;
		const char *name = codec_enum_name(f->descriptor, v);

		if (name == NULL)
			return codec_fail(w, "undefined enum value %d", v);
		return codec_json_string(out, w, name, strlen(name));
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)elem;

		return s == NULL ? codec_json_string(out, w, "", 0)
		                 : codec_json_string(out, w, s, strlen(s));
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = elem;

		/* The base64 alphabet needs no escaping. */
		buf_putc(out, '"');
		codec_base64_encode(out, bd->data, bd->len);
		buf_putc(out, '"');
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)elem;

		if (sub == NULL)
			return codec_fail(w, "NULL message in repeated field");
		return codec_json_msg(out, w, sub, flags, depth);
	}
	}
	return csirt_error_set(CSIRT_EFAIL, "field %s: unknown type %d",
	                       f->name, (int)f->type);
}

/* A field's value at nesting `depth` (that of its key). */
static int
codec_json_field(struct buf *out, struct codec_walk *w,
                 const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                 unsigned flags, size_t depth)
{
	const void *member = CODEC_CMEMBER(msg, f->offset);
	size_t n, size;
	const char *arr;

	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		/* An unset message: only with CODEC_EMIT_DEFAULTS. */
		if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    *(ProtobufCMessage *const *)member == NULL) {
			buf_puts(out, "null");
			return 0;
		}
		return codec_json_elem(out, w, f, member, flags, depth);
	}
	n = *(const size_t *)CODEC_CMEMBER(msg, f->quantifier_offset);
	arr = *(char *const *)member;
	size = codec_elem_size(f->type);
	buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		size_t mark = codec_path_push_index(w, i);
		int rc;

		if (i > 0)
			buf_putc(out, ',');
		codec_json_indent(out, flags, depth + 1);
		if ((rc = codec_json_elem(out, w, f, arr + i * size, flags,
		                          depth + 1)) != 0)
			return rc;
		codec_path_pop(w, mark);
	}
	if (n > 0)
		codec_json_indent(out, flags, depth);
	buf_putc(out, ']');
	return 0;
}

static int
codec_json_msg(struct buf *out, struct codec_walk *w,
               const ProtobufCMessage *msg, unsigned flags, size_t depth)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	bool any = false;

	buf_putc(out, '{');
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		size_t mark;
		int rc;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)CODEC_CMEMBER(
			    msg, f->quantifier_offset);
			if (n == 0 && !(flags & CODEC_EMIT_DEFAULTS))
				continue;
		} else if (codec_is_oneof(f)) {
			/* A oneof member has presence: printed iff set. */
			if (codec_oneof_unselected(msg, f))
				continue;
		} else if (!codec_field_present(msg, f) &&
		           !(flags & CODEC_EMIT_DEFAULTS)) {
			continue;
		}
		if (any)
			buf_putc(out, ',');
		any = true;
		codec_json_indent(out, flags, depth + 1);
		/* Field names are protoc identifiers: nothing to escape. */
		buf_putc(out, '"');
		buf_puts(out, f->name);
		buf_puts(out, (flags & CODEC_PRETTY) ? "\": " : "\":");
		mark = codec_path_push(w, f->name);
		if ((rc = codec_json_field(out, w, msg, f, flags, depth + 1)) !=
		    0)
			return rc;
		codec_path_pop(w, mark);
	}
	if (any)
		codec_json_indent(out, flags, depth);
	buf_putc(out, '}');
	return 0;
}

int
codec_to_json(struct buf *out, const struct ProtobufCMessage *msg,
              unsigned flags)
{
	struct codec_walk w;
	size_t n = out->len;
	int rc;

	assert(msg != NULL);
	codec_walk_init(&w, NULL);
	/* No JSON_ENSURE_ASCII equivalent: Japanese stays readable in the
	 * ledger. */
	rc = codec_json_msg(out, &w, msg, flags, 0);
	if (rc == 0 && (flags & CODEC_PRETTY))
		buf_putc(out, '\n');
	if (rc != 0) {
		out->len = n;
		if (out->data != NULL)
			out->data[n] = '\0';
	}
	buf_free(&w.path);
	return rc;
}

/* ---- JSON -> message */

static int codec_msg_from_json(ProtobufCMessage **out, struct codec_walk *w,
                               const ProtobufCMessageDescriptor *desc,
                               json_t *obj, size_t depth);

/* A JSON string as bytes: never containing NUL (jansson decodes \u0000 when
 * JSON_ALLOW_NUL is on, which we use so the error can name the field) and
 * always valid UTF-8. */
static int
codec_json_text(const char **s, size_t *len, struct codec_walk *w,
                const json_t *v, const char *what)
{
	if (!json_is_string(v))
		return codec_fail(w, "expected %s, got %s", what,
		                  codec_json_type(v));
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (memchr(*s, '\0', *len) != NULL)
		return codec_fail(w, "string contains NUL (\\u0000)");
	if (!util_utf8_valid(*s, *len))
		return codec_fail(w, "invalid UTF-8");
	return 0;
}

/* Any proto3 JSON integer: a JSON number without fraction, or a string of
 * decimal digits with an optional '-' (no '+', no spaces, no fraction).
 * Returns sign and magnitude; the caller checks its type's range. */
static int
codec_int_from_json(bool *neg, uint64_t *mag, struct codec_walk *w,
                    const json_t *v)
{
	char q[CODEC_QUOTE_MAX + 8];
	const char *s;
	size_t len, i = 0;
	int rc;

	*neg = false;
	*mag = 0;
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		*neg = x < 0;
		*mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* Exponent forms such as 1e3 parse as reals; accept them if
		 * integral and exactly representable. */
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
		    d != (double)(int64_t)d)
			return codec_fail(w, "not an integer: %.17g", d);
		*neg = d < 0;
		*mag = (uint64_t)(d < 0 ? -d : d);
		return 0;
	}
	if ((rc = codec_json_text(&s, &len, w, v, "an integer")) < 0)
		return rc;
	if (len > 0 && s[0] == '-') {
		*neg = true;
		i = 1;
	}
	if (i == len)
		return codec_fail(w, "not an integer: \"%s\"",
		                  codec_quote(q, sizeof(q), s, len));
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9)
			return codec_fail(w, "not an integer: \"%s\"",
			                  codec_quote(q, sizeof(q), s, len));
		if (*mag > (UINT64_MAX - d) / 10)
			return codec_fail(w, "integer out of range: \"%s\"",
			                  codec_quote(q, sizeof(q), s, len));
		*mag = *mag * 10 + d;
	}
	if (*mag == 0)
		*neg = false;
	return 0;
}

static int
codec_signed_from_json(int64_t *out, struct codec_walk *w, const json_t *v,
                       int64_t min, int64_t max)
{
	bool neg;
	uint64_t mag;
	int rc;

	if ((rc = codec_int_from_json(&neg, &mag, w, v)) < 0)
		return rc;
	if (neg) {
		/* -(min + 1) is representable; mag >= 1 here. */
		if (mag - 1 > (uint64_t)(-(min + 1)))
			return codec_fail(w, "-%" PRIu64 " is out of range",
			                  mag);
		*out = -(int64_t)(mag - 1) - 1;
	} else {
		if (mag > (uint64_t)max)
			return codec_fail(w, "%" PRIu64 " is out of range",
			                  mag);
		*out = (int64_t)mag;
	}
	return 0;
}

static int
codec_unsigned_from_json(uint64_t *out, struct codec_walk *w, const json_t *v,
                         uint64_t max)
{
	bool neg;
	uint64_t mag;
	int rc;

	if ((rc = codec_int_from_json(&neg, &mag, w, v)) < 0)
		return rc;
	if (neg)
		return codec_fail(w, "-%" PRIu64 " is out of range", mag);
	if (mag > max)
		return codec_fail(w, "%" PRIu64 " is out of range", mag);
	*out = mag;
	return 0;
}

static int
codec_double_from_json(double *out, struct codec_walk *w, const json_t *v,
                       bool is_float)
{
	char q[CODEC_QUOTE_MAX + 8], tmp[64];
	const char *s = NULL;
	char *end;
	size_t len = 0;
	int rc;

	if (json_is_number(v)) {
		*out = json_number_value(v);
	} else {
		if ((rc = codec_json_text(&s, &len, w, v, "a number")) < 0)
			return rc;
		if (len == 3 && memcmp(s, "NaN", 3) == 0) {
			*out = NAN;
			return 0;
		} else if (len == 8 && memcmp(s, "Infinity", 8) == 0) {
			*out = INFINITY;
			return 0;
		} else if (len == 9 && memcmp(s, "-Infinity", 9) == 0) {
			*out = -INFINITY;
			return 0;
		}
		/* strtod also takes hex, "inf" and spaces: allow only the
		 * characters of a JSON number. */
		if (len == 0 || len >= sizeof(tmp) ||
		    strspn(s, "0123456789+-.eE") != len)
			return codec_fail(w, "not a number: \"%s\"",
			                  codec_quote(q, sizeof(q), s, len));
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		*out = strtod(tmp, &end);
		if (*end != '\0' || !isfinite(*out))
			return codec_fail(w, "not a number: \"%s\"",
			                  codec_quote(q, sizeof(q), s, len));
	}
	if (is_float && isfinite(*out) && (*out > FLT_MAX || *out < -FLT_MAX))
		return codec_fail(w, "%g is out of range for float", *out);
	return 0;
}

static int
codec_enum_from_json(int32_t *out, struct codec_walk *w,
                     const ProtobufCEnumDescriptor *ed, const json_t *v)
{
	char q[CODEC_QUOTE_MAX + 8];
	const ProtobufCEnumValue *ev;
	const char *s;
	size_t len;
	int rc;

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		if (x < INT32_MIN || x > INT32_MAX ||
		    protobuf_c_enum_descriptor_get_value(ed, (int)x) == NULL)
			return codec_fail(w, "undefined enum value %lld",
			                  (long long)x);
		*out = (int32_t)x;
		return 0;
	}
	if ((rc = codec_json_text(&s, &len, w, v, "an enum name or number")) <
	    0)
		return rc;
	ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
	if (ev == NULL)
		return codec_fail(w, "undefined enum value \"%s\"",
		                  codec_quote(q, sizeof(q), s, len));
	*out = ev->value;
	return 0;
}

/*
 * Parses one value into `elem` (a singular member or one array slot).
 * Either stores a fully owned value or allocates nothing, so the message
 * being built stays freeable at every failure.  `shared_empty` allows ""
 * to be stored as the shared empty string (singular non-oneof strings only:
 * protobuf-c frees repeated elements unconditionally and packs a oneof
 * string equal to its default as unset).
 */
static int
codec_elem_from_json(void *elem, struct codec_walk *w,
                     const ProtobufCFieldDescriptor *f, json_t *v, size_t depth,
                     bool shared_empty)
{
	const size_t max_bytes = w->lim->max_string_bytes;
	int64_t i64 = 0;
	uint64_t u64 = 0;
	double d;
	const char *s;
	size_t len;
	int rc;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		rc = codec_signed_from_json(&i64, w, v, INT32_MIN, INT32_MAX);
		if (rc == 0)
			*(int32_t *)elem = (int32_t)i64;
		return rc;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = codec_signed_from_json(&i64, w, v, INT64_MIN, INT64_MAX);
		if (rc == 0)
			*(int64_t *)elem = i64;
		return rc;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = codec_unsigned_from_json(&u64, w, v, UINT32_MAX);
		if (rc == 0)
			*(uint32_t *)elem = (uint32_t)u64;
		return rc;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = codec_unsigned_from_json(&u64, w, v, UINT64_MAX);
		if (rc == 0)
			*(uint64_t *)elem = u64;
		return rc;
	case PROTOBUF_C_TYPE_FLOAT:
		rc = codec_double_from_json(&d, w, v, true);
		if (rc == 0)
			*(float *)elem = (float)d;
		return rc;
	case PROTOBUF_C_TYPE_DOUBLE:
		rc = codec_double_from_json(&d, w, v, false);
		if (rc == 0)
			*(double *)elem = d;
		return rc;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return codec_fail(w, "expected true or false, got %s",
			                  codec_json_type(v));
		*(protobuf_c_boolean *)elem = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return codec_enum_from_json(elem, w, f->descriptor, v);
	case PROTOBUF_C_TYPE_STRING: {
		char *copy;

		if ((rc = codec_json_text(&s, &len, w, v, "a string")) < 0)
			return rc;
		if (len > max_bytes)
			return codec_fail(w,
			                  "string of %zu bytes exceeds the "
			                  "limit of %zu",
			                  len, max_bytes);
		if (len == 0 && shared_empty) {
			*(char **)elem = codec_empty_string();
			return 0;
		}
		copy = util_xmalloc(len + 1);
		memcpy(copy, s, len);
		copy[len] = '\0';
		*(char **)elem = copy;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = elem;
		uint8_t *data;

		if ((rc = codec_json_text(&s, &len, w, v, "base64")) < 0)
			return rc;
		if (len / 4 * 3 > max_bytes + 3)
			return codec_fail(w, "bytes exceed the limit of %zu",
			                  max_bytes);
		if (codec_base64_decode(&data, &len, s, len) < 0)
			return codec_fail(w, "invalid base64");
		if (len > max_bytes) {
			free(data);
			return codec_fail(w, "bytes exceed the limit of %zu",
			                  max_bytes);
		}
		bd->data = data;
		bd->len = len;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return codec_msg_from_json(elem, w, f->descriptor, v,
		                           depth + 1);
	}
	return codec_fail(w, "unsupported field type %d", (int)f->type);
}

static int
codec_array_from_json(ProtobufCMessage *msg, struct codec_walk *w,
                      const ProtobufCFieldDescriptor *f, json_t *v,
                      size_t depth)
{
	size_t *np = CODEC_MEMBER(msg, f->quantifier_offset);
	char **ap = CODEC_MEMBER(msg, f->offset);
	size_t n, size = codec_elem_size(f->type);
	int rc;

	if (!json_is_array(v))
		return codec_fail(w, "expected an array, got %s",
		                  codec_json_type(v));
	n = json_array_size(v);
	if (n > w->lim->max_repeated)
		return codec_fail(w, "%zu elements exceed the limit of %zu", n,
		                  w->lim->max_repeated);
	if (n == 0)
		return 0;
	/* *np counts the slots filled so far, so a failure half way leaves
	 * a message that codec_free() releases exactly. */
	*ap = util_xcalloc(n, size);
	*np = 0;
	for (size_t i = 0; i < n; i++) {
		size_t mark = codec_path_push_index(w, i);

		rc = codec_elem_from_json(*ap + i * size, w, f,
		                          json_array_get(v, i), depth, false);
		if (rc < 0)
			return rc;
		(*np)++;
		codec_path_pop(w, mark);
	}
	return 0;
}

static int
codec_field_from_json(ProtobufCMessage *msg, struct codec_walk *w,
                      const ProtobufCFieldDescriptor *f, json_t *v,
                      size_t depth)
{
	void *member = CODEC_MEMBER(msg, f->offset);
	uint32_t *which = NULL;
	int rc;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return codec_array_from_json(msg, w, f, v, depth);
	if (codec_is_oneof(f)) {
		/* Members share storage: a second one would overwrite (and
		 * leak) the first. */
		which = CODEC_MEMBER(msg, f->quantifier_offset);
		if (*which != 0 && *which != f->id) {
			const ProtobufCFieldDescriptor *other =
			    protobuf_c_message_descriptor_get_field(
			        msg->descriptor, *which);
			return codec_fail(w,
			                  "oneof member conflicts with \"%s\" "
			                  "(only one may be set)",
			                  other != NULL ? other->name : "?");
		}
	}
	rc = codec_elem_from_json(member, w, f, v, depth, which == NULL);
	if (rc < 0)
		return rc;
	if (which != NULL)
		*which = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	         f->type != PROTOBUF_C_TYPE_STRING &&
	         f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)CODEC_MEMBER(msg, f->quantifier_offset) =
		    1;
	return 0;
}

static int
codec_msg_from_json(ProtobufCMessage **out, struct codec_walk *w,
                    const ProtobufCMessageDescriptor *desc, json_t *obj,
                    size_t depth)
{
	char q[CODEC_QUOTE_MAX + 8];
	ProtobufCMessage *msg = NULL;
	unsigned char *seen = NULL;
	const char *key;
	json_t *v;
	int rc = CSIRT_EFAIL;

	*out = NULL;
	if (!json_is_object(obj))
		return codec_fail(w, "expected an object, got %s",
		                  codec_json_type(obj));
	if (depth > w->lim->max_depth)
		return codec_fail(w, "messages nested deeper than %zu",
		                  w->lim->max_depth);
	msg = util_xmalloc(desc->sizeof_message);
	protobuf_c_message_init(desc, msg);
	seen = util_xcalloc(desc->n_fields, 1);
	json_object_foreach(obj, key, v)
	{
		const ProtobufCFieldDescriptor *f =
		    codec_field_lookup(desc, key);
		size_t mark;

		if (f == NULL) {
			rc = codec_fail(
			    w, "unknown field \"%s\"",
			    codec_quote(q, sizeof(q), key, strlen(key)));
			goto done;
		}
		mark = codec_path_push(w, f->name);
		/* jansson rejects a repeated key; this catches the same
		 * field under its two names. */
		if (seen[f - desc->fields]) {
			rc = codec_fail(
			    w,
			    "duplicate field (given as \"%s\" "
			    "and under its other name)",
			    codec_quote(q, sizeof(q), key, strlen(key)));
			goto done;
		}
		seen[f - desc->fields] = 1;
		if (!json_is_null(v)) {
			rc = codec_field_from_json(msg, w, f, v, depth);
			if (rc < 0)
				goto done;
		}
		codec_path_pop(w, mark);
	}
	*out = msg;
	msg = NULL;
	rc = 0;
done:
	free(seen);
	codec_free(msg);
	return rc;
}

int
codec_from_json(struct ProtobufCMessage **out,
                const struct ProtobufCMessageDescriptor *desc, const char *json,
                size_t len, const struct codec_limits *lim)
{
	char q[CODEC_QUOTE_MAX + 8];
	struct codec_walk w;
	json_error_t jerr;
	json_t *root = NULL;
	int rc;

	assert(out != NULL && desc != NULL && (json != NULL || len == 0));
	*out = NULL;
	codec_walk_init(&w, lim);
	/* json_loadb takes the length, so the input need not be terminated
	 * and anything after the value (including a NUL) is an error. */
	root = json_loadb(json != NULL ? json : "", len,
	                  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		rc = csirt_error_set(
		    CSIRT_EINVAL, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column,
		    codec_quote(q, sizeof(q), jerr.text, strlen(jerr.text)));
		goto done;
	}
	if (!json_is_object(root)) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "expected a JSON object, got %s",
		                     codec_json_type(root));
		goto done;
	}
	rc = codec_msg_from_json(out, &w, desc, root, 1);
done:
	json_decref(root);
	buf_free(&w.path);
	return rc;
}

/* ---- binary */

int
codec_pack(struct buf *out, const struct ProtobufCMessage *msg)
{
	size_t n;

	assert(msg != NULL);
	n = protobuf_c_message_get_packed_size(msg);
	buf_grow(out, n);
	protobuf_c_message_pack(msg, (uint8_t *)out->data + out->len);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

static int
codec_varint(uint64_t *out, const uint8_t *p, size_t len, size_t *pos)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 10 && *pos < len; i++) {
		uint8_t b = p[(*pos)++];

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static bool
codec_packable(ProtobufCType type)
{
	return type != PROTOBUF_C_TYPE_STRING &&
	       type != PROTOBUF_C_TYPE_BYTES && type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Elements in a packed repeated field, counted as protobuf-c counts them
 * (it allocates the array from this count before parsing). */
static int
codec_packed_count(size_t *out, ProtobufCType type, const uint8_t *p,
                   size_t len)
{
	size_t n = 0;

	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		if (len % 4 != 0)
			return -1;
		*out = len / 4;
		return 0;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (len % 8 != 0)
			return -1;
		*out = len / 8;
		return 0;
	default:
		if (len > 0 && (p[len - 1] & 0x80) != 0)
			return -1;
		for (size_t i = 0; i < len; i++)
			if ((p[i] & 0x80) == 0)
				n++;
		*out = n;
		return 0;
	}
}

static int codec_scan_msg(struct codec_walk *w,
                          const ProtobufCMessageDescriptor *desc,
                          const uint8_t *p, size_t len, size_t depth);

/* Checks one occurrence of a known field on the wire.  `counts` holds the
 * elements seen so far per repeated field of the enclosing message. */
static int
codec_scan_field(struct codec_walk *w, const ProtobufCMessageDescriptor *desc,
                 const ProtobufCFieldDescriptor *f, unsigned wire,
                 const uint8_t *p, size_t len, size_t *counts, size_t depth)
{
	size_t *count = &counts[f - desc->fields];
	size_t mark = codec_path_push(w, f->name), add = 1;
	int rc;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		if (wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED &&
		    codec_packable(f->type) &&
		    codec_packed_count(&add, f->type, p, len) < 0)
			return codec_fail(w, "malformed packed field");
		if (*count + add > w->lim->max_repeated)
			return codec_fail(w, "more than %zu elements",
			                  w->lim->max_repeated);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			codec_path_push_index(w, *count);
		*count += add;
	}
	if (wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
		if ((f->type == PROTOBUF_C_TYPE_STRING ||
		     f->type == PROTOBUF_C_TYPE_BYTES) &&
		    len > w->lim->max_string_bytes)
			return codec_fail(w,
			                  "%zu bytes exceed the limit of %zu",
			                  len, w->lim->max_string_bytes);
		/* protobuf-c copies the bytes and NUL-terminates: an inner
		 * NUL would silently truncate the string. */
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    memchr(p, '\0', len) != NULL)
			return codec_fail(w, "string contains NUL");
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			rc =
			    codec_scan_msg(w, f->descriptor, p, len, depth + 1);
			if (rc < 0)
				return rc;
		}
	}
	codec_path_pop(w, mark);
	return 0;
}

/*
 * Reads one field header at *pos and skips or bounds its payload: on return
 * *pos is past the header (and past the value for every wire type but
 * length-prefixed, whose payload is the `*flen` bytes at *pos).  Returns
 * NULL, or what is wrong for the error message.
 */
static const char *
codec_wire_field(uint64_t *key, size_t *flen, const uint8_t *p, size_t len,
                 size_t *pos)
{
	uint64_t v;

	*flen = 0;
	if (codec_varint(key, p, len, pos) < 0 || (*key >> 3) == 0 ||
	    (*key >> 3) > 0x1fffffff)
		return "malformed tag";
	switch (*key & 7) {
	case PROTOBUF_C_WIRE_TYPE_VARINT:
		return codec_varint(&v, p, len, pos) < 0 ? "malformed varint"
		                                         : NULL;
	case PROTOBUF_C_WIRE_TYPE_64BIT:
	case PROTOBUF_C_WIRE_TYPE_32BIT:
		v = (*key & 7) == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
		if (len - *pos < v)
			return "truncated field";
		*pos += (size_t)v;
		return NULL;
	case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
		if (codec_varint(&v, p, len, pos) < 0 || v > len - *pos)
			return "truncated field";
		*flen = (size_t)v;
		return NULL;
	default: {
		static const char *const unsupported[] = {
		    "unsupported wire type 3 (group)",
		    "unsupported wire type 4 (group)", "",
		    "unsupported wire type 6", "unsupported wire type 7"};
		return unsupported[(*key & 7) - 3];
	}
	}
}

/*
 * Walks the wire format before protobuf-c sees it, which has no recursion
 * limit and sizes arrays from the input: enforces nesting depth (recursing
 * only into fields the descriptor says are messages), elements per repeated
 * field and bytes per string.  Wire errors that protobuf-c would also
 * reject are reported here with an offset; mismatched wire types of known
 * fields are left to protobuf-c.
 */
static int
codec_scan_msg(struct codec_walk *w, const ProtobufCMessageDescriptor *desc,
               const uint8_t *p, size_t len, size_t depth)
{
	size_t *counts = NULL, pos = 0;
	int rc = CSIRT_EFAIL;

	if (depth > w->lim->max_depth)
		return codec_fail(w, "messages nested deeper than %zu",
		                  w->lim->max_depth);
	counts = util_xcalloc(desc->n_fields, sizeof(*counts));
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		size_t start = pos, flen;
		const char *err;
		uint64_t key = 0;
		unsigned wire;

		if ((err = codec_wire_field(&key, &flen, p, len, &pos))) {
			rc = codec_fail(w, "%s at byte %zu", err, start);
			goto done;
		}
		wire = (unsigned)(key & 7);
		f = protobuf_c_message_descriptor_get_field(
		    desc, (unsigned)(key >> 3));
		if (f != NULL) {
			rc = codec_scan_field(w, desc, f, wire, p + pos, flen,
			                      counts, depth);
			if (rc < 0)
				goto done;
		}
		pos += flen;
	}
	rc = 0;
done:
	free(counts);
	return rc;
}

static int codec_check_msg(struct codec_walk *w, const ProtobufCMessage *msg,
                           size_t depth);

static int
codec_check_elem(struct codec_walk *w, const ProtobufCFieldDescriptor *f,
                 const void *elem, size_t depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int32_t *)elem;

		/* protobuf-c keeps unknown numbers of open (proto3) enums. */
		if (codec_enum_name(f->descriptor, v) == NULL)
			return codec_fail(w, "undefined enum value %d", v);
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)elem;
		size_t len = s != NULL ? strlen(s) : 0;

		if (len > w->lim->max_string_bytes)
			return codec_fail(w,
			                  "%zu bytes exceed the limit of %zu",
			                  len, w->lim->max_string_bytes);
		if (!util_utf8_valid(s, len))
			return codec_fail(w, "invalid UTF-8");
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		if (((const ProtobufCBinaryData *)elem)->len >
		    w->lim->max_string_bytes)
			return codec_fail(w, "bytes exceed the limit of %zu",
			                  w->lim->max_string_bytes);
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)elem;

		return sub != NULL ? codec_check_msg(w, sub, depth + 1) : 0;
	}
	default:
		return 0;
	}
}

/* Validates what protobuf-c built: UTF-8, enums, and the limits again (the
 * in-memory form is what the domain sees). */
static int
codec_check_msg(struct codec_walk *w, const ProtobufCMessage *msg, size_t depth)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	int rc;

	if (depth > w->lim->max_depth)
		return codec_fail(w, "messages nested deeper than %zu",
		                  w->lim->max_depth);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const void *member = CODEC_CMEMBER(msg, f->offset);
		size_t mark;

		if (codec_oneof_unselected(msg, f))
			continue;
		mark = codec_path_push(w, f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)CODEC_CMEMBER(
			    msg, f->quantifier_offset);
			const char *arr = *(char *const *)member;
			size_t size = codec_elem_size(f->type);

			if (n > w->lim->max_repeated)
				return codec_fail(w, "more than %zu elements",
				                  w->lim->max_repeated);
			for (size_t k = 0; k < n; k++) {
				size_t m = codec_path_push_index(w, k);

				rc = codec_check_elem(w, f, arr + k * size,
				                      depth);
				if (rc < 0)
					return rc;
				codec_path_pop(w, m);
			}
		} else {
			rc = codec_check_elem(w, f, member, depth);
			if (rc < 0)
				return rc;
		}
		codec_path_pop(w, mark);
	}
	return 0;
}

int
codec_unpack(struct ProtobufCMessage **out,
             const struct ProtobufCMessageDescriptor *desc, const void *data,
             size_t len, const struct codec_limits *lim)
{
	struct codec_walk w;
	ProtobufCMessage *msg = NULL;
	int rc;

	assert(out != NULL && desc != NULL && (data != NULL || len == 0));
	*out = NULL;
	codec_walk_init(&w, lim);
	rc = codec_scan_msg(&w, desc, data, len, 1);
	if (rc < 0)
		goto done;
	msg = protobuf_c_message_unpack(desc, NULL, len, data);
	if (msg == NULL) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "invalid protobuf encoding of %s",
		                     desc->name);
		goto done;
	}
	rc = codec_check_msg(&w, msg, 1);
	if (rc < 0)
		goto done;
	*out = msg;
	msg = NULL;
done:
	codec_free(msg);
	buf_free(&w.path);
	return rc;
}

ProtobufCMessage *
codec_new(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = util_xcalloc(1, desc->sizeof_message);

	desc->message_init(m);
	return m;
}

struct ProtobufCMessage *
codec_clone(const struct ProtobufCMessage *msg)
{
	struct buf b = BUF_INIT;
	ProtobufCMessage *copy;

	if (msg == NULL)
		return NULL;
	codec_pack(&b, msg);
	/* Unvalidated on purpose: a clone is faithful to its original.
	 * NULL only when out of memory. */
	copy = protobuf_c_message_unpack(msg->descriptor, NULL, b.len,
	                                 (const uint8_t *)b.data);
	buf_free(&b);
	return copy;
}

void
codec_free(struct ProtobufCMessage *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, &codec_allocator);
}

void
codec_set_string(char **field, const char *s)
{
	char *old = *field;

	/* Copy before freeing: `s` may be the old value. */
	if (s == NULL || *s == '\0')
		*field = codec_empty_string();
	else
		*field = util_strdup(s);
	if (old != NULL && old != protobuf_c_empty_string)
		free(old);
}

const char *
codec_enum_name(const void *enum_descriptor, int value)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(enum_descriptor, value);

	return v != NULL ? v->name : NULL;
}
