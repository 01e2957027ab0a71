'use strict';
// Requests with an Upgrade header, answered deliberately and at once.
//
// Node hands every such request to the server's 'upgrade' listeners, never to express. Node-RED's own
// listeners take only websockets for their exact paths (the editor's /comms, a websocket-in node's
// path); its runtime destroys anything else after 5 s without a word, which the router counts as the
// instance failing (nginx max_fails: a few `curl --http2` requests, which send `Upgrade: h2c`, took
// every worker out of rotation). Here:
//   - an Upgrade to anything but websocket is ignored: the request is served as plain HTTP/1.1 (with a
//     body: 400), as RFC 9110 lets a server do;
//   - a websocket nobody took gets 404 JSON; on a worker swapping flows it waits for the new flows (its
//     endpoint may be coming back), before the first flows start and while stopping it gets what the
//     gate gives HTTP requests (lib/gate.js unavailable());
//   - the editor never answers under httpNodeRoot, websockets included; on a worker a websocket there
//     meets the flows' rate limit and authentication first (guard: lib/api/index.js upgradeRefusal);
//   - the editor's /comms must authenticate within authTimeoutMs (Node-RED would keep an
//     unauthenticated socket open for as long as the client likes), and one client address may have
//     at most maxPendingPerClient of them waiting to authenticate: more get 429.
const http = require('http');
const url = require('url');

const AUTH_TIMEOUT_MS = 10000;
const MAX_PENDING_PER_CLIENT = 10;
const AUTH_OK = Buffer.from('{"auth":"ok"}'); // what Node-RED's comms sends once a socket authenticated
const POLICY_VIOLATION = 1008;

const ORIGINAL_URL = Symbol('url before the upgrade was set aside');
const RETRIED = Symbol('upgrade offered again after a swap');
// Bytes the socket had sent before the upgrade request: a kept-alive connection (the router's) has
// carried earlier answers, so only bytes beyond these show that a listener took the request.
const WRITTEN_BEFORE = Symbol('bytes written before the upgrade');
// A path no upgrade listener takes: the request is the launcher's to answer.
const SET_ASIDE_URL = '/?nodered-scale-upgrade-set-aside';

class Upgrades {
    constructor({ app, role, httpNodeRoot, commsPath = '/comms', gate, refusals, log, guard = null,
        authTimeoutMs = AUTH_TIMEOUT_MS, maxPendingPerClient = MAX_PENDING_PER_CLIENT }) {
        this.app = app;
        this.role = role;
        this.nodeRoot = httpNodeRoot.toLowerCase();
        this.commsPath = commsPath;
        this.gate = gate;
        this.guard = guard; // (req, path under httpNodeRoot) -> null or {status, reason, headers}
        this.refusals = refusals;
        this.log = log || (() => {});
        this.authTimeoutMs = authTimeoutMs;
        this.maxPendingPerClient = maxPendingPerClient;
        this.pending = new Map(); // client address -> editor websockets not authenticated yet
    }

    install(server) {
        this.server = server;
        // First: decide before Node-RED's listeners see the request. Last: answer what none of them took.
        server.prependListener('upgrade', (req, socket, head) => this.first(req, socket, head));
        server.on('upgrade', (req, socket, head) => setImmediate(() => this.unclaimed(req, socket, head)));
    }

    underNodeRoot(pathname) {
        const p = pathname.toLowerCase();
        return p === this.nodeRoot || p.startsWith(`${this.nodeRoot}/`);
    }

    first(req, socket) {
        if (req[RETRIED]) return;
        req[WRITTEN_BEFORE] = socket.bytesWritten;
        socket.on('error', () => {}); // a client gone mid-answer is no crash
        const pathname = pathOf(req);
        if (!isWebsocket(req)) {
            this.setAside(req, () => this.servePlain(req, socket));
        } else if (this.role === 'worker' && this.guard && this.underNodeRoot(pathname)) {
            const refusal = this.guard(req, pathname.slice(this.nodeRoot.length) || '/');
            if (refusal) {
                this.setAside(req, () => this.refusals.answerSocket(req, socket, refusal.status, refusal.reason, { headers: refusal.headers }));
            }
        } else if (this.role === 'editor' && this.underNodeRoot(pathname)) {
            this.setAside(req, () => this.refusals.answerSocket(req, socket, 404, 'the editor serves no flow endpoints'));
        } else if (this.role === 'editor' && pathname === this.commsPath) {
            const client = this.refusals.client(req);
            if ((this.pending.get(client) || 0) >= this.maxPendingPerClient) {
                this.setAside(req, () => this.refusals.answerSocket(req, socket, 429,
                    'too many editor websockets waiting to authenticate from this address', { headers: { 'Retry-After': '10' } }));
            } else {
                this.watchAuth(req, socket, client);
            }
        }
    }

    // Hide the request from the other listeners (they match on its path), answer it once they ran.
    setAside(req, answer) {
        req[ORIGINAL_URL] = req.url;
        req.url = SET_ASIDE_URL;
        setImmediate(() => {
            req.url = req[ORIGINAL_URL];
            answer();
        });
    }

    // Every upgrade listener has run: nothing written since the request came means nobody took it.
    async unclaimed(req, socket, head) {
        if (req[ORIGINAL_URL] !== undefined || socket.destroyed || socket.bytesWritten > req[WRITTEN_BEFORE]) return;
        const onWorker = this.role === 'worker' && this.underNodeRoot(pathOf(req));
        if (onWorker && (this.gate.shuttingDown || !this.gate.started)) {
            this.unavailable(req, socket);
            return;
        }
        if (onWorker && this.gate.swapping && !req[RETRIED]) {
            await this.gate.settled();
            if (socket.destroyed) return;
            req[RETRIED] = true;
            this.server.emit('upgrade', req, socket, head);
            return;
        }
        this.refusals.answerSocket(req, socket, 404, 'no websocket endpoint at this path');
    }

    // As the gate answers HTTP requests while there are no routes: the router's GET is closed without an
    // answer, so nginx tries another worker; anyone else gets 503.
    unavailable(req, socket) {
        if (req.headers['x-nodered-router'] === 'nginx' && req.method === 'GET') {
            socket.destroy();
            return;
        }
        const reason = this.gate.shuttingDown ? 'shutting down' : 'flows not started yet';
        this.refusals.answerSocket(req, socket, 503, reason, { headers: { 'Retry-After': '1' } });
    }

    // Upgrade ignored: express answers the request as any other, then the connection closes.
    servePlain(req, socket) {
        if (socket.destroyed) return;
        const length = req.headers['content-length'];
        if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0)) {
            this.refusals.answerSocket(req, socket, 400,
                `upgrade to ${JSON.stringify(String(req.headers.upgrade).slice(0, 40))} is not supported; send the request without an Upgrade header`);
            return;
        }
        delete req.headers.upgrade;
        const res = new http.ServerResponse(req);
        res.shouldKeepAlive = false;
        res.assignSocket(socket);
        res.on('finish', () => {
            res.detachSocket(socket);
            socket.destroySoon();
        });
        this.app(req, res);
    }

    // An editor websocket must authenticate within authTimeoutMs: Node-RED's comms answers a valid
    // auth message with {"auth":"ok"}, which is watched for on the socket's way out.
    watchAuth(req, socket, client) {
        this.pending.set(client, (this.pending.get(client) || 0) + 1);
        let waiting = true;
        const stopWaiting = () => {
            if (!waiting) return;
            waiting = false;
            clearTimeout(timer);
            socket.write = write;
            const left = this.pending.get(client) - 1;
            if (left > 0) this.pending.set(client, left);
            else this.pending.delete(client);
        };
        const write = socket.write;
        socket.write = function watching(chunk, ...rest) {
            if (waiting && carries(chunk, AUTH_OK)) stopWaiting();
            return write.call(this, chunk, ...rest);
        };
        const timer = setTimeout(() => {
            stopWaiting();
            if (socket.destroyed) return;
            this.refusals.note(req, 'closed', `editor websocket not authenticated within ${this.authTimeoutMs / 1000} s`);
            socket.end(closeFrame(POLICY_VIOLATION, 'authentication timeout'));
            setTimeout(() => socket.destroy(), 1000).unref();
        }, this.authTimeoutMs);
        socket.once('close', stopWaiting);
    }
}

// The path as Node-RED's listeners read it (url.parse: absolute-form URLs too).
function pathOf(req) {
    return url.parse(req.url).pathname || '';
}

function carries(chunk, bytes) {
    if (typeof chunk === 'string') return chunk.includes(bytes.toString());
    return chunk instanceof Uint8Array && Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).includes(bytes);
}

function isWebsocket(req) {
    return String(req.headers.upgrade || '').trim().toLowerCase() === 'websocket';
}

// A websocket close frame from the server (unmasked).
function closeFrame(code, reason) {
    const text = Buffer.from(reason);
    const frame = Buffer.alloc(4 + text.length);
    frame[0] = 0x88;
    frame[1] = 2 + text.length;
    frame.writeUInt16BE(code, 2);
    text.copy(frame, 4);
    return frame;
}

module.exports = { Upgrades, AUTH_TIMEOUT_MS, MAX_PENDING_PER_CLIENT };
