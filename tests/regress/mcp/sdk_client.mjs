// sdk_client.mjs: drive portwing's MCP endpoint with the official
// TypeScript SDK client (Client + StreamableHTTPClientTransport), the
// way an MCP host would, and print TAP lines for t-mcp.sh.
//
//   node sdk_client.mjs URL TOKEN ID OUTDIR
//
// URL is the endpoint (http://127.0.0.1:PORT/_portwing/mcp), ID the id
// of a running container with log output.  The script connects
// (initialize, then notifications/initialized), pings, lists the tools,
// calls each of the five and a few failing calls, and checks what the
// SDK itself can judge: the protocol, the result shapes, the error
// codes.  What the tools return is written to OUTDIR/sdk-results.json
// for t-mcp.sh to compare with the engine, and every HTTP exchange
// (request and answer, headers and bodies) to OUTDIR/sdk-wire.jsonl,
// which t-mcp.sh searches for secrets.
//
// It must run from a directory whose node_modules holds the packages
// of package-lock.json (t-mcp.sh copies it beside the npm cache's).
import { writeFileSync, appendFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
	LATEST_PROTOCOL_VERSION,
	SUPPORTED_PROTOCOL_VERSIONS,
	McpError,
	EmptyResultSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [url, token, cid, outdir] = process.argv.slice(2);
if (!outdir) {
	console.log('not ok - usage: sdk_client.mjs URL TOKEN ID OUTDIR');
	process.exit(2);
}
const wireFile = `${outdir}/sdk-wire.jsonl`;
writeFileSync(wireFile, '');

let failures = 0;
function ok(cond, desc, detail) {
	if (cond) {
		console.log(`ok - sdk: ${desc}`);
	} else {
		failures++;
		console.log(`not ok - sdk: ${desc}`);
		if (detail !== undefined) {
			for (const l of String(detail).split('\n'))
				console.log(`# ${l}`);
		}
	}
	return cond;
}
const show = (v) => JSON.stringify(v);
// Arguments in TAP lines, the container id shortened.
const brief = (v) => show(v).split(cid).join('<id>');

// Every exchange the transport makes, recorded whole.  The token is
// replaced: the log is a test artifact.
const wire = [];
async function recordingFetch(input, init = {}) {
	const method = init.method || 'GET';
	const reqHeaders = {};
	new Headers(init.headers || {}).forEach((v, k) => {
		reqHeaders[k] = k === 'authorization' ? 'Bearer <token>' : v;
	});
	const entry = { method, url: String(input), reqHeaders, reqBody: init.body ?? null };
	wire.push(entry);
	let res;
	try {
		res = await fetch(input, init);
	} catch (e) {
		entry.error = String(e);
		appendFileSync(wireFile, JSON.stringify(entry) + '\n');
		throw e;
	}
	entry.status = res.status;
	entry.resHeaders = {};
	res.headers.forEach((v, k) => { entry.resHeaders[k] = v; });
	// A body read from a clone leaves the original for the SDK.  A GET
	// answered with an event stream is never read (it would not end).
	const ctype = res.headers.get('content-type') || '';
	entry.resBody = ctype.startsWith('text/event-stream') ? '<event stream>'
	    : await res.clone().text();
	appendFileSync(wireFile, JSON.stringify(entry) + '\n');
	return res;
}

const transportErrors = [];
const transport = new StreamableHTTPClientTransport(new URL(url), {
	requestInit: { headers: { Authorization: 'Bearer ' + token } },
	fetch: recordingFetch,
});
const client = new Client({ name: 'portwing-t-mcp', version: '1.0.0' });
client.onerror = (e) => transportErrors.push(String(e));

const results = {};
function textOf(res) {
	if (!res || !Array.isArray(res.content) || res.content.length !== 1) return null;
	const c = res.content[0];
	return c.type === 'text' && typeof c.text === 'string' ? c.text : null;
}
// A successful tool call: one text item, isError false, JSON text.
// The raw result goes into results for t-mcp.sh (compare.py), under
// results[name] or results[name][key].
async function callOk(name, args, key) {
	let res;
	try {
		res = await client.callTool({ name, arguments: args });
	} catch (e) {
		ok(false, `tools/call ${name} ${brief(args)} answers`, e);
		return undefined;
	}
	const text = textOf(res);
	let parsed;
	try { parsed = JSON.parse(text); } catch { parsed = undefined; }
	ok(res.isError === false && text !== null && parsed !== undefined,
	    `tools/call ${name} ${brief(args)}: one text item of JSON, isError false`, show(res));
	if (key === undefined) {
		results[name] = res;
	} else {
		results[name] = results[name] || {};
		results[name][key] = res;
	}
	return parsed;
}
// A tool failure: isError true and the message.
async function callToolError(name, args, want, desc) {
	let res;
	try {
		res = await client.callTool({ name, arguments: args });
	} catch (e) {
		ok(false, desc, `rejected: ${e}`);
		return;
	}
	const text = textOf(res);
	const good = res.isError === true && text !== null &&
	    (want instanceof RegExp ? want.test(text) : text === want);
	ok(good, desc, show(res));
	results.errors = results.errors || {};
	results.errors[desc] = res;
}

async function main() {
	// ---- initialize + notifications/initialized ----
	try {
		await client.connect(transport);
		ok(true, 'connect: initialize and notifications/initialized');
	} catch (e) {
		ok(false, 'connect: initialize and notifications/initialized', e.stack || e);
		return;
	}
	const sv = client.getServerVersion();
	ok(sv && sv.name === 'portwing' && typeof sv.version === 'string' && sv.version.length > 0,
	    'getServerVersion(): name portwing and a version', show(sv));
	const pv = transport.protocolVersion;
	ok(SUPPORTED_PROTOCOL_VERSIONS.includes(pv),
	    `negotiated protocol version ${pv} is one the SDK supports`, show(SUPPORTED_PROTOCOL_VERSIONS));
	// The SDK asks for its latest version; the server knows it, so it
	// must echo it rather than fall back.
	ok(pv === LATEST_PROTOCOL_VERSION,
	    `the SDK's requested version ${LATEST_PROTOCOL_VERSION} is the one negotiated`, pv);
	const caps = client.getServerCapabilities();
	ok(caps && caps.tools && caps.tools.listChanged === false && Object.keys(caps).length === 1,
	    'capabilities: tools (listChanged false) and nothing else', show(caps));
	const instr = client.getInstructions();
	ok(instr === undefined || typeof instr === 'string', 'instructions absent or a string', show(instr));
	results.initialize = { serverInfo: sv, protocolVersion: pv, capabilities: caps };

	const init = wire.find((w) => w.reqBody && JSON.parse(w.reqBody).method === 'initialize');
	ok(init && init.status === 200 && /^application\/json/.test(init.resHeaders['content-type'] || ''),
	    'initialize: 200, application/json', init && show({ status: init.status, h: init.resHeaders }));
	const inited = wire.find((w) => w.reqBody &&
	    JSON.parse(w.reqBody).method === 'notifications/initialized');
	ok(inited && inited.status === 202 && inited.resBody === '',
	    'notifications/initialized: 202 with an empty body', inited && show(inited));
	ok(inited && inited.reqHeaders['mcp-protocol-version'] === pv,
	    'the SDK sends MCP-Protocol-Version after initialize, and it is accepted',
	    inited && show(inited.reqHeaders));

	// ---- ping ----
	try {
		const r = await client.ping();
		ok(r && Object.keys(r).length === 0, 'ping: empty result', show(r));
	} catch (e) {
		ok(false, 'ping: empty result', e);
	}

	// ---- tools/list ----
	let tools = [];
	try {
		tools = (await client.listTools()).tools;
	} catch (e) {
		ok(false, 'tools/list answers', e);
	}
	const names = tools.map((t) => t.name).sort();
	ok(show(names) === show(['container_logs', 'container_stats', 'host_metrics',
	    'inspect_container', 'list_containers']), 'tools/list: exactly the five tools', show(names));
	const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
	for (const t of tools) {
		ok(typeof t.description === 'string' && t.description.length > 0 &&
		    t.inputSchema && t.inputSchema.type === 'object',
		    `tools/list: ${t.name} has a description and an object inputSchema`, show(t));
	}
	for (const n of ['list_containers', 'host_metrics']) {
		const s = byName[n] && byName[n].inputSchema;
		ok(s && s.additionalProperties === false && !s.required,
		    `tools/list: ${n} takes no arguments (additionalProperties false)`, show(s));
	}
	for (const n of ['inspect_container', 'container_stats', 'container_logs']) {
		const s = byName[n] && byName[n].inputSchema;
		ok(s && s.properties && s.properties.id && s.properties.id.type === 'string' &&
		    show(s.required) === '["id"]', `tools/list: ${n} requires a string id`, show(s));
	}
	const tail = byName.container_logs && byName.container_logs.inputSchema.properties &&
	    byName.container_logs.inputSchema.properties.tail;
	ok(tail && tail.type === 'integer' && tail.minimum === 1 && tail.maximum === 500,
	    'tools/list: container_logs tail is an integer from 1 to 500', show(tail));
	results.tools = tools;

	// ---- every tool ----
	const list = await callOk('list_containers', {});
	ok(Array.isArray(list) && list.some((c) => c.id === cid),
	    'list_containers lists the test container', show(list));
	const insp = await callOk('inspect_container', { id: cid }, cid);
	ok(insp && insp.id === cid, 'inspect_container: the id asked for', show(insp));
	const logs = await callOk('container_logs', { id: cid, tail: 5 }, `${cid}|5`);
	ok(logs && logs.id === cid && Array.isArray(logs.lines) && logs.lines.length <= 5,
	    'container_logs tail 5: at most 5 lines of the container', show(logs));
	// Without tail: the default, 100.
	await callOk('container_logs', { id: cid }, `${cid}|`);
	const hm = await callOk('host_metrics', {});
	const hmKeys = ['cpuUsage', 'cpuCores', 'memoryTotal', 'memoryUsed', 'memoryFree',
	    'diskTotal', 'diskUsed', 'diskFree', 'networkRxBytes', 'networkTxBytes', 'uptime'];
	ok(hm && show(Object.keys(hm).sort()) === show([...hmKeys].sort()) &&
	    hmKeys.every((k) => typeof hm[k] === 'number'),
	    'host_metrics: the eleven numbers', show(hm));
	const st = await callOk('container_stats', { id: cid }, cid);
	ok(st && st.id === cid && typeof st.cpuTotalUsage === 'number' &&
	    typeof st.memUsage === 'number' && typeof st.memLimit === 'number' &&
	    st.networks && typeof st.networks === 'object',
	    'container_stats: cpu, memory and networks of the container', show(st));

	// ---- errors ----
	try {
		const r = await client.callTool({ name: 'no_such_tool', arguments: {} });
		ok(false, 'unknown tool: the SDK rejects with McpError -32602', show(r));
	} catch (e) {
		ok(e instanceof McpError && e.code === -32602 && /unknown tool: no_such_tool/.test(e.message),
		    'unknown tool: the SDK rejects with McpError -32602 "unknown tool: no_such_tool"',
		    `${e.name} code=${e.code} ${e.message}`);
		results.unknownTool = { name: e.name, code: e.code, message: e.message };
	}
	try {
		await client.request({ method: 'no/such/method', params: {} }, EmptyResultSchema);
		ok(false, 'unknown method: McpError -32601');
	} catch (e) {
		ok(e instanceof McpError && e.code === -32601 &&
		    /method not found: no\/such\/method/.test(e.message),
		    'unknown method: McpError -32601 "method not found: no/such/method"',
		    `${e.name} code=${e.code} ${e.message}`);
	}
	await callToolError('inspect_container', {}, 'id is required',
	    'inspect_container without id: isError, "id is required"');
	await callToolError('container_stats', {}, 'id is required',
	    'container_stats without id: isError, "id is required"');
	await callToolError('inspect_container', { id: '../x' }, 'invalid container id',
	    'inspect_container id ../x: isError, "invalid container id"');
	await callToolError('inspect_container', { id: 'pwmcp-no-such-container' },
	    /^inspect container: docker error \(status 404\): No such container: pwmcp-no-such-container/,
	    'inspect_container of a missing container: isError with Docker\'s 404');
	await callToolError('container_logs', { id: cid, tail: '50' }, /./,
	    'container_logs with tail "50" (a string): isError');

	// ---- the transport's view ----
	// The SDK opens its optional GET stream after initialized; the
	// server declines it with 405, which the SDK takes quietly.
	for (let i = 0; i < 50 && !wire.some((w) => w.method === 'GET'); i++)
		await new Promise((r) => setTimeout(r, 20));
	const get = wire.find((w) => w.method === 'GET');
	ok(get && get.status === 405 && get.resHeaders.allow === 'POST',
	    'the SDK\'s GET for a server stream: 405, Allow: POST', get && show(get));
	const posts = wire.filter((w) => w.method === 'POST');
	ok(posts.every((w) => !('mcp-session-id' in w.resHeaders)), 'no answer carries Mcp-Session-Id');
	const replies = posts.filter((w) => w.status === 200);
	ok(replies.length > 0 && replies.every((w) => /^application\/json/.test(w.resHeaders['content-type'] || '')),
	    'every 200 answer is application/json (never an event stream)',
	    show(replies.map((w) => w.resHeaders['content-type'])));
	ok(posts.every((w) => w.status === 200 || w.status === 202),
	    'every POST answered 200 or 202', show(posts.map((w) => w.status)));
	ok(transportErrors.length === 0, 'the transport reported no error', transportErrors.join('\n'));
	await client.close();
}

try {
	await main();
} catch (e) {
	ok(false, 'sdk_client ran to the end', e.stack || e);
}
writeFileSync(`${outdir}/sdk-results.json`, JSON.stringify(results, null, 1));
process.exit(failures ? 1 : 0);
