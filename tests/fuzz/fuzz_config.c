/*
 * fuzz_config.c - libFuzzer target: the "key = value" configuration file
 * (config_load_file() over defaults, then config_validate()), as csirtd
 * reads --config FILE.
 *
 * The input is written to one temporary file per process (removed at exit)
 * because the parser's entry point takes a path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char fuzz_path[64];
static int fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
	if (fuzz_fd >= 0) {
		close(fuzz_fd);
		unlink(fuzz_path);
	}
}

static void
fuzz_open(void)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(fuzz_path, sizeof(fuzz_path), "%s/csirt-fuzz-config.XXXXXX",
	         dir);
	if ((fuzz_fd = mkstemp(fuzz_path)) < 0) {
		perror("fuzz: mkstemp");
		abort();
	}
	atexit(fuzz_cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	size_t off = 0;

	if (fuzz_fd < 0)
		fuzz_open();
	if (ftruncate(fuzz_fd, 0) != 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	while (off < size) {
		ssize_t n = pwrite(fuzz_fd, data + off, size - off, (off_t)off);

		if (n <= 0) {
			perror("fuzz: pwrite");
			abort();
		}
		off += (size_t)n;
	}

	config_init(&cfg);
	if (config_load_file(&cfg, fuzz_path) == 0)
		(void)config_validate(&cfg);
	config_free(&cfg);
	return 0;
}
