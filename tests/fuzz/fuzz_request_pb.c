/*
 * fuzz_request_pb.c - libFuzzer target: a Twirp request body in protobuf
 * (application/protobuf), decoded as rpc.c decodes it.
 *
 * Input: one selector byte (the request type and the JSON flags of the
 * round trip, see fuzz.h), then the body.  Whatever codec_unpack() accepts
 * must survive fuzz_codec_roundtrip().
 */
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *msg = NULL;
	unsigned flags;

	if (size < 1)
		return 0;
	desc = fuzz_request_select(data[0], &flags);
	if (codec_unpack(&msg, desc, data + 1, size - 1, NULL) == 0)
		fuzz_codec_roundtrip(msg, flags);
	codec_free(msg);
	return 0;
}
