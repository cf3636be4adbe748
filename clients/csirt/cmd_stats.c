/*
 * cmd_stats.c - `csirt stats`: GetStatistics for a period and a division,
 * printed as aligned tables (labels in the session's language), as CSV
 * (--csv) or as proto3 JSON (--json).
 *
 * Both human forms print the same tables (table.h), so the aligned text
 * and the CSV never disagree: table_print() or table_print_csv() (RFC
 * 4180, CRLF), one section per table with its header row first, sections
 * separated by an empty line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"
#include "table.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))
/* Prints one section: a table or its CSV; sections after the first are
 * preceded by an empty line. */
static void
section_print(struct table *t, int csv, int first)
{
	if (!first)
		fputs(csv ? "\r\n" : "\n", stdout);
	if (csv)
		table_print_csv(t, stdout);
	else
		table_print(t, stdout);
	table_free(t);
}

static struct table *
section_new(const char *col0, const char *col1)
{
	struct table *t = table_new(2);

	table_header(t, 0, col0);
	table_header(t, 1, col1);
	return t;
}

static void
count_row(struct table *t, const char *key, uint64_t n)
{
	char num[32];
	const char *cells[2] = {key, num};

	snprintf(num, sizeof(num), "%llu", (unsigned long long)n);
	table_add_row(t, cells);
}

static void
duration_row(struct table *t, const char *name,
             const Csirt__V1__DurationStats *d)
{
	char v[4][32];
	const char *cells[5] = {name, v[0], v[1], v[2], v[3]};
	Csirt__V1__DurationStats zero = CSIRT__V1__DURATION_STATS__INIT;

	if (d == NULL)
		d = &zero;
	snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)d->counted);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)d->excluded);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)d->median_seconds);
	snprintf(v[3], sizeof(v[3]), "%lld", (long long)d->p90_seconds);
	table_add_row(t, cells);
}

/* "15分以内" / "<= 15 min", "24時間超" / "> 24 h"; `prev` is the bound
 * of the bucket before an open one. */
static void
bucket_name(char *out, size_t size, enum lang l, int64_t le, int64_t prev)
{
	int64_t secs = le != 0 ? le : prev;
	int hours = secs % 3600 == 0;
	long long v = (long long)(hours ? secs / 3600 : secs / 60);

	if (l == LANG_JA)
		snprintf(out, size, "%lld%s%s", v, hours ? "時間" : "分",
		         le != 0 ? "以内" : "超");
	else
		snprintf(out, size, "%s %lld %s", le != 0 ? "<=" : ">", v,
		         hours ? "h" : "min");
}

static void
stats_print(const struct cli *cli, const Csirt__V1__GetStatisticsResponse *r,
            int csv)
{
	static const char *const dkeys[] = {"stats.interval", "stats.counted",
	                                    "stats.excluded", "stats.median",
	                                    "stats.p90"};
	enum lang l = cli->lang;
	const char *count = label(l, "stats.count");
	struct table *t;
	char name[64];
	int64_t prev = 0;

	t = section_new(label(l, "stats.total"), count);
	count_row(t, label(l, "stats.total"), r->total);
	section_print(t, csv, 1);

	t = section_new(label(l, "case.category"), count);
	for (size_t i = 0; i < r->n_by_category; i++)
		count_row(t,
		          cli_enum_label(cli, &csirt__v1__category__descriptor,
		                         (int)r->by_category[i]->category),
		          r->by_category[i]->count);
	section_print(t, csv, 0);

	t = section_new(label(l, "case.division"), count);
	for (size_t i = 0; i < r->n_by_division; i++)
		count_row(t, r->by_division[i]->key, r->by_division[i]->count);
	section_print(t, csv, 0);

	t = section_new(label(l, "case.state"), count);
	for (size_t i = 0; i < r->n_by_state; i++)
		count_row(t,
		          cli_enum_label(cli,
		                         &csirt__v1__case_state__descriptor,
		                         (int)r->by_state[i]->state),
		          r->by_state[i]->count);
	section_print(t, csv, 0);

	t = section_new(label(l, "stats.month"), count);
	for (size_t i = 0; i < r->n_by_month; i++)
		count_row(t, r->by_month[i]->key, r->by_month[i]->count);
	section_print(t, csv, 0);

	t = table_new(UTIL_ARRAY_LEN(dkeys));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(dkeys); i++)
		table_header(t, i, label(l, dkeys[i]));
	duration_row(t, label(l, "stats.to_acknowledge"), r->to_acknowledge);
	duration_row(t, label(l, "stats.to_escalate"), r->to_escalate);
	duration_row(t, label(l, "stats.to_close"), r->to_close);
	duration_row(t, label(l, "stats.report_delay"), r->report_delay_stats);
	section_print(t, csv, 0);

	t = section_new(label(l, "stats.delay"), count);
	for (size_t i = 0; i < r->n_report_delay; i++) {
		bucket_name(name, sizeof(name), l,
		            r->report_delay[i]->le_seconds, prev);
		prev = r->report_delay[i]->le_seconds;
		count_row(t, name, r->report_delay[i]->count);
	}
	section_print(t, csv, 0);
}

int
cmd_stats(struct cli *cli, int argc, char **argv)
{
	enum { O_AFTER = 1, O_BEFORE, O_DIVISION, O_CSV };
	static const struct option opts[] = {
	    {"after", required_argument, NULL, O_AFTER},
	    {"before", required_argument, NULL, O_BEFORE},
	    {"division", required_argument, NULL, O_DIVISION},
	    {"csv", no_argument, NULL, O_CSV},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__GetStatisticsRequest *req =
	    NEW(Csirt__V1__GetStatisticsRequest,
	        csirt__v1__get_statistics_request__descriptor);
	Csirt__V1__GetStatisticsResponse *resp = NULL;
	int ch, rc = CLI_EUSAGE, csv = 0;

	while ((ch = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case O_AFTER:
			codec_set_string(&req->reported_after, optarg);
			break;
		case O_BEFORE:
			codec_set_string(&req->reported_before, optarg);
			break;
		case O_DIVISION:
			codec_set_string(&req->division, optarg);
			break;
		case O_CSV:
			csv = 1;
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("stats", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (optind < argc) {
		rc = cli_usage("stats", "unexpected argument");
		goto done;
	}
	if (csv && cli->json) {
		rc = cli_usage("stats", "--csv and --json exclude each other");
		goto done;
	}
	if ((rc = cli_rpc(cli, "CaseService/GetStatistics", &req->base,
	                  &csirt__v1__get_statistics_response__descriptor,
	                  (ProtobufCMessage **)&resp)) != CLI_OK)
		goto done;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		stats_print(cli, resp, csv);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}
