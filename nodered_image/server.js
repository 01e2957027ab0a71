'use strict';
// nodered-scale launcher: Node-RED embedded in an express app (the same thing in the image and in
// `npm start`). /livez and /healthz on every instance; the editor serves the editor and admin API, workers only
// the HTTP-in endpoints under httpNodeRoot.
const http = require('http');
const express = require('express');

function log(level, message) {
    console.log(`${new Date().toISOString()} - [${level}] [launcher] ${message}`);
}

let settings;
try {
    settings = require('./settings');
} catch (err) {
    if (err.code !== 'NODERED_SCALE_CONFIG') throw err;
    log('error', `refusing to start: ${err.message}`);
    process.exit(1);
}

const RED = require('node-red');
const storage = settings.storageModule;
const role = settings.storageModuleOptions.role;

const app = express();
app.disable('x-powered-by');
const server = http.createServer(app);
// Idle keep-alive connections stay open longer than the router's or load balancer's own idle timeout,
// so it is always the router that closes them and it never sends a request on one Node is closing.
// headersTimeout just above it: Node versions that time the headers from the end of the previous request
// would otherwise cut idle kept-alive connections short.
server.keepAliveTimeout = settings.keepAliveSeconds * 1000;
server.headersTimeout = settings.keepAliveSeconds * 1000 + 1000;

let shuttingDown = false;

// Liveness: the process serves HTTP and is not stopping. No database call, and independent of the
// flows, so a bad deploy (flows that cannot start) or a database outage never gets a container killed
// and restarted by its orchestrator (ECS): the editor must stay up to fix the flows. Readiness, whether
// to route flow requests here, is /healthz.
const instanceId = settings.storageModuleOptions.instanceId;
app.get('/livez', (req, res) => {
    res.status(shuttingDown ? 503 : 200).json({ live: !shuttingDown, role, instance: instanceId, shuttingDown });
});

app.get('/healthz', (req, res) => {
    const s = storage.statusInfo();
    const body = { ...s, role, nodeRedVersion: RED.version(), shuttingDown };
    if (shuttingDown) body.ready = false;
    res.status(body.ready ? 200 : 503).json(body);
});

// A deploy or reload stops the running flows and starts the new ones. Requests arriving meanwhile
// are held until the new flows are started (instead of a 404 from a missing route), and the swap
// waits for requests already inside the flows to be answered (instead of dropping them).
let inFlight = 0;
let drained = [];
function track(req, res, next) {
    inFlight += 1;
    let done = false;
    const finish = () => {
        if (done) return;
        done = true;
        inFlight -= 1;
        if (inFlight === 0) {
            drained.forEach((resolve) => resolve());
            drained = [];
        }
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
}
function drain(timeoutMs) {
    if (inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
        drained.push(resolve);
        setTimeout(resolve, timeoutMs).unref();
    });
}
storage.setDrain(drain);

// Before its flows have started once (and while shutting down) an instance has no routes for the
// endpoints, and must not hand a 404 to anyone. Behind the router (it sets X-Nodered-Router), a
// request nginx resends after a connection error is closed without an answer: nginx tries another
// worker, and counts the failure against this one. Everyone else gets 503 + Retry-After: direct
// clients and load balancers that do not resend, and POST/PATCH/LOCK, which nginx never resends once
// sent (a 503 tells the client the flow did not run; a reset would reach it as nginx's 502).
// A 503 here is never retried by the router: it passes every answer from a worker on unchanged.
const NOT_RESENT_BY_ROUTER = new Set(['POST', 'PATCH', 'LOCK']);
function unavailable(req, res) {
    if (req.headers['x-nodered-router'] === 'nginx' && !NOT_RESENT_BY_ROUTER.has(req.method)) {
        req.socket.destroy();
        return;
    }
    // Stopping: the client's next request must not come back on this connection.
    if (shuttingDown) res.set('Connection', 'close');
    res.status(503).set('Retry-After', '1').json({ error: shuttingDown ? 'shutting down' : 'flows not started yet' });
}
// Checking for a swap and counting the request in flight happen in one synchronous step, so a swap
// either sees the request in flight (and waits for it) or the request sees the swap (and waits).
function admit(req, res, next, since = Date.now()) {
    if (shuttingDown || !storage.hasStarted()) return unavailable(req, res);
    if (!storage.isSwapping() || Date.now() - since > 10000) return track(req, res, next);
    storage.whenSwapped(10000).then(() => admit(req, res, next, since));
}
app.use(settings.httpNodeRoot, (req, res, next) => admit(req, res, next),
    (req, res, next) => RED.httpNode(req, res, next));

if (settings.httpAdminRoot !== false) {
    // Report the storage revision a deploy was saved as, beside Node-RED's own hash revision.
    app.use(settings.httpAdminRoot, (req, res, next) => {
        if (req.path === '/flows') {
            const json = res.json.bind(res);
            res.json = (body) => {
                const rev = body && storage.revisionForHash(body.rev);
                if (rev !== null && rev !== undefined) res.set('X-Flows-Revision', String(rev));
                return json(body);
            };
        }
        next();
    }, (req, res, next) => RED.httpAdmin(req, res, next));
}

async function shutdown(signal) {
    if (shuttingDown) return;
    shuttingDown = true;
    log('info', `${signal} received: stopping Node-RED`);
    const force = setTimeout(() => {
        log('error', 'shutdown took longer than 15 s: exiting');
        process.exit(1);
    }, 15000);
    force.unref();
    await drain(5000); // requests inside the flows get their answers first
    try {
        await RED.stop();
    } catch (err) {
        log('warn', `stopping Node-RED: ${err.message}`);
    }
    await storage.close().catch((err) => log('warn', `closing storage: ${err.message}`));
    server.close();
    if (server.closeAllConnections) server.closeAllConnections();
    log('info', 'stopped');
    process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Node-RED's registry reads <userDir>/package.json (its file storage would create it).
function prepareUserDir(dir) {
    const fs = require('fs');
    const path = require('path');
    fs.mkdirSync(dir, { recursive: true });
    const pkg = path.join(dir, 'package.json');
    if (!fs.existsSync(pkg)) {
        fs.writeFileSync(pkg, JSON.stringify({ name: 'nodered-scale-instance', version: '0.0.1', private: true }, null, 2));
    }
}

async function main() {
    prepareUserDir(settings.userDir);
    RED.init(server, settings);
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.uiPort, settings.uiHost, resolve);
    });
    log('info', `${role} listening on http://${settings.uiHost}:${settings.uiPort} ` +
        `(HTTP-in under ${settings.httpNodeRoot}${role === 'editor' ? ', editor and admin API at /' : ', no editor or admin API'})`);
    await RED.start();
    log('info', `Node-RED ${RED.version()} started as ${role}`);
}

main().catch((err) => {
    log('error', `failed to start: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
});
