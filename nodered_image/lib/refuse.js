'use strict';
// How the launcher refuses a request: at once, with a clear status and a short JSON reason, and one
// log line naming the client address and the request id. Never a hang, never a closed connection
// without an answer (the router would count that against the instance and take it out of rotation).
const http = require('http');
const { clientAddress, requestId } = require('./client');

class Refusals {
    constructor({ log, trustedProxies } = {}) {
        this.log = log || (() => {});
        this.trusted = trustedProxies;
    }

    client(req) {
        return clientAddress(req, this.trusted);
    }

    // One log line: what was done to which request, from which client, and why.
    note(req, what, reason) {
        const url = String(req.originalUrl || req.url || '').slice(0, 200);
        this.log('warn', `${what} ${req.method} ${url} from ${this.client(req)} (request ${requestId(req)}): ${reason}`);
    }

    // The JSON body, after logging the refusal once (quiet: the caller logs a summary instead).
    body(req, status, reason, extra, quiet = false) {
        if (!quiet) this.note(req, `refused ${status}`, reason);
        return { error: reason, ...extra, requestId: requestId(req) };
    }

    // Express response.
    answer(req, res, status, reason, { extra = {}, headers = {}, quiet = false } = {}) {
        const body = this.body(req, status, reason, extra, quiet);
        if (res.headersSent) {
            res.destroy();
            return;
        }
        res.status(status).set(headers).json(body);
    }

    // An upgrade request's raw socket (no express response exists for it).
    answerSocket(req, socket, status, reason, { extra = {}, headers = {} } = {}) {
        respondOnSocket(req, socket, status, this.body(req, status, reason, extra), headers);
    }
}

// An HTTP/1.1 answer written on a socket Node handed over as an upgrade; the connection closes after it.
function respondOnSocket(req, socket, status, body, headers = {}) {
    if (socket.destroyed) return;
    const text = `${JSON.stringify(body)}\n`;
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on('finish', () => {
        res.detachSocket(socket);
        socket.destroySoon();
    });
    res.writeHead(status, {
        ...headers,
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        Connection: 'close',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
}

module.exports = { Refusals, respondOnSocket };
