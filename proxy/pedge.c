/*
 * pedge.c: the proxy's side of edge mode.  The edge process holds the
 * session with the controller and nothing else; what the session carries
 * about this host comes from here, as whole portwing/1.0 messages the
 * edge process only queues:
 *
 *   the inventory    on IPC_E_SUB: dd:container_sync with every container
 *                    (from the inventory the Drydock routes serve, once it
 *                    is ready), then dd:container_added, _updated and
 *                    _removed as Docker's events change it, and a new
 *                    dd:container_sync after each full refresh;
 *   host figures     on IPC_E_METRICS: the metrics message (5.5);
 *   Docker's version for the hello (IPC_P_EDGE_INFO).
 *
 * The inventory's SSE subscriber interface is reused: its frames are the
 * Drydock events of standard mode, renamed and reshaped here.  A message
 * over 64 KiB travels in a memfd.
 */
#include "pwbuild.h"

#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

#define PEDGE_INLINE_MAX	(64 * 1024)

static struct {
	struct event_base	*base;
	struct ipc_chan		*chan;
	struct sub		*sub;		/* while a session wants inventory */
	char			 docker_version[64];
	int			 timeout;	/* REQUEST_TIMEOUT */
	struct dreq		*vreq;
} pe;

static const struct ipc_perm perms_edge[] = {
	{ IPC_E_SUB, 0, 0, 0 },
	{ IPC_E_UNSUB, 0, 0, 0 },
	{ IPC_E_METRICS, 0, 0, 0 },
};

/* One whole message to the edge process, inline or in a memfd. */
static void
pedge_send(const char *text, size_t len)
{
	struct ipc_wr	 wr;
	int		 fd = -1;
	size_t		 off = 0;
	ssize_t		 n;

	if (pe.chan == NULL)
		return;
	ipc_wr_init(&wr);
	ipc_wr_u64(&wr, (uint64_t)len);
	if (len <= PEDGE_INLINE_MAX)
		ipc_wr_bytes(&wr, text, len);
	else {
		if ((fd = memfd_create("pw-edge-frame", MFD_CLOEXEC)) == -1) {
			log_warn("edge: memfd for a %zu-byte message", len);
			ipc_wr_free(&wr);
			return;
		}
		while (off < len) {
			if ((n = write(fd, text + off, len - off)) <= 0) {
				log_warn("edge: writing a %zu-byte message", len);
				close(fd);
				ipc_wr_free(&wr);
				return;
			}
			off += (size_t)n;
		}
	}
	ipc_send(pe.chan, IPC_P_EDGE_FRAME, 0, 0, wr.buf, wr.len, fd);
	ipc_wr_free(&wr);
}

static void
pedge_send_json(json_t *msg)
{
	char	*s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(msg);
	if (s != NULL)
		pedge_send(s, strlen(s));
	free(s);
}

/*
 * An inventory event, as the SSE subscribers get it ("data: {...}\n\n"),
 * as the edge message of the same meaning.
 */
static int
pedge_inv_event(void *arg, const char *p, size_t n)
{
	json_t		*ev, *data, *out = NULL;
	const char	*type;

	if (n < 8 || strncmp(p, "data: ", 6) != 0)
		return 0;
	if ((ev = json_loadb(p + 6, n - 6, JSON_DISABLE_EOF_CHECK,
	    NULL)) == NULL)
		return 0;
	type = json_string_value(json_object_get(ev, "type"));
	data = json_object_get(ev, "data");
	if (type == NULL || data == NULL)
		;
	else if (strcmp(type, "dd:watcher-snapshot") == 0)
		out = json_pack("{s:s, s:{s:O}}", "type", "dd:container_sync",
		    "data", "containers", json_object_get(data, "containers"));
	else if (strcmp(type, "dd:container-added") == 0)
		out = json_pack("{s:s, s:{s:O}}", "type", "dd:container_added",
		    "data", "container", data);
	else if (strcmp(type, "dd:container-updated") == 0)
		out = json_pack("{s:s, s:{s:O}}", "type",
		    "dd:container_updated", "data", "container", data);
	else if (strcmp(type, "dd:container-removed") == 0)
		out = json_pack("{s:s, s:{s:O?, s:O?}}", "type",
		    "dd:container_removed", "data", "id", json_object_get(data,
		    "id"), "name", json_object_get(data, "name"));
	json_decref(ev);
	if (out != NULL)
		pedge_send_json(out);
	return 0;
}

/* The inventory dropped us (it does not for this subscriber) or ends. */
static void
pedge_inv_drop(void *arg)
{
	pe.sub = NULL;
}

static void
pedge_unsub(void)
{
	if (pe.sub != NULL)
		inventory_unsubscribe(pe.sub);
	pe.sub = NULL;
}

static void
version_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	json_t		*j = NULL;
	const char	*v;
	struct ipc_wr	 wr;

	pe.vreq = NULL;
	if (err == NULL && status == 200 && body != NULL)
		j = json_loadb((const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body), 0, NULL);
	if ((v = json_string_value(json_object_get(j, "Version"))) != NULL)
		pw_strlcpy(pe.docker_version, v, sizeof(pe.docker_version));
	json_decref(j);
	if (pe.chan == NULL || pe.docker_version[0] == '\0')
		return;
	ipc_wr_init(&wr);
	ipc_wr_str(&wr, pe.docker_version);
	ipc_send(pe.chan, IPC_P_EDGE_INFO, 0, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

static void
pedge_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	switch (m->hdr.type) {
	case IPC_E_SUB:
		/* A new session: the whole inventory again, then changes. */
		pedge_unsub();
		pe.sub = inventory_subscribe(NULL, pedge_inv_event,
		    pedge_inv_drop, pedge_inv_drop);
		if (pe.vreq == NULL)
			pe.vreq = dclient_request("GET", "/version",
			    pe.timeout, 64 * 1024, NULL, version_done, NULL);
		break;
	case IPC_E_UNSUB:
		pedge_unsub();
		break;
	case IPC_E_METRICS: {
		json_t *d = observe_edge_metrics();

		pedge_send_json(json_pack("{s:s, s:o}", "type", "metrics",
		    "data", d));
		break;
	}
	}
}

static void
pedge_closed(struct ipc_chan *ch, void *arg)
{
	pedge_unsub();
	if (pe.chan == ch)
		pe.chan = NULL;
	ipc_chan_free(ch);
}

/* IPC_M_EDGE_CHAN: the edge process's channel (again after a restart). */
void
pedge_chan(struct event_base *base, const struct pw_config *cfg, int fd)
{
	pe.base = base;
	pe.timeout = cfg->request_timeout;
	pedge_unsub();
	if (pe.chan != NULL)
		ipc_chan_free(pe.chan);
	pe.chan = ipc_chan_new(base, fd, "edge", perms_edge,
	    nitems(perms_edge), pedge_msg, pedge_closed, NULL);
	if (pe.vreq == NULL)
		pe.vreq = dclient_request("GET", "/version", pe.timeout,
		    64 * 1024, NULL, version_done, NULL);
}
