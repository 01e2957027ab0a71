/**
 * Node-RED settings for nodered-scale: one image, the role and everything else from the environment.
 *
 * Every variable read here, its default and its limits are declared in contract.json beside this file
 * (the machine-readable contract, also read by healthcheck.js and by the Python deploy code in
 * nodered_contract/); docs/instances.md, "Every instance: environment", explains them in a table. Read a
 * variable only through value() or integer() below, and declare it in contract.json first.
 *
 * Invalid or missing values throw an Error naming the variable; the launcher prints it and exits 1.
 */
const os = require('os');
const path = require('path');

const contract = require('./contract.json');
const { parseTrustedProxies } = require('./lib/client');
const { parseApiConfig, ApiConfigError } = require('./lib/api/config');
const { accessConfig, AccessConfigError } = require('./lib/access/config');
const { EditorAccess } = require('./lib/access');
const { nodeRedLogging } = require('./lib/logger');
const { FlowsLock } = require('./lib/flows_lock');
const { defaultInstanceId } = require('./common/instance_id');

const env = process.env;
const declared = new Map(contract.environment.map((v) => [v.name, v]));

function fail(message) {
    const err = new Error(message);
    err.code = 'NODERED_SCALE_CONFIG';
    throw err;
}

function variable(name) {
    const v = declared.get(name);
    if (!v) throw new Error(`settings.js reads ${name}, which contract.json does not declare`);
    return v;
}

// The variable's value; unset or empty: its declared default (null when it has none).
function value(name) {
    const v = variable(name);
    const raw = env[name];
    return raw === undefined || raw === '' ? v.default : raw;
}

// An integer variable within its declared bounds.
function integer(name) {
    const { integer: bounds } = variable(name);
    const raw = value(name);
    if (!/^\d+$/.test(raw) || Number(raw) < Math.min(1, bounds.min)) {
        fail(`${name} must be a ${bounds.min === 0 ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(raw)}`);
    }
    const n = Number(raw);
    if (n < bounds.min || (bounds.max !== undefined && n > bounds.max)) {
        const range = bounds.max === undefined ? `at least ${bounds.min}` : `from ${bounds.min} to ${bounds.max}`;
        fail(`${name} must be ${range}, got ${n}`);
    }
    return n;
}

// A variable with a fixed set of values (contract.json's `values`).
function oneOf(name) {
    const raw = value(name);
    const allowed = variable(name).values;
    if (!allowed.includes(raw)) fail(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw;
}

// The httpNodeRoot rule of contract.json: its pattern, and no reserved first segment (any case).
const rootRule = contract.httpNodeRoot;
const rootPattern = new RegExp(rootRule.pattern);
const reservedFirstSegments = new Set(rootRule.reservedFirstSegments);

const role = value('NODE_RED_ROLE');
if (!variable('NODE_RED_ROLE').values.includes(role)) {
    fail(`NODE_RED_ROLE must be "editor" or "worker", got ${JSON.stringify(role)}`);
}
const isEditor = role === 'editor';

const mongoUrl = value('MONGO_URL');
if (!mongoUrl) fail('MONGO_URL is required: the MongoDB connection string where flows are stored');

const credentialSecret = value('NODE_RED_CREDENTIAL_SECRET');
if (!credentialSecret) {
    fail('NODE_RED_CREDENTIAL_SECRET is required: it encrypts flow credentials, and the editor and every ' +
        'worker must share it so workers can decrypt the credentials the editor saves');
}

// During a rotation of the credential key, the key before it: the storage decrypts with either and the editor
// re-encrypts what is kept (storage/lib/credential_key.js).
const previousCredentialSecret = value('NODE_RED_PREVIOUS_CREDENTIAL_SECRET');
if (previousCredentialSecret !== null && previousCredentialSecret === credentialSecret) {
    fail('NODE_RED_PREVIOUS_CREDENTIAL_SECRET is NODE_RED_CREDENTIAL_SECRET: during a rotation it is the key before');
}

const httpNodeRoot = value('NODE_RED_HTTP_NODE_ROOT');
if (!rootPattern.test(httpNodeRoot)) {
    fail(`NODE_RED_HTTP_NODE_ROOT must start with "/" and be ${rootRule.rule}; got ${JSON.stringify(httpNodeRoot)}`);
}
const firstSegment = httpNodeRoot.split('/')[1];
if (reservedFirstSegments.has(firstSegment.toLowerCase())) {
    fail(`NODE_RED_HTTP_NODE_ROOT must not start with "/${firstSegment}": the editor, the health checks or the ` +
        `router serve that path, and the router would send it to the workers; got ${JSON.stringify(httpNodeRoot)}`);
}

const port = integer('PORT');

// Must outlast the router's idle upstream connections (nginx: 4 s), so the router closes them first.
const keepAliveSeconds = integer('NODE_RED_KEEPALIVE_SECONDS');

const instanceId = value('NODE_RED_INSTANCE_ID') || defaultInstanceId();

// One body limit for flow requests and the admin API (deploys); the router applies the same one.
const bodyLimitBytes = integer('NODE_RED_BODY_LIMIT_MB') * 1024 * 1024;

let trustedProxies;
try {
    trustedProxies = parseTrustedProxies(value('NODE_RED_TRUSTED_PROXIES'));
} catch (err) {
    fail(`NODE_RED_TRUSTED_PROXIES ${err.message}`);
}

// Every log line names the instance and its role (lib/logger.js); JSON lines on request.
const logFormat = value('NODE_RED_LOG_FORMAT');
if (!variable('NODE_RED_LOG_FORMAT').values.includes(logFormat)) {
    fail(`NODE_RED_LOG_FORMAT must be "text" or "json", got ${JSON.stringify(logFormat)}`);
}

// Debug messages a worker forwards to the editor's sidebar per second (0: none), and their KiB per
// second; lib/debug_forwarder.js.
const debugForwardRate = isEditor ? 0 : integer('NODE_RED_DEBUG_FORWARD_RATE');
const debugForwardKiB = isEditor ? 0 : integer('NODE_RED_DEBUG_FORWARD_KIB');

const contextDefault = oneOf('NODE_RED_CONTEXT_DEFAULT');
// Which tabs run here: workers run every tab they may (run-once tabs while they lead); the editor what
// NODE_RED_EDITOR_FLOWS says (docs/flows-on-workers.md).
const tabs = isEditor ? oneOf('NODE_RED_EDITOR_FLOWS') : 'all';
const tlsCAFile = value('MONGO_TLS_CA_FILE');

// The flows' endpoints as an API (docs/api.md): auth rules and their users and clients, CORS, the rate
// limit per client address on this instance, the OpenAPI document. Workers serve the endpoints; the
// editor only needs to know whether the document's path is taken (its deploy guard).
let httpApi;
try {
    httpApi = parseApiConfig(isEditor ? { openapi: oneOf('NODE_RED_HTTP_OPENAPI') } : {
        auth: value('NODE_RED_HTTP_AUTH'),
        users: value('NODE_RED_HTTP_USERS'),
        tokens: value('NODE_RED_HTTP_TOKENS'),
        cors: value('NODE_RED_HTTP_CORS'),
        rateLimit: value('NODE_RED_HTTP_RATE_LIMIT'),
        openapi: oneOf('NODE_RED_HTTP_OPENAPI'),
    });
} catch (err) {
    if (!(err instanceof ApiConfigError)) throw err;
    fail(err.message);
}
// npm modules baked for function nodes (lib/function_modules.js): the launcher links them into userDir.
const functionModulesDir = value('NODE_RED_FUNCTION_MODULES_DIR');

// Who may log in and what they may do (lib/access/): local users with roles, single sign-on, API tokens,
// sessions that end when their login changes, the audit trail. Workers have no editor.
let access = null;
if (isEditor) {
    try {
        access = new EditorAccess(accessConfig({
            user: value('NODE_RED_EDITOR_USER'),
            password: value('NODE_RED_EDITOR_PASSWORD'),
            passwordHash: value('NODE_RED_EDITOR_PASSWORD_HASH'),
            users: value('NODE_RED_EDITOR_USERS'),
            passwords: value('NODE_RED_EDITOR_PASSWORDS'),
            oidc: value('NODE_RED_EDITOR_OIDC'),
            oidcClientSecret: value('NODE_RED_EDITOR_OIDC_CLIENT_SECRET'),
            editorUrl: value('NODE_RED_EDITOR_URL'),
            apiTokens: value('NODE_RED_EDITOR_API_TOKENS'),
            apiTokenSecrets: value('NODE_RED_EDITOR_API_TOKEN_SECRETS'),
            sessionHours: integer('NODE_RED_SESSION_HOURS'),
            auditRetentionDays: integer('NODE_RED_AUDIT_RETENTION_DAYS'),
            credentialSecret,
            previousCredentialSecret,
        }));
    } catch (err) {
        if (!(err instanceof AccessConfigError)) throw err;
        fail(err.message);
    }
}
const storageModule = require('nodered-scale-storage');

// A stack whose flows come from files (lib/flows_lock.js): deploys by people refused, the deploy token of
// `pulumi up` admitted through Node-RED's adminAuth.tokens.
let flowsLock = null;
if (isEditor && value('NODE_RED_FLOWS_SOURCE')) {
    const deployer = value('NODE_RED_FLOWS_DEPLOYER');
    const tokenHash = value('NODE_RED_FLOWS_DEPLOY_TOKEN_HASH');
    if (!deployer) fail('NODE_RED_FLOWS_DEPLOYER is required with NODE_RED_FLOWS_SOURCE: the user name the deploy token logs in as');
    if (!/^[0-9a-f]{64}$/.test(tokenHash || '')) {
        fail('NODE_RED_FLOWS_DEPLOY_TOKEN_HASH must be the SHA-256 of the deploy token, 64 lowercase hex digits, with NODE_RED_FLOWS_SOURCE');
    }
    flowsLock = new FlowsLock({ source: value('NODE_RED_FLOWS_SOURCE'), deployer, tokenHash });
}

// Node-RED's adminAuth: the editor's logins; its tokens are the flows deploy token first, then the API tokens
// (an API token, whatever its role, is refused by the lock as people are).
const adminAuth = access ? access.adminAuth({ deployToken: flowsLock }) : undefined;

module.exports = {
    uiPort: port,
    uiHost: value('NODE_RED_LISTEN_HOST'),
    // Read by the launcher (server.js), not by Node-RED.
    keepAliveSeconds,
    bodyLimitBytes,
    trustedProxies,
    logFormat,
    debugForwardRate,
    debugForwardKiB,
    flowsLock,
    httpApi,
    functionModulesDir,
    userDir: value('NODE_RED_USER_DIR'),
    credentialSecret,

    // The editor serves the editor and admin API at /; workers have neither.
    httpAdminRoot: isEditor ? '/' : false,
    httpNodeRoot,
    // With auth rules, HTTP-in routes match case-sensitively, as the rules do (lib/api/paths.js): /Orders/1
    // never reaches the flow of /orders/:id around a rule for /orders/*.
    ...(httpApi.auth ? { httpServerOptions: { 'case sensitive routing': true } } : {}),
    adminAuth,
    // Read by the launcher: the audit trail and what it adds around Node-RED's login (lib/access/).
    access,
    disableEditor: !isEditor,
    // Body parsers of the admin API and of HTTP-in nodes (JSON, urlencoded); the launcher refuses any
    // larger body before it reaches them, whatever its type (lib/body_limit.js).
    apiMaxLength: bodyLimitBytes,
    // The launcher answers every upgrade no listener takes (lib/upgrades.js), a websocket to a worker
    // swapping flows once the swap ends (at most 10 s); Node-RED's own cut-off is only a backstop.
    inboundWebSocketTimeout: 15000,

    // The editor's login sessions end when their login changes (lib/access/sessions.js).
    storageModule: access ? access.wrapStorage(storageModule) : storageModule,
    storageModuleOptions: {
        role,
        mongoUrl,
        database: value('MONGO_DB'),
        instanceId,
        host: os.hostname(),
        port,
        revisionsKept: integer('NODE_RED_REVISIONS_KEPT'),
        syncCheckSeconds: integer('NODE_RED_SYNC_CHECK_SECONDS'),
        tlsCAFile,
        previousCredentialSecret,
        // Only the editor enables them (storage ignores the option on workers).
        enableChangeStreams: isEditor && value('MONGO_ENABLE_CHANGE_STREAMS') === 'true',
        tabs,
    },

    // Context: `memory` per instance (Node-RED's own), `shared` on MongoDB for the whole stack; the
    // default is the store a flow gets when it names none.
    contextStorage: {
        default: contextDefault,
        memory: { module: 'memory' },
        shared: {
            module: require('nodered-scale-context'),
            config: { mongoUrl, database: value('MONGO_DB'), role, instanceId, tlsCAFile },
        },
    },

    // The image's own palette nodes (palette_nodes/: shared-atomic) on every instance, so the editor offers
    // them and every worker runs them. The editor's own plugins (editor_plugin/): the Cluster sidebar, and each
    // debug sidebar message shows the instance it came from, and the sidebar filters by instance. Workers have
    // no editor.
    nodesDir: [path.join(__dirname, 'palette_nodes'), ...(isEditor ? [path.join(__dirname, 'editor_plugin')] : [])],
    // The editor page's lock notice (editor_plugin/flows_lock.html reads it as RED.settings).
    ...(isEditor ? { 'nodered-scale-flows-lock': flowsLock ? flowsLock.editorSettings() : { source: null } } : {}),

    // Nodes and function nodes' modules are baked into the image so editor and workers run the same set:
    // no installs at run time. Function nodes load the baked modules (image.functionModules) and Node.js's.
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false },
        modules: { allowInstall: false },
    },
    functionExternalModules: true,
    editorTheme: {
        projects: { enabled: false },
        tours: false,
    },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: false },
    runtimeState: { enabled: false, ui: false },

    logging: nodeRedLogging({ role, instance: instanceId, format: logFormat }),

    functionGlobalContext: {},
    exportGlobalContextKeys: false,
};
