/*
 * fuzz_compose.c: libFuzzer harness for POST /_portwing/compose's body
 * (compose/cwire.c): parse, check, then the argument vector and the
 * .env.drydock text.  The same bytes also go straight in as a registry
 * server, a stack directory and a file name, so the URI reader and the
 * path cleaning see inputs JSON would not have to carry.  Whatever
 * passes the checks must be safe to hand the runner: relative paths
 * with no ".." in them, env lines that stay lines, a vector without
 * holes.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cwire.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Relative, no empty, "." or ".." element; "." alone only if dot_ok. */
static void
check_rel(const char *p, int dot_ok)
{
	const char	*s = p, *e;
	size_t		 n;

	if (p == NULL || *p == '\0' || *p == '/')
		abort();
	if (strcmp(p, ".") == 0) {
		if (!dot_ok)
			abort();
		return;
	}
	for (;;) {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			abort();
		if (e == NULL)
			break;
		s = e + 1;
	}
}

/* A message for a person: printable, quoted values escaped. */
static void
check_msg(const char *m)
{
	if (*m == '\0')
		abort();
	for (; *m != '\0'; m++)
		if ((unsigned char)*m < 0x20 || *m == 0x7f)
			abort();
}

static void
check_valid(struct compose_req *req)
{
	char	*t, *line;
	size_t	 i, n, lines = 0;

	check_rel(req->stack_dir, 1);
	for (i = 0; i < req->nfiles; i++) {
		check_rel(req->files[i].path, 0);
		if (req->files[i].data == NULL ||
		    req->files[i].data[req->files[i].len] != '\0')
			abort();
	}
	for (i = 0; i < req->nservices; i++)
		if (req->services[i][0] == '-')
			abort();
	if (req->has_auth && strncasecmp(req->auth_server, "https:", 6) != 0)
		abort();
	t = compose_env_text(req, &n);
	if (strlen(t) != n)
		abort();
	for (line = t; *line != '\0'; line = strchr(line, '\n') + 1) {
		if (strchr(line, '\n') == NULL || strchr(line, '=') == NULL ||
		    strchr(line, '\r') != NULL)
			abort();
		lines++;
	}
	if (lines != req->nenv)
		abort();
	free(t);
}

/* The length compose_argv must produce, counted independently. */
static size_t
argv_want(const struct compose_req *req, size_t nbin, int env)
{
	const char	*op = req->operation;
	size_t		 n = nbin + 3 + (env ? 2 : 0);

	if (strcmp(op, "up") == 0)
		return n + 2 + req->build + req->force_recreate +
		    req->no_deps + req->nservices;
	if (strcmp(op, "down") == 0)
		return n + 1 + req->remove_volumes;
	if (strcmp(op, "ps") == 0)
		return n + 2;
	if (strcmp(op, "logs") == 0 && req->tail > 0)
		return n + 2 + req->nservices;
	return n + req->nservices;
}

static void
check_argv(struct compose_req *req, int env)
{
	static const char *const	 bin[] = { "docker", "compose" };
	char				**av, *msg;
	size_t				  i, want;

	av = compose_argv(req, bin, 2, "/srv/stacks/x",
	    env ? "/srv/stacks/x/" COMPOSE_ENV_FILE : NULL);
	if ((av != NULL) != compose_op_known(req->operation))
		abort();
	if (av == NULL) {
		msg = xmalloc(4 * strlen(req->operation) + 64);
		compose_op_unsupported(req->operation, msg,
		    4 * strlen(req->operation) + 64);
		check_msg(msg);
		if (msg[strlen(msg) - 1] != '"')
			abort();
		free(msg);
		return;
	}
	want = argv_want(req, 2, env);
	for (i = 0; i < want; i++)
		if (av[i] == NULL)
			abort();
	if (av[want] != NULL || strcmp(av[4 + (env ? 2 : 0)],
	    req->operation) != 0)
		abort();
	compose_argv_free(av);
}

/* The bytes, up to a NUL, as one field of an otherwise valid request. */
static void
direct(const uint8_t *data, size_t size)
{
	struct compose_req	 req;
	char			 err[1024], *s;
	int			 k;

	s = xstrndup((const char *)data, size);
	for (k = 0; k < 3; k++) {
		memset(&req, 0, sizeof(req));
		req.stack_name = xstrdup("s");
		if (k == 0) {
			req.has_auth = 1;
			req.auth_server = xstrdup(s);
		} else if (k == 1)
			req.stack_dir = xstrdup(s);
		else {
			req.has_files = 1;
			req.files = xcalloc(1, sizeof(*req.files));
			req.files[0].path = xstrdup(s);
			req.files[0].data = (uint8_t *)xstrdup("");
			req.nfiles = 1;
		}
		if (compose_validate(&req, err, sizeof(err)) == 0)
			check_valid(&req);
		else
			check_msg(err);
		compose_req_free(&req);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct compose_req	req;
	char			err[1024];

	direct(data, size);
	if (compose_parse((const char *)data, size, &req, err,
	    sizeof(err)) == -1) {
		if (req.stack_name != NULL || req.files != NULL ||
		    err[0] == '\0')
			abort();
		return 0;
	}
	if (req.operation == NULL || req.stack_name == NULL ||
	    req.stack_dir == NULL || (req.has_auth &&
	    req.auth_server == NULL) || req.timeout < 0 ||
	    req.timeout > COMPOSE_TIMEOUT_MAX)
		abort();
	if (compose_validate(&req, err, sizeof(err)) == 0)
		check_valid(&req);
	else
		check_msg(err);
	check_argv(&req, size & 1);
	compose_req_free(&req);
	return 0;
}
