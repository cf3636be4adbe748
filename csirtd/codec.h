/*
 * codec.h - protobuf binary and proto3 JSON for every csirt.v1 message.
 *
 * codec.c is the only includer of the protobuf_c runtime and of Jansson.
 * Callers pass generated messages as `&msg->base` and descriptors as
 * `&csirt__v1__case__descriptor`.
 *
 * Ownership: every message this module returns, and every message the
 * daemon builds by hand, is "fully owned": each string is malloc'd (or is
 * the shared empty string `protobuf_c_empty_string`), each repeated field
 * and sub-message is malloc'd.  codec_free() releases such a message.
 */
#ifndef CSIRT_CODEC_H
#define CSIRT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;

struct codec_limits {
	size_t max_depth;        /* nesting of messages (default 32) */
	size_t max_repeated;     /* elements of one repeated field (10000) */
	size_t max_string_bytes; /* one string or bytes field (1 MiB) */
};
/* The defaults above; used when a NULL limits pointer is passed. */
extern const struct codec_limits codec_default_limits;

enum {
	CODEC_PRETTY = 1 << 0,        /* indented, one field per line */
	CODEC_EMIT_DEFAULTS = 1 << 1, /* include fields with default values */
};

/* proto3 JSON: proto field names on output, fields in declaration order
 * (stable: the same message always gives the same bytes), int64/uint64 as
 * strings, enums as names, bytes as base64, UTF-8 kept as is. */
int codec_to_json(struct buf *out, const struct ProtobufCMessage *msg,
                  unsigned flags);

/* Parses proto3 JSON: both the proto name and the lowerCamelCase JSON name
 * are accepted; enums by name or number; unknown fields are an error.
 * Validates UTF-8, enum ranges and limits.  CSIRT_EINVAL with a message
 * naming the field on bad input.  Caller frees with codec_free(). */
int codec_from_json(struct ProtobufCMessage **out,
                    const struct ProtobufCMessageDescriptor *desc,
                    const char *json, size_t len,
                    const struct codec_limits *lim);

/* protobuf binary. */
int codec_pack(struct buf *out, const struct ProtobufCMessage *msg);
/* Decodes and validates (UTF-8 in every string, enum values defined,
 * nesting and size limits).  Caller frees with codec_free(). */
int codec_unpack(struct ProtobufCMessage **out,
                 const struct ProtobufCMessageDescriptor *desc,
                 const void *data, size_t len, const struct codec_limits *lim);

/* A new, empty, fully owned message of type `desc`; caller frees with
 * codec_free(). */
struct ProtobufCMessage *
codec_new(const struct ProtobufCMessageDescriptor *desc);

/* Deep copy; caller frees with codec_free(). */
struct ProtobufCMessage *codec_clone(const struct ProtobufCMessage *msg);

/* Frees a fully owned message (NULL is a no-op). */
void codec_free(struct ProtobufCMessage *msg);

/* Replaces a string field of a fully owned message: frees the old value
 * (unless it is the shared empty string) and stores a copy of `s` (NULL or
 * "" store the shared empty string). */
void codec_set_string(char **field, const char *s);

/* Name of an enum value ("CASE_STATE_REPORTED"), or NULL if undefined. */
const char *codec_enum_name(const void *enum_descriptor, int value);

#endif
