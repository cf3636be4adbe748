/*
 * check_pipeline.c - the ordered parallel map behind the whole-ledger
 * passes (csirt-audit verify, replay): results come back in order whatever
 * order the workers finish in, no worker runs further ahead than the
 * window, and stopping early frees every result that was not taken.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pipeline.h"
#include "suites.h"
#include "util.h"

struct pl_test {
	size_t window;
	atomic_size_t taken;  /* results the consumer has taken */
	atomic_size_t made;   /* results made by workers */
	atomic_size_t freed;  /* results discarded by pipeline_stop() */
	atomic_size_t states; /* live per-thread states */
	atomic_int too_far;   /* a worker ran past the window */
};

static void *
pl_init(void *arg)
{
	struct pl_test *t = arg;

	atomic_fetch_add(&t->states, 1);
	return util_xcalloc(1, sizeof(unsigned));
}

static void
pl_fini(void *state, void *arg)
{
	struct pl_test *t = arg;

	atomic_fetch_sub(&t->states, 1);
	free(state);
}

static void *
pl_work(size_t i, void *state, void *arg)
{
	struct pl_test *t = arg;
	unsigned *seed = state;
	size_t *res = util_xmalloc(sizeof(*res));
	volatile unsigned spin = 0;

	/* The consumer counts a take before it happens: one ahead. */
	if (i > atomic_load(&t->taken) + t->window)
		atomic_store(&t->too_far, 1);
	/* Uneven work, so that workers finish out of order. */
	*seed = *seed * 1103515245u + 12345u + (unsigned)i;
	for (unsigned k = (*seed >> 16) % 2000; k > 0; k--)
		spin = spin + k;
	*res = i * 3 + 1;
	atomic_fetch_add(&t->made, 1);
	return res;
}

static void
pl_discard(void *res, void *arg)
{
	struct pl_test *t = arg;

	atomic_fetch_add(&t->freed, 1);
	free(res);
}

static const struct pipeline_ops pl_ops = {pl_init, pl_fini, pl_work,
                                           pl_discard};

START_TEST(test_pipeline_results_in_order_within_window)
{
	struct pl_test t = {.window = 64};
	struct pipeline *p = NULL;
	const size_t n = 20000;

	pipeline_start(&p, n, 4, t.window, 4, &pl_ops, &t);
	for (size_t i = 0; i < n; i++) {
		/* Counted before the take, which lets workers move on. */
		atomic_store(&t.taken, i + 1);
		size_t *r = pipeline_take(p, i);
		ck_assert_uint_eq(*r, i * 3 + 1);
		free(r);
	}
	pipeline_stop(p);
	ck_assert_int_eq(atomic_load(&t.too_far), 0);
	ck_assert_uint_eq(atomic_load(&t.made), n);
	ck_assert_uint_eq(atomic_load(&t.freed), 0);
	ck_assert_uint_eq(atomic_load(&t.states), 0);
}
END_TEST

START_TEST(test_pipeline_stop_early_frees_the_rest)
{
	struct pl_test t = {.window = 256};
	struct pipeline *p = NULL;

	pipeline_start(&p, 100000, 3, t.window, 16, &pl_ops, &t);
	for (size_t i = 0; i < 100; i++) {
		atomic_store(&t.taken, i + 1);
		free(pipeline_take(p, i));
	}
	pipeline_stop(p);
	/* Every result made was taken or discarded; none is lost or leaked
	 * (ASan checks the frees), and the workers stopped. */
	ck_assert_uint_eq(atomic_load(&t.made), 100 + atomic_load(&t.freed));
	ck_assert_uint_lt(atomic_load(&t.made), 100000);
	ck_assert_uint_eq(atomic_load(&t.states), 0);
}
END_TEST

START_TEST(test_pipeline_empty_and_threads)
{
	struct pl_test t = {.window = 8};
	struct pipeline *p = NULL;

	pipeline_start(&p, 0, 2, t.window, 1, &pl_ops, &t);
	pipeline_stop(p);
	pipeline_stop(NULL);
	ck_assert_uint_eq(atomic_load(&t.made), 0);
	ck_assert_uint_eq(pipeline_threads(1), 1);
	ck_assert_uint_ge(pipeline_threads(64), 1);
}
END_TEST

Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pipeline_results_in_order_within_window);
	tcase_add_test(tc, test_pipeline_stop_early_frees_the_rest);
	tcase_add_test(tc, test_pipeline_empty_and_threads);
	suite_add_tcase(s, tc);
	return s;
}
