'use strict';
// nodered-scale launcher: Node-RED embedded in an express app (the same thing in the image and in
// `npm start`). /livez and /healthz (contract.json's health paths) on every instance; the editor serves the
// editor and admin API, workers only the HTTP-in endpoints under httpNodeRoot.
const http = require('http');
const express = require('express');
const contract = require('./contract.json');
const { RequestGate } = require('./lib/gate');
const { Refusals } = require('./lib/refuse');
const { bodyLimit } = require('./lib/body_limit');
const { LoginGuard } = require('./lib/login_guard');
const { Upgrades } = require('./lib/upgrades');
const { healthAnswer, viaRouter } = require('./lib/exposure');
const { createLogger } = require('./lib/logger');
const { Observability } = require('./lib/observability');
const { guardDeploys } = require('./lib/deploy_guard');
const { RequestErrors } = require('./lib/request_errors');
const { installCluster, authorizer } = require('./lib/cluster');
const { HttpApi } = require('./lib/api');
const { availableModules, linkIntoUserDir } = require('./lib/function_modules');
const { paletteRefusals } = require('./lib/palette');
const { within, TIMED_OUT } = require('./common/within');

// The one log format of every instance (lib/logger.js); a configuration refused has no identity yet.
let log = createLogger();

let settings;
try {
    settings = require('./settings');
} catch (err) {
    if (err.code !== 'NODERED_SCALE_CONFIG') throw err;
    log('error', `refusing to start: ${err.message}`);
    process.exit(1);
}
log = createLogger({ role: settings.storageModuleOptions.role, instance: settings.storageModuleOptions.instanceId, format: settings.logFormat });

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

// Requests to the HTTP-in endpoints go through the gate: held while flows are swapped, drained
// before the old flows stop, refused without a 404 while there are no routes (lib/gate.js).
const gate = new RequestGate({ log });
gate.follow(storage.events);

// Refusals (lib/refuse.js): a status and a JSON reason at once, one log line with the client address.
const refusals = new Refusals({ log, trustedProxies: settings.trustedProxies });
// An error nothing caught fails its own request (500) and never ends the process (lib/request_errors.js).
const requestErrors = new RequestErrors({ refusals, log });
requestErrors.install();
app.use(requestErrors.track());
server.prependListener('upgrade', (req, socket) => requestErrors.trackSocket(req, socket));
const limitBody = bodyLimit({ limitBytes: settings.bodyLimitBytes, refusals });

// /metrics, worker debug output to the editor's sidebar, caught errors logged (lib/observability.js).
// Metrics are for a scraper on the instance's own port: never through a router (lib/exposure.js).
const observability = new Observability({ RED, storage, gate, settings, logger: log });
app.get('/metrics', (req, res, next) => (viaRouter(req)
    ? refusals.answer(req, res, 404, 'not served through the router: each instance answers it on its own port')
    : next()), observability.metricsHandler());

// Liveness: the process serves HTTP and is not stopping. No database call, and independent of the
// flows, so a bad deploy (flows that cannot start) or a database outage never gets a container killed
// and restarted by its orchestrator (ECS): the editor must stay up to fix the flows. Readiness, whether
// to route flow requests here, is /healthz.
const instanceId = settings.storageModuleOptions.instanceId;
// Through a router, both answer only up or down (lib/exposure.js).
app.get(contract.health.liveness, (req, res) => {
    const { shuttingDown } = gate;
    healthAnswer(req, res, !shuttingDown, { live: !shuttingDown, role, instance: instanceId, shuttingDown });
});

app.get(contract.health.readiness, (req, res) => {
    const s = storage.statusInfo();
    const body = { ...s, role, nodeRedVersion: RED.version(), shuttingDown: gate.shuttingDown };
    if (gate.shuttingDown) body.ready = false;
    healthAnswer(req, res, body.ready, body);
});

// The flows' endpoints as an API (lib/api/): rate limit, CORS and auth before the gate, the OpenAPI
// document behind it; each only when configured.
const httpApi = new HttpApi({ config: settings.httpApi, refusals, RED, storage, httpNodeRoot: settings.httpNodeRoot });

if (role === 'worker') {
    app.use(settings.httpNodeRoot, observability.countRequests(), ...httpApi.beforeGate(), limitBody,
        (req, res, next) => gate.handle(req, res, next), ...httpApi.afterGate(), (req, res, next) => RED.httpNode(req, res, next));
} else {
    // The editor never answers a flow's endpoint, whatever path trick brought a request here.
    app.use(settings.httpNodeRoot, (req, res) => refusals.answer(req, res, 404, 'the editor serves no flow endpoints'));
}

// The editor's logins, their audit trail and refusals (lib/access/).
const access = settings.access;
if (access) {
    access.log = log.as('access');
    access.attach({ storage, refusals });
    access.storageInfo = () => storage.statusInfo();
}

if (settings.httpAdminRoot !== false) {
    // Node-RED's changelog names its version: for logged-in editor users only.
    app.get('/red/about', RED.auth.needsPermission('settings.read'));
    const loginGuard = new LoginGuard({ users: access.passwordUsers(), refusals, log });
    app.use(settings.httpAdminRoot, limitBody, access.watch(), loginGuard.middleware(), access.passwordLogins());
    // Nodes come from the image: installs through the palette, the admin API or node-red-admin get the reason.
    app.use(settings.httpAdminRoot, paletteRefusals({ authorize: authorizer(RED, refusals), refusals }));
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
// Last: what any handler above threw or passed on.
app.use(requestErrors.handler());

// One step of the stop after Node-RED's own, given `ms` at most: a database that does not answer (frozen, or
// cut off without a reset) holds a change stream's close or a last write for ever. The step left unfinished
// is named in the log and the stop goes on (the launcher's 15 s exit stays for what no bound covers).
async function stopStep(name, work, ms) {
    const outcome = await within(Promise.resolve().then(work).then(() => null, (err) => err), ms);
    if (outcome === TIMED_OUT) log('warn', `stopping: ${name} did not finish within ${ms / 1000} s (MongoDB not answering?); going on without it`);
    else if (outcome) log('warn', `stopping ${name}: ${outcome.message}`);
}

async function shutdown(signal) {
    if (gate.shuttingDown) return;
    const drained = gate.shutdown(5000); // requests inside the flows get their answers first
    log('info', `${signal} received: stopping Node-RED`);
    const force = setTimeout(() => {
        log('error', 'shutdown took longer than 15 s: exiting');
        process.exit(1);
    }, 15000);
    force.unref();
    await drained;
    try {
        await RED.stop(); // nodes' own close handlers: Node-RED bounds them itself
    } catch (err) {
        log('warn', `stopping Node-RED: ${err.message}`);
    }
    await stopStep('debug forwarding and metrics', () => observability.stop(), 2000);
    if (cluster) await stopStep('the cluster view', () => cluster.stop(), 2000);
    // The last audit records, before the database goes.
    if (access && access.audit) await stopStep('the audit trail\'s last write', () => access.audit.flush(), 2000);
    await stopStep('the storage (change stream, status record, connection)', () => storage.close(), 3000);
    server.close();
    if (server.closeAllConnections) server.closeAllConnections();
    log('info', 'stopped');
    process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Node-RED's registry reads <userDir>/package.json (its file storage would create it); function nodes
// find their modules through it and <userDir>/node_modules (lib/function_modules.js).
function prepareUserDir(dir, modules) {
    require('fs').mkdirSync(dir, { recursive: true });
    linkIntoUserDir(dir, modules);
}

// The editor's cluster API and Cluster sidebar feed (lib/cluster/), once RED.init made the admin app.
let cluster = null;

async function main() {
    const functionModules = availableModules({ dir: settings.functionModulesDir });
    prepareUserDir(settings.userDir, functionModules);
    if (functionModules.size > 0) log('info', `function nodes may use the npm modules ${[...functionModules.keys()].join(', ')}`);
    RED.init(server, settings);
    if (role === 'editor') {
        // Deploys checked before Node-RED takes them (and refused while the flows are locked to files).
        const deploys = guardDeploys(RED, storage, log, { functionModules, openapi: settings.httpApi.openapi, lock: settings.flowsLock });
        cluster = installCluster({
            RED, storage, refusals, log: log.as('cluster'), deploys, credentialSecret: settings.credentialSecret, lock: settings.flowsLock, access,
        });
    }
    const guard = role === 'worker' ? (req, path) => httpApi.upgradeRefusal(req, path) : null;
    new Upgrades({ app, role, httpNodeRoot: settings.httpNodeRoot, gate, refusals, log, guard }).install(server);
    observability.start();
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
