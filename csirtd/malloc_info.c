/*
 * malloc_info.c - see malloc_info.h.
 *
 * Why jemalloc: the daemon's threads hand memory to one another (the event
 * loop allocates a command, the writer frees it; the commit thread builds
 * trees the writer's batch outlives), and glibc's arenas paid for that in
 * locks and malloc_consolidate().  Linked with jemalloc, csirt-bench note
 * at 64 connections made 13 % more notes a second with 11 % less CPU a
 * request (tools/bench-ab.sh, medians of 6 pairs; 1.06-1.12 in three
 * earlier sets); glibc's tunables (a larger tcache, trim and mmap
 * thresholds) changed nothing, and tcmalloc cost 2.8 % of the rate.
 * Sanitizer and valgrind builds keep the system allocator, which they
 * replace (CMake's CSIRTD_MALLOC).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "malloc_info.h"

#ifdef CSIRT_MALLOC_JEMALLOC
#include <jemalloc/jemalloc.h>

void
malloc_info_name(char *buf, size_t size, bool *in_use)
{
	/* Called through a volatile pointer so that the compiler cannot
	 * pair and remove the malloc() and free() below. */
	void *(*volatile alloc)(size_t) = malloc;
	const char *version = NULL;
	uint64_t before = 0, after = 0;
	size_t len = sizeof(version), ulen = sizeof(before);
	void *p;

	if (mallctl("version", (void *)&version, &len, NULL, 0) != 0 ||
	    version == NULL)
		version = "(version unknown)";
	snprintf(buf, size, "jemalloc %s", version);
	*in_use = false;
	if (mallctl("thread.allocated", &before, &ulen, NULL, 0) != 0)
		return;
	p = alloc((size_t)1 << 20);
	ulen = sizeof(after);
	if (p != NULL &&
	    mallctl("thread.allocated", &after, &ulen, NULL, 0) == 0)
		*in_use = after - before >= ((uint64_t)1 << 20);
	free(p);
}

#else

void
malloc_info_name(char *buf, size_t size, bool *in_use)
{
	snprintf(buf, size, "system");
	*in_use = true;
}

#endif
