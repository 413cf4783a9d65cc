/*
 * ipc_msg.h: every message portwing processes exchange, in one place.
 *
 * Bump IPC_PROTOCOL_VERSION on any change to an existing type or payload.
 * Children are always the same binary as the master (fork + exec of
 * /proc/self/exe), and the master refuses a child whose READY names
 * another version.  A new type alone (IPC_M_PING, IPC_C_PONG,
 * IPC_P_DOCKER_STATE) is known to both sides of that one binary.
 *
 * Numbering: the high byte is the channel, the low byte the message; each
 * comment says who sends it to whom and what the payload holds (in the
 * order written with ipc_wr_*; "str" is a u32 length then bytes, no NUL).
 * Fixed limits live next to the types so senders and receivers agree.
 */
#ifndef PW_IPC_MSG_H
#define PW_IPC_MSG_H

#define IPC_PROTOCOL_VERSION	10

#define IPC_MAX_CONFIG		(64 * 1024)
#define IPC_MAX_TLS		(256 * 1024)
#define IPC_MAX_HEAD		(80 * 1024)	/* request head + approval */
#define IPC_MAX_AUTH		(80 * 1024 + IPC_MAX_HEAD)	/* with a request to pass on */
#define IPC_MAX_KEYS		(192 * 1024)	/* authorized_keys text */
#define IPC_MAX_SIG		2048		/* a signature from keyd */

/*
 * Worker slots are 0..63.  The edge process asks authd and the proxy as a
 * worker would, under this slot of its own, so that approvals minted for
 * the controller's requests are bound to it and no worker can use them.
 */
#define IPC_EDGE_SLOT		64

enum ipc_type {
	/* master <-> every child (0x01xx) */
	IPC_M_CONFIG = 0x0101,		/* master -> child: fd = the shared counter
					   segment (common/stats.h); str kv-table (NAME=value\n),
					   u32 generation, u32 slot */
	IPC_M_SHUTDOWN = 0x0102,	/* master -> child: empty; drain and exit */
	IPC_M_RELOAD = 0x0103,		/* master -> child: str kv-table of changed values */
	IPC_C_READY = 0x0181,		/* child -> master: u32 IPC_PROTOCOL_VERSION */
	IPC_C_RELOADED = 0x0182,	/* child -> master: u32 0 ok / errno */
	IPC_M_KEYS = 0x0104,		/* master -> authd: str authorized_keys text
					   (validated by the master) */
	IPC_M_ENROLL_DONE = 0x0105,	/* master -> authd: hdr.id echoed; u32 0 ok,
					   else errno: the key is (not) on disk */
	IPC_M_APPROVAL_KEY = 0x0106,	/* master -> authd, proxy: 32 bytes, the
					   approval key of a new generation (sent to
					   the one that lives on when the other was
					   restarted) */
	IPC_A_ENROLL_ADD = 0x0183,	/* authd -> master: hdr.id = request id;
					   str authorized_keys line, str key ID.
					   Append it and burn the enrollment token */
	IPC_M_TLS_KEY = 0x0108,		/* master -> keyd: u32 TLS generation,
					   str private key PEM */
	IPC_C_LOG = 0x0184,		/* child -> master: u32 level, u32 lines lost
					   before this one, str message (at most
					   LOG_MSG_MAX).  The master writes it under
					   the child's name */
	IPC_M_PING = 0x0107,		/* master -> child: empty; hdr.id = probe
					   number.  Liveness (systemd watchdog), the
					   end of a reload, and keyd having read a
					   new IPC_M_TLS_KEY */
	IPC_C_PONG = 0x0185,		/* child -> master: empty; hdr.id echoed,
					   from the child's event loop */
	IPC_M_POLICY = 0x0109,		/* master -> proxy, policyd: fd = a sealed
					   memfd holding the policy YAML then the
					   compatibility variables (NAME=value\n);
					   u32 policy generation, str source,
					   u32 YAML length, u32 variables length */

	/* master -> worker (0x02xx) */
	IPC_M_LISTENER = 0x0201,	/* fd: a listening socket; u32 is_tls */
	IPC_M_TLS = 0x0202,		/* u32 TLS generation, str cert-chain PEM
					   (no key: keyd signs for the worker) */
	IPC_M_AUTHD_CHAN = 0x0203,	/* fd: worker's end of worker<->authd;
					   hdr.id = that authd's spawn generation */
	IPC_M_PROXY_CHAN = 0x0204,	/* fd: worker's end of worker<->proxy */
	IPC_M_KEYD_CHAN = 0x0205,	/* fd: worker's end of worker<->keyd */
	IPC_M_MTLS_CA = 0x0206,		/* str MTLS_CLIENT_CA PEM: the CAs that
					   issue LISTEN_MTLS client certificates
					   (sent before IPC_M_TLS) */

	/* master -> authd and proxy (0x03xx) */
	IPC_M_WORKER_CHAN = 0x0301,	/* fd: their end of a worker channel
					   (also master -> keyd);
					   hdr.peer = worker slot */
	IPC_M_DOCKER_ANS = 0x0302,	/* master -> proxy: hdr.id echoed;
					   u32 errno (0 = ok), fd when ok */
	IPC_M_FILE = 0x0303,		/* master -> proxy: u32 OBS_* kind, fd: a file
					   the master opened for it (/proc files, the
					   Docker data root, the audit sink) */
	IPC_M_AUDIT_CHAN = 0x0304,	/* master -> authd, proxy: fd: their end of
					   the authd -> proxy channel (audit records,
					   IPC_A_REQ); to the proxy, hdr.id = that
					   authd's spawn generation */
	IPC_M_POLICY_CHAN = 0x0305,	/* master -> proxy, policyd: fd: their end
					   of the proxy <-> policyd channel */
	IPC_M_EDGE_CHAN = 0x0307,	/* master -> proxy, edge: fd: their end of
					   the proxy <-> edge channel */
	IPC_M_COMPOSE_CHAN = 0x0309,	/* master -> proxy, composer: fd: their
					   end of the proxy <-> composer
					   channel */
	IPC_M_FILED_CHAN = 0x0308,	/* master -> proxy, filed: fd: their end
					   of the proxy <-> filed channel */
	IPC_M_MTLS_AUTHD = 0x0306,	/* master -> authd: str MTLS_CLIENT_CA PEM;
					   authd verifies client chains with it */
	IPC_P_DOCKER_REQ = 0x0381,	/* proxy -> master: hdr.id = request id;
					   empty. Asks for one connected Docker fd */
	IPC_P_DOCKER_STATE = 0x0382,	/* proxy -> master: u32 1 Docker answered,
					   0 it could not be reached; the first
					   check after start, then each change */

	/* worker <-> authd (0x04xx) */
	IPC_W_AUTH_REQ = 0x0401,	/* worker -> authd: see authd/authd.h */
	IPC_W_ENROLL_REQ = 0x0402,	/* worker -> authd: str client, str body */
	IPC_A_AUTH_ANS = 0x0481,	/* authd -> worker: verdict + approval */
	IPC_A_ENROLL_ANS = 0x0482,	/* authd -> worker: u32 status,
					   str content type, str body */

	/* worker <-> proxy (0x05xx) */
	IPC_W_AUDIT = 0x0502,		/* worker -> proxy: an api_request record for
					   an answer the worker gave itself
					   (common/auditrec.h) */
	IPC_W_STREAM = 0x0501,		/* worker -> proxy: fd = a new stream socket
					   for one client connection; u64 stream id
					   (unique to this worker, across its
					   restarts).  Requests travel on it as REQ
					   frames (common/frame.h), or come from
					   authd (IPC_A_REQ) */

	/* authd -> proxy (0x06xx) */
	IPC_A_AUDIT = 0x0601,		/* authd -> proxy: an auth_failure,
					   rate_limited or enrollment record */
	IPC_A_REQ = 0x0602,		/* authd -> proxy: an approved request a
					   worker asked authd to pass on
					   (AUTHF_FORWARD): u32 worker slot, u64
					   stream id, u32 REQ flags, approval, then
					   the rest of the REQ payload as the worker
					   wrote it (method onwards, proxy/proxy.h).
					   Served on that worker's stream as if the
					   worker had sent REQ and END */

	/* master <-> edge (0x09xx) */
	IPC_E_DIAL = 0x0981,		/* edge -> master: empty; hdr.id = attempt.
					   Resolve the controller and sign a hello */
	IPC_M_DIAL = 0x0901,		/* master -> edge: hdr.id echoed; u32
					   status (0, EDGE_DIAL_E_*), str numeric
					   address, str key ID, u64 timestamp, str
					   nonce, str signature (base64url), str
					   error */

	/* edge <-> proxy (0x0Axx) */
	IPC_E_SUB = 0x0A01,		/* edge -> proxy: empty; a session is up:
					   the inventory, then its changes */
	IPC_E_UNSUB = 0x0A02,		/* edge -> proxy: empty; no session */
	IPC_E_METRICS = 0x0A03,		/* edge -> proxy: empty; the metrics
					   message, now */
	IPC_P_EDGE_FRAME = 0x0A81,	/* proxy -> edge: u64 length, then a whole
					   portwing/1.0 message (JSON) of that
					   length, or none and fd = a memfd
					   holding it (over 64 KiB) */
	IPC_P_EDGE_INFO = 0x0A82,	/* proxy -> edge: str Docker's version */

	/* master, proxy <-> filed (0x0Bxx) */
	IPC_M_FILED_ROOT = 0x0B01,	/* master -> filed: fd = HOST_FILES_ROOT,
					   a directory opened read-only; empty.
					   Sent right after IPC_M_CONFIG, read
					   before the sandbox */
	IPC_P_FILE_WRITE = 0x0B02,	/* proxy -> filed: hdr.id = request id;
					   fd = a sealed memfd holding the
					   content; str cleaned absolute path
					   (under the root), u32 permission bits
					   (at most 0777), u64 length, 32 bytes
					   SHA-256 of the content */
	IPC_F_WRITTEN = 0x0B81,		/* filed -> proxy: hdr.id echoed; u32
					   status (0 written, else the HTTP
					   status to answer), str reason, u64
					   bytes written, 32 bytes their SHA-256 */

	/* master, proxy <-> composer (0x0Cxx) */
	IPC_M_COMPOSE_ROOT = 0x0C01,	/* master -> composer: fd = STACKS_DIR,
					   a directory opened read-only; empty.
					   Sent right after IPC_M_CONFIG */
	IPC_P_COMPOSE_RUN = 0x0C02,	/* proxy -> composer: hdr.id = run id;
					   fd = a sealed memfd holding the
					   request body; u64 its length */
	IPC_P_COMPOSE_CANCEL = 0x0C03,	/* proxy -> composer: hdr.id = run id;
					   empty: the client went away */
	IPC_C_COMPOSE_DONE = 0x0C81,	/* composer -> proxy: hdr.id echoed;
					   fd = a sealed memfd holding the
					   answer's JSON body; u32 HTTP status,
					   u32 success, str operation, str
					   stack (each at most 128 bytes), u64
					   body length */

	/* worker <-> keyd (0x07xx) */
	IPC_W_SIGN = 0x0701,		/* worker -> keyd: hdr.id = request id;
					   u32 TLS generation, u32 KEYD_SIG_*,
					   u32 digest NID, u32 length, digest */
	IPC_K_SIG = 0x0781,		/* keyd -> worker: hdr.id echoed;
					   u32 KEYD_OK or KEYD_E_*, u32 length,
					   signature (binary: not a str) */

	/* proxy <-> policyd (0x08xx) */
	IPC_P_INSPECT = 0x0801,		/* proxy -> policyd: hdr.id = request id;
					   fd = a sealed memfd holding the body
					   exactly as Docker would receive it;
					   u32 policy generation, str profile ("":
					   the root settings), u32 POL inspector
					   (policy/inspect.h), str method, str
					   normalised path, str query, str
					   X-Registry-Auth, u64 body length */
	IPC_P_OUTFD = 0x0802,		/* proxy -> policyd: hdr.id = the id of
					   the IPC_P_INSPECT that follows; fd =
					   an empty memfd (sealable) policyd
					   writes the stamped body into; empty
					   payload */
	IPC_D_STAMPED = 0x0882,		/* policyd -> proxy: hdr.id echoed; a
					   verdict on a body policyd rewrote
					   into the IPC_P_OUTFD memfd: u32
					   policy generation, u32 status, str
					   reason, 32 bytes SHA-256 of the
					   body read, 32 bytes SHA-256 of the
					   bytes written (and judged), u64
					   their length */
	IPC_P_FILTER = 0x0803,		/* proxy -> policyd: hdr.id = request id;
					   the query of a list, prune or events
					   call to re-write for the owner: u32
					   policy generation, str normalised
					   path, str query */
	IPC_P_OWNED = 0x0804,		/* proxy -> policyd: hdr.id = request id;
					   fd = a sealed memfd holding Docker's
					   inspect answer for the resource a
					   request addresses; u32 policy
					   generation, u32 owner kind
					   (policy/owner.h), u32 claim (node or
					   swarm update), u64 length; answered
					   with IPC_D_VERDICT */
	IPC_D_REFS = 0x0884,		/* policyd -> proxy: hdr.id echoed, sent
					   just before the IPC_D_STAMPED of a
					   container create: the resources its
					   body refers to, for the proxy to look
					   up: u32 count (at most 64), then each
					   u32 owner kind, u32 flags
					   (OWNER_REF_NS), str name or id */
	IPC_D_FILTER = 0x0883,		/* policyd -> proxy: hdr.id echoed; u32
					   policy generation, u32 status (0 or
					   400/503), str reason, str the query
					   Docker receives */
	IPC_D_VERDICT = 0x0881,		/* policyd -> proxy: hdr.id echoed;
					   u32 policy generation, u32 status (0
					   allowed, else 400/403/413/503), str
					   reason, 32 bytes SHA-256 of the bytes
					   judged */
	IPC_P_RESPONSE = 0x0805,	/* proxy -> policyd: hdr.id = response
					   id; fd = a sealed memfd holding
					   Docker's 2xx answer body, de-chunked;
					   u32 policy generation, str profile,
					   u32 route (policy/redact.h), str
					   method, str normalised path, u32
					   status, u64 body length.  Follows an
					   IPC_P_RESP_SINK of the same id */
	IPC_P_RESP_SINK = 0x0806,	/* proxy -> policyd: hdr.id = response
					   id; empty; fd = an empty memfd that
					   policyd fills with a rewritten answer
					   (the proxy seals it afterwards) */
	IPC_D_RESPONSE = 0x0885,	/* policyd -> proxy: hdr.id echoed;
					   u32 policy generation, u32 action
					   (POL_RA_*: 0 pass, 1 rewritten, 2
					   hidden, 3 rejected, 4 unavailable),
					   str reason, 32 bytes SHA-256 of the
					   answer read, u64 length and 32 bytes
					   SHA-256 of what it wrote to the sink */
};

/* Signature schemes in IPC_W_SIGN: the ones TLS 1.2 and 1.3 use. */
enum keyd_scheme {
	KEYD_SIG_RSA_PKCS1 = 1,		/* RSASSA-PKCS1-v1_5 */
	KEYD_SIG_RSA_PSS = 2,		/* RSASSA-PSS, MGF1 = digest, salt = digest size */
	KEYD_SIG_ECDSA = 3,		/* ECDSA, DER signature */
};

/* Answers in IPC_K_SIG. */
enum keyd_status {
	KEYD_OK = 0,
	KEYD_E_REFUSED = 1,		/* not a TLS handshake digest */
	KEYD_E_NOKEY = 2,		/* no key of that generation */
	KEYD_E_RATE = 3,		/* the worker's signing rate is exceeded */
	KEYD_E_FAILED = 4,		/* signing failed */
};

/* Files in IPC_M_FILE. */
enum obs_file {
	OBS_PROC_STAT = 0,
	OBS_MEMINFO,
	OBS_NETDEV,
	OBS_DOCKER_ROOT,		/* O_PATH directory, for fstatfs */
	OBS_FILE_COUNT,
	OBS_AUDIT_FILE = 100,		/* the AUDIT_LOG file, O_APPEND */
	OBS_AUDIT_STREAM = 101,		/* stdout or stderr */
};

#define IPC_MAX_AUDIT		(8 * 1024)
#define IPC_MAX_INSPECT		(24 * 1024)	/* IPC_P_INSPECT without its body */
#define IPC_MAX_OQUERY		(64 * 1024)	/* a query in IPC_P/D_FILTER */
#define IPC_MAX_RESPONSE	(12 * 1024)	/* IPC_P_RESPONSE without its body */

/* Verdicts in IPC_A_AUTH_ANS. */
enum auth_verdict {
	AUTH_OK = 0,
	AUTH_DENIED = 1,		/* 401 */
	AUTH_RATE_LIMITED = 2,		/* 429 */
	AUTH_UNAVAILABLE = 3,		/* 503 */
	AUTH_TOO_LARGE = 4,		/* 413 */
};

#endif
