/*
 * cmd_note.c - `csirt note add|edit|versions`: case notes, written from -m,
 * a file, or $EDITOR (edit starts from the latest version's text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))

/* The latest version of a note, or NULL (message printed, *rc set). */
static Csirt__V1__GetNoteVersionsResponse *
note_versions(struct cli *cli, const char *case_id, const char *note_id,
              int *rc)
{
	Csirt__V1__GetNoteVersionsRequest *req =
	    NEW(Csirt__V1__GetNoteVersionsRequest,
	        csirt__v1__get_note_versions_request__descriptor);
	Csirt__V1__GetNoteVersionsResponse *resp = NULL;

	codec_set_string(&req->case_id, case_id);
	codec_set_string(&req->note_id, note_id);
	*rc = cli_rpc(cli, "CaseService/GetNoteVersions", &req->base,
	              &csirt__v1__get_note_versions_response__descriptor,
	              (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	return resp;
}

/* Text from -m, -F or the editor; an empty result cancels. */
static int
note_text(char **out, const char *msg, const char *file, const char *initial)
{
	int rc;

	*out = NULL;
	if (msg != NULL)
		*out = util_strdup(msg);
	else if (file != NULL) {
		if ((rc = cli_read_text(out, file)) != CLI_OK)
			return rc;
	} else if ((rc = cli_edit_text(out, initial, ".md")) != CLI_OK)
		return rc;
	if (strspn(*out, " \t\r\n") == strlen(*out)) {
		cli_err("note: empty text; nothing was sent");
		free(*out);
		*out = NULL;
		return CLI_EUSAGE;
	}
	if (msg == NULL && file == NULL && initial != NULL &&
	    strcmp(*out, initial) == 0) {
		cli_err("note: text unchanged; nothing was sent");
		free(*out);
		*out = NULL;
		return CLI_EUSAGE;
	}
	return CLI_OK;
}

static int
note_done(struct cli *cli, Csirt__V1__NoteResponse *resp)
{
	if (cli->json)
		return cli_print_json(&resp->base);
	if (resp->note != NULL)
		printf("%s  %s  %s %u  (%s %llu)\n", resp->note->case_id,
		       resp->note->id, label(cli->lang, "note.version"),
		       resp->note->version, label(cli->lang, "event.seq"),
		       (unsigned long long)resp->seq);
	return CLI_OK;
}

static int
note_add_edit(struct cli *cli, int argc, char **argv, int edit)
{
	enum { O_CONF = 1, O_REASON };
	static const struct option opts[] = {
	    {"message", required_argument, NULL, 'm'},
	    {"file", required_argument, NULL, 'F'},
	    {"confidentiality", required_argument, NULL, O_CONF},
	    {"reason", required_argument, NULL, O_REASON},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__GetNoteVersionsResponse *versions = NULL;
	Csirt__V1__NoteResponse *resp = NULL;
	ProtobufCMessage *req = NULL;
	const char *msg = NULL, *file = NULL, *conf = NULL, *reason = NULL;
	char *text = NULL;
	int ch, rc = CLI_EUSAGE, v = 0;

	while ((ch = cli_getopt(cli, argc, argv, "m:F:h", opts)) != -1) {
		switch (ch) {
		case 'm':
			msg = optarg;
			break;
		case 'F':
			file = optarg;
			break;
		case O_CONF:
			conf = optarg;
			break;
		case O_REASON:
			reason = optarg;
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("note", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (argc - optind != (edit ? 2 : 1)) {
		rc = cli_usage("note", edit ? "expected a case id and a note id"
		                            : "expected a case id");
		goto done;
	}
	/* An option the subcommand would ignore is a usage error, not a
	 * silent no-op: a note keeps its classification when edited, and a
	 * new note has no reason. */
	if (edit && conf != NULL) {
		rc = cli_usage("note", "note edit keeps the note's "
		                       "classification: --confidentiality is "
		                       "for note add");
		goto done;
	}
	if (!edit && reason != NULL) {
		rc = cli_usage("note", "--reason is for note edit");
		goto done;
	}
	if (conf != NULL &&
	    (v = cli_enum_parse(&csirt__v1__confidentiality__descriptor,
	                        "CONFIDENTIALITY_", conf)) < 0) {
		cli_err("note: --confidentiality %s: use low, medium or high",
		        conf);
		goto done;
	}
	if (edit) {
		const char *initial = NULL;

		if (msg == NULL && file == NULL) {
			versions = note_versions(cli, argv[optind],
			                         argv[optind + 1], &rc);
			if (versions == NULL)
				goto done;
			if (versions->n_versions > 0)
				initial =
				    versions->versions[versions->n_versions - 1]
				        ->text;
		}
		if ((rc = note_text(&text, msg, file, initial)) != CLI_OK)
			goto done;
		Csirt__V1__EditNoteRequest *r =
		    NEW(Csirt__V1__EditNoteRequest,
		        csirt__v1__edit_note_request__descriptor);
		codec_set_string(&r->case_id, argv[optind]);
		codec_set_string(&r->note_id, argv[optind + 1]);
		codec_set_string(&r->text, text);
		codec_set_string(&r->reason, reason);
		req = &r->base;
	} else {
		if ((rc = note_text(&text, msg, file, NULL)) != CLI_OK)
			goto done;
		Csirt__V1__AddNoteRequest *r =
		    NEW(Csirt__V1__AddNoteRequest,
		        csirt__v1__add_note_request__descriptor);
		codec_set_string(&r->case_id, argv[optind]);
		codec_set_string(&r->text, text);
		/* The case's classification unless 機密性 is raised (第4.4:
		 * the daemon fills the rest from the case and refuses
		 * anything below it).  機密性高・中 notes are sealed by the
		 * daemon under their own keys; 機密性低 ones stay plain text,
		 * readable by auditors in git. */
		if (v > 0) {
			r->classification =
			    NEW(Csirt__V1__Classification,
			        csirt__v1__classification__descriptor);
			r->classification->confidentiality =
			    (Csirt__V1__Confidentiality)v;
		}
		req = &r->base;
	}
	if ((rc = cli_rpc(cli,
	                  edit ? "CaseService/EditNote" : "CaseService/AddNote",
	                  req, &csirt__v1__note_response__descriptor,
	                  (ProtobufCMessage **)&resp)) == CLI_OK)
		rc = note_done(cli, resp);
done:
	free(text);
	codec_free(req);
	codec_free(versions != NULL ? &versions->base : NULL);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

static int
note_show_versions(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__GetNoteVersionsResponse *resp;
	int ch, rc = CLI_EUSAGE;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("note", NULL) : rc;
	if (argc - optind != 2)
		return cli_usage("note", "expected a case id and a note id");
	resp = note_versions(cli, argv[optind], argv[optind + 1], &rc);
	if (resp == NULL)
		return rc;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		for (size_t i = 0; i < resp->n_versions; i++) {
			if (i > 0)
				printf("\n");
			cli_print_note(cli, resp->versions[i]);
		}
	codec_free(&resp->base);
	return rc;
}

int
cmd_note(struct cli *cli, int argc, char **argv)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "+h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("note", NULL)
		                          : CLI_EUSAGE;
	if (optind >= argc)
		return cli_usage("note", "expected add, edit or versions");
	argc -= optind;
	argv += optind;
	optind = 0;
	if (strcmp(argv[0], "add") == 0)
		return note_add_edit(cli, argc, argv, 0);
	if (strcmp(argv[0], "edit") == 0)
		return note_add_edit(cli, argc, argv, 1);
	if (strcmp(argv[0], "versions") == 0)
		return note_show_versions(cli, argc, argv);
	return cli_usage("note", "expected add, edit or versions");
}
