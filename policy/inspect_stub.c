/*
 * inspect_stub.c: just enough of policy/inspect.c for the engine's unit
 * test (tests/unit/test_policy.c): safe defaults, a request_body loader
 * that accepts any mapping and only counts exec.allowed_commands, and the
 * three inspector routes the startup probes care about.  Never linked
 * into libpwpolicy.a.
 */
#include "pwbuild.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "inspect.h"

void
pol_body_init(struct pol_body *b)
{
	memset(b, 0, sizeof(*b));
	b->allow_official = 1;
	b->ep_allow_aliases = 1;
	b->svc_allow_official = 1;
	b->plg_allow_official = 1;
}

void
pol_body_free(struct pol_body *b)
{
	free(b->exec_allowed_commands);
	memset(b, 0, sizeof(*b));
}

void
pol_strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static yaml_node_t *
get(yaml_document_t *d, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(d, p->key);
		if (k->type == YAML_SCALAR_NODE &&
		    strcasecmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

int
pol_body_load(struct pol_body *b, yaml_document_t *d, yaml_node_t *n,
    const char *prefix, char ***ignored, char *err, size_t errlen)
{
	yaml_node_t	*c;
	size_t		 k;

	(void)prefix;
	(void)err;
	(void)errlen;
	*ignored = NULL;
	c = get(d, get(d, n, "exec"), "allowed_commands");
	if (c != NULL && c->type == YAML_SEQUENCE_NODE) {
		k = (size_t)(c->data.sequence.items.top -
		    c->data.sequence.items.start);
		free(b->exec_allowed_commands);
		b->exec_allowed_commands = k ? xcalloc(k, sizeof(struct pol_argv)) :
		    NULL;
		b->exec_nallowed_commands = k;
	}
	return 0;
}

/* "/a/STAR/b" against a path, STAR being one segment. */
static int
seg_match(const char *pat, const char *path)
{
	while (*pat != '\0') {
		if (*pat == '*') {
			while (*path != '\0' && *path != '/')
				path++;
			pat++;
		} else if (*pat++ != *path++)
			return 0;
	}
	return *path == '\0';
}

enum pol_insp
pol_inspector_for(const char *method, const char *npath)
{
	if (strcmp(method, "POST") != 0)
		return PI_NONE;
	if (strcmp(npath, "/containers/create") == 0)
		return PI_CONTAINER_CREATE;
	if (seg_match("/containers/*/exec", npath))
		return PI_EXEC_CREATE;
	if (seg_match("/exec/*/start", npath))
		return PI_EXEC_START;
	return PI_NONE;
}

const char *
pol_inspector_name(enum pol_insp pi)
{
	switch (pi) {
	case PI_CONTAINER_CREATE:
		return "container_create";
	case PI_EXEC_CREATE:
		return "exec_create";
	case PI_EXEC_START:
		return "exec_start";
	default:
		return "none";
	}
}
