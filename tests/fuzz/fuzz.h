/*
 * fuzz.h - what the libFuzzer targets under tests/fuzz/ share: the table of
 * request messages the API decodes, and the round-trip check that every
 * message the codec accepts must pass.
 *
 * A target aborts (libFuzzer reports a crash) on any inconsistency between
 * the codec's two encodings; rejected input is never a finding.
 */
#ifndef CSIRT_FUZZ_H
#define CSIRT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "csirt/v1/service.pb-c.h"

/* libFuzzer's entry point, defined once per target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The request messages of both services: those listed in fuzz_common.c in
 * a fixed order (so the selector bytes of the committed seeds keep their
 * meaning), then any input type of a method added since.  Borrowed. */
const ProtobufCMessageDescriptor *const *fuzz_requests(size_t *n);

/*
 * Splits a request input's first byte: the low six bits pick the message
 * type (modulo the table), the top two the codec_to_json flags used by the
 * round trip (CODEC_PRETTY, CODEC_EMIT_DEFAULTS).
 */
const ProtobufCMessageDescriptor *fuzz_request_select(uint8_t selector,
                                                      unsigned *flags);
/* The selector byte of `desc` with `flags`; -1 when it is not a request. */
int fuzz_request_selector(const ProtobufCMessageDescriptor *desc,
                          unsigned flags);

/*
 * `msg` was accepted by codec_unpack() or codec_from_json(); checks that
 *   - its protobuf encoding decodes again and re-encodes to the same bytes,
 *   - its JSON (with `flags`) parses back and prints the same bytes,
 *   - the message parsed from that JSON packs to the same bytes as `msg`
 *     (when `msg` holds no unknown fields, which JSON cannot carry).
 * Aborts with a diagnostic on stderr otherwise.  Borrows `msg`.
 */
void fuzz_codec_roundtrip(const ProtobufCMessage *msg, unsigned flags);

#endif
