/*
 * owner.h: owner-label isolation (§6 of the policy reference), the
 * policyd side.  A create body is stamped with the owner label before it
 * is judged, so the inspectors judge, and Docker receives, the stamped
 * bytes.  The body is not re-serialised: only the Labels member is
 * rewritten, in place, so every other byte (numbers above 2^53 among
 * them) reaches Docker exactly as the client wrote it.
 */
#ifndef PW_OWNER_H
#define PW_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include "inspect.h"

/*
 * 1 when the endpoint (inspector, normalised path) is stamped with the
 * owner label: container, network and volume creates, and the secret
 * and config creates, whose bodies are otherwise not inspected.
 * pol_owner_cap is the most body bytes held for it with ownership on.
 */
#define OWNER_BODY_MAX	(1024 * 1024)
int	pol_owner_stamps(enum pol_insp, const char *);
size_t	pol_owner_cap(enum pol_insp, const char *);

/*
 * Stamp body (len bytes) with key=owner in its top-level Labels: every
 * case variant of Labels becomes the one canonical "Labels" member (the
 * inspectors refuse two keys that fold equal, so there is at most one),
 * the client's value for key is replaced, and a body without Labels gets
 * one.  On success 0 and *out (malloc'd, the caller frees) of *outlen
 * bytes.  Otherwise the HTTP status (400 or 403) and v->reason say why:
 * an empty or null body, a body that is not an object, Labels that is
 * not an object of strings, keys that fold equal, malformed JSON.
 */
int	pol_owner_stamp(const char *, const char *, const uint8_t *, size_t,
	    uint8_t **, size_t *, struct pol_verdict *);

/* 1 when the normalised path is a list, prune or events endpoint. */
int	pol_owner_filters(const char *);

/*
 * The query Docker receives for such a path: the first filters value
 * (modern {"k":["v"]} or legacy {"k":{"v":true}} form) re-encoded in the
 * modern form with its label entry ("node.label" for /nodes) replaced by
 * exactly ["key=owner"], and the whole query re-encoded like Go's
 * url.Values.Encode (keys sorted).  0 and *out (malloc'd), or 400 and
 * v->reason: a bad escape, a semicolon, filters longer than 64 KiB or of
 * another shape.
 */
int	pol_owner_filter(const char *, const char *, const char *,
	    const char *, char **, struct pol_verdict *);

/* Kinds of addressed resources (§6.3), on the wire in IPC_P_OWNED. */
enum owner_kind {
	OWK_NONE = 0, OWK_CONTAINER, OWK_IMAGE, OWK_NETWORK, OWK_VOLUME,
	OWK_SERVICE, OWK_SECRET, OWK_CONFIG, OWK_TASK, OWK_NODE, OWK_SWARM,
	OWK_EXEC,		/* judged by the container it runs in */
	OWK_MAX = OWK_EXEC
};

/*
 * The resource a normalised path addresses: its kind (OWK_NONE: none)
 * and name or id in id; *claim is 1 on node and swarm updates, which may
 * claim an unlabeled resource.  No JSON: the proxy calls these.
 */
int	pol_owner_target(const char *, const char *, char *, size_t, int *);
void	pol_owner_lookup_path(int, const char *, char *, size_t);
const char *pol_owner_kind_name(int);

/*
 * Judge Docker's inspect answer for kind: 0 when its owner label is
 * ours; 403 "owner policy denied access to KIND" for another owner, or
 * for no label (except images with allow_unowned_images, and claims);
 * 502 when the answer is not an inspect object.
 */
int	pol_owner_judge(const char *, const char *, int, int, int,
	    const uint8_t *, size_t, struct pol_verdict *);

/*
 * References inside a container create body (§6.4): Image, named
 * volumes in Binds and Mounts, a custom NetworkMode, EndpointsConfig
 * keys and NetworkIDs, and (unless allow_cross_owner_namespace_sharing)
 * container:<ref> namespace targets, flagged OWNER_REF_NS: one of those
 * that Docker does not know passes (Docker fails the create), any other
 * unknown reference is refused.  -1 when the body does not decode or
 * holds more than OWNER_REFS_MAX references.
 */
#define OWNER_REFS_MAX	64
#define OWNER_REF_MAX	1024
#define OWNER_REF_NS	0x1	/* one Docker does not know passes */
struct owner_ref {
	int	kind;		/* OWK_* */
	int	flags;		/* OWNER_REF_* */
	char	id[OWNER_REF_MAX];
};
int	pol_owner_refs(const uint8_t *, size_t, int, struct owner_ref *,
	    size_t *);
/*
 * The container of an exec, from Docker's GET /exec/{id}/json answer,
 * into ref (flagged OWNER_REF_NS: a container gone passes, Docker fails
 * the call); -1 when the answer names none.
 */
int	pol_owner_exec_ref(const uint8_t *, size_t, struct owner_ref *);

#endif
