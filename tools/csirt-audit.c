/*
 * csirt-audit - verifies a csirtd ledger without trusting csirtd.
 *
 *   csirt-audit verify LEDGER [--allowed-signers FILE] [--anchor SEQ:COMMIT]
 *                             [--index index.sqlite] [--checkpoint FILE]
 *   csirt-audit checkpoint LEDGER [--allowed-signers FILE]
 *
 * `checkpoint` verifies the ledger as `verify` does and prints its newest
 * signed checkpoint (for auditors to keep out of band and give back with
 * `verify --checkpoint`).
 *
 * Reads the repository only (and the index given, read-only).  Exits 0 when
 * the ledger verifies, 1 when it does not (naming the first bad commit and
 * the rule it broke), 2 on a usage error.  The rules are in csirtd/audit.h.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define PROGRESS_EVERY 100000

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: csirt-audit verify LEDGER [--allowed-signers FILE] "
	       "[--anchor SEQ:COMMIT]\n"
	       "                                 [--index index.sqlite] "
	       "[--checkpoint FILE]\n"
	       "       csirt-audit checkpoint LEDGER [--allowed-signers "
	       "FILE]\n"
	       "\n"
	       "Verifies a csirtd ledger (DATA/ledger.git) from the repository "
	       "alone:\n"
	       "  1 refs       refs/heads/ledger is the only ref\n"
	       "  2 linear     no merges, one root\n"
	       "  3 signature  every commit SSH-signed (namespace git) by an "
	       "allowed key\n"
	       "  4 files      one new event file per commit, only its case's "
	       "directory,\n"
	       "               events never modified or deleted\n"
	       "  5 event      Seq 1, 2, ...; event file matches Event-SHA256 "
	       "and trailers\n"
	       "  6 case       every case.json is the fold of its events\n"
	       "  7 anchor     --anchor SEQ:COMMIT is in the history with that "
	       "Seq\n"
	       "  8 index      --index equals an index replayed from the "
	       "ledger\n"
	       "  9 checkpoint every checkpoint commit: signed by an allowed "
	       "key, its root\n"
	       "               the Merkle root (RFC 6962) of the events "
	       "before it\n"
	       " 10 pinned     --checkpoint FILE: same root and head at its "
	       "size\n"
	       "\n"
	       "checkpoint verifies, then prints the newest signed checkpoint "
	       "to pin.\n"
	       "\n"
	       "  --allowed-signers FILE  git allowed-signers file (default: "
	       "DATA/keys/allowed_signers)\n"
	       "  --anchor SEQ:COMMIT     a commit id noted earlier, with its "
	       "Seq\n"
	       "  --index FILE            index.sqlite to compare\n"
	       "  --checkpoint FILE       a checkpoint pinned earlier\n"
	       "  -h, --help              this help\n"
	       "\n"
	       "Exit status: 0 verified, 1 not verified, 2 usage error.\n");
}

static void
progress_cb(uint64_t commits, uint64_t total, void *arg)
{
	(void)arg;
	fprintf(stderr, "csirt-audit: %" PRIu64 " of %" PRIu64 " commits\n",
	        commits, total);
}

/* DATA/keys/allowed_signers for LEDGER = DATA/ledger.git. */
static char *
default_signers(const char *ledger)
{
	char *dir = util_strdup(ledger), *slash, *out;
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, n + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	out = util_path_join(dir, "keys/allowed_signers");
	free(dir);
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"allowed-signers", required_argument, NULL, 's'},
	    {"anchor", required_argument, NULL, 'a'},
	    {"index", required_argument, NULL, 'i'},
	    {"checkpoint", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct audit_options opt;
	struct audit_report rep;
	char *signers = NULL, *anchor = NULL;
	bool print_checkpoint;
	int ch, rc;

	memset(&opt, 0, sizeof(opt));
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || (strcmp(argv[optind], "verify") != 0 &&
	                       strcmp(argv[optind], "checkpoint") != 0)) {
		usage(stderr);
		return 2;
	}
	print_checkpoint = strcmp(argv[optind], "checkpoint") == 0;
	/* Options of the subcommand: parse argv from "verify" on, afresh
	 * (optind 0 reinitialises GNU getopt). */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.allowed_signers = optarg;
			break;
		case 'a':
			anchor = optarg;
			break;
		case 'i':
			opt.index = optarg;
			break;
		case 'c':
			opt.checkpoint = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc ||
	    (print_checkpoint && (anchor || opt.index || opt.checkpoint))) {
		usage(stderr);
		return 2;
	}
	opt.ledger = argv[optind];
	if (anchor != NULL) {
		char *colon = strchr(anchor, ':'), *end;
		if (colon == NULL || colon == anchor || colon[1] == '\0' ||
		    anchor[0] < '1' || anchor[0] > '9') {
			fprintf(stderr,
			        "csirt-audit: --anchor wants SEQ:COMMIT, "
			        "like 1234:0f3a9c...\n");
			return 2;
		}
		opt.anchor_seq = strtoull(anchor, &end, 10);
		if (end != colon) {
			fprintf(stderr, "csirt-audit: bad Seq in --anchor\n");
			return 2;
		}
		opt.anchor_commit = colon + 1;
	}
	if (opt.allowed_signers == NULL)
		opt.allowed_signers = signers = default_signers(opt.ledger);
	/* The replay for --index logs its routine steps; only trouble
	 * belongs next to the verdict. */
	log_set_level(LOGL_WARN);
	opt.progress = progress_cb;
	opt.progress_every = PROGRESS_EVERY;

	rc = audit_verify(&rep, &opt);
	if (rc == 0 && print_checkpoint) {
		if (rep.checkpoint[0] == '\0') {
			fprintf(stderr,
			        "csirt-audit: %s verifies but holds no "
			        "checkpoint yet\n",
			        opt.ledger);
			rc = 1;
		} else {
			fputs(rep.checkpoint, stdout);
		}
	} else if (rc == 0) {
		printf("verified %" PRIu64 " events in %" PRIu64
		       " commits, head %s\n",
		       rep.events, rep.commits, rep.head);
		if (rep.checkpoints > 0)
			printf("verified %" PRIu64 " signed checkpoints\n",
			       rep.checkpoints);
	} else if (rep.rule != AUDIT_OK) {
		fprintf(stderr,
		        "csirt-audit: NOT VERIFIED: rule %d (%s) broken%s%s: "
		        "%s\n",
		        (int)rep.rule, audit_rule_name(rep.rule),
		        rep.commit[0] ? " by commit " : "", rep.commit,
		        rep.message);
	} else {
		fprintf(stderr, "csirt-audit: cannot verify %s: %s\n",
		        opt.ledger, rep.message);
	}
	free(signers);
	return rc == 0 ? 0 : 1;
}
