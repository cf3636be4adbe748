#include <check.h>

#include "suites.h"

/* Placeholder; the real suite lands with the module. */
Suite *
index_suite(void)
{
	return suite_create("index");
}
