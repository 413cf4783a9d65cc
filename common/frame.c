/*
 * frame.c: the payload of a REQ frame (frame.h), written the same way by
 * every process that sends requests to the proxy (the workers, and the
 * edge process for the controller's).
 */
#include "pwbuild.h"

#include "frame.h"
#include "ipc.h"

/*
 * The REQ payload after its flags and approval: method, target, body
 * framing and length, the client, the upgrade protocol ("" for none);
 * then frame_req_header for each header field and frame_req_end.
 */
void
frame_req_rest(struct ipc_wr *wr, const char *method, const char *target,
    int body_mode, uint64_t clen, const char *client, const char *upgrade)
{
	ipc_wr_str(wr, method);
	ipc_wr_str(wr, target);
	ipc_wr_u32(wr, (uint32_t)body_mode);
	ipc_wr_u64(wr, clen);
	ipc_wr_str(wr, client);
	ipc_wr_str(wr, upgrade);
}

void
frame_req_header(struct ipc_wr *wr, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	ipc_wr_u32(wr, 1);
	ipc_wr_strn(wr, name, nlen);
	ipc_wr_strn(wr, value, vlen);
}

void
frame_req_end(struct ipc_wr *wr)
{
	ipc_wr_u32(wr, 0);
}
