/*
 * portwing.c: the command-line tool.  Subcommands:
 *   portwing version
 *   portwing check-config [-v] [-f FILE]
 *   portwing hash-token, keygen, request, connect, audit-verify, policy
 *   (cli_*.c)
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "tls.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: portwing version\n"
	    "       portwing check-config [-v] [-f file]\n"
	    "       portwing hash-token\n"
	    "       portwing keygen [-comment text] [-out file]\n"
	    "       portwing keygen -pub-from file [-comment text]\n"
	    "       portwing request [-k keyfile] [-H 'Name: value']... "
	    "[-cacert file]\n"
	    "                [-insecure] [-v] method url [body | @file | -]\n"
	    "       portwing connect -k keyfile -L socket [-cacert file] "
	    "[-insecure]\n"
	    "                [-max-body bytes] http[s]://host:port\n"
	    "       portwing audit-verify file\n"
	    "       portwing policy check file|preset\n"
	    "       portwing policy test [-profile name] file|preset method "
	    "path [body]\n");
}

static int
cmd_check_config(int argc, char **argv)
{
	struct pw_config	 cfg;
	const char		*file = NULL;
	char			 err[512], *cert = NULL, *key = NULL;
	size_t			 certlen = 0, keylen = 0;
	int			 ch, verbose = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, file, file != NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "portwing: %s\n", err);
		return 1;
	}
	tls_global_init();
	if (tls_load_files(&cfg, &cert, &certlen, &key, &keylen, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "portwing: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	free(cert);
	freezero(key, keylen);
	if (verbose)
		config_dump(&cfg, stdout);
	printf("configuration OK\n");
	config_free(&cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("portwing", LOG_LVL_WARN, 0);
	if (argc < 2) {
		/* Portwing's single binary ran the agent with no arguments. */
		fprintf(stderr, "portwing: no command given.  This is the "
		    "command-line tool; the agent is portwingd: run "
		    "\"portwingd\" to start it\n(Portwing's \"portwing\" "
		    "with no arguments started the agent; here portwingd "
		    "does).\n");
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("%s\n", PW_VERSION_STRING);
		return 0;
	}
	if (strcmp(argv[1], "check-config") == 0)
		return cmd_check_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "hash-token") == 0)
		return cli_hash_token(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cli_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "request") == 0)
		return cli_request(argc - 1, argv + 1);
	if (strcmp(argv[1], "connect") == 0)
		return cli_connect(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit-verify") == 0)
		return cli_audit_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return cli_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "portwing: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
