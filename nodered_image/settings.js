/**
 * Node-RED settings for nodered-scale: one image, the role and everything else from the environment.
 *
 * Environment (PRODUCT.md contract):
 *   NODE_RED_ROLE                  editor | worker (required)
 *   MONGO_URL                      MongoDB / DocumentDB connection string (required)
 *   MONGO_DB                       database name (default nodered)
 *   NODE_RED_CREDENTIAL_SECRET     key that encrypts flow credentials (required: editor and workers
 *                                  must share it, or workers cannot decrypt what the editor saved)
 *   NODE_RED_HTTP_NODE_ROOT        path prefix of HTTP-in endpoints (default /red-nodes; starts with /, not /)
 *   NODE_RED_EDITOR_USER           editor login (default admin)
 *   NODE_RED_EDITOR_PASSWORD       editor password, bcrypt-hashed at startup, or
 *   NODE_RED_EDITOR_PASSWORD_HASH  its bcrypt hash (one of the two is required for the editor)
 *   PORT                           HTTP port (default 1880)
 *   NODE_RED_USER_DIR              writable folder for Node-RED's own files (default /data)
 * Also read:
 *   NODE_RED_INSTANCE_ID           id of this instance's status record (default <hostname>-<pid>)
 *   NODE_RED_REVISIONS_KEPT        flow revisions kept in MongoDB (default 20)
 *   NODE_RED_SYNC_CHECK_SECONDS    workers' periodic newest-revision check (default 30)
 *   MONGO_TLS_CA_FILE              CA bundle for TLS to MongoDB (the image ships Amazon's RDS bundle
 *                                  at /etc/ssl/certs/rds-global-bundle.pem for DocumentDB)
 *   MONGO_ENABLE_CHANGE_STREAMS    "true": the editor enables change streams on the flows
 *                                  collection at startup (DocumentDB's modifyChangeStreams)
 *   NODE_RED_LISTEN_HOST           address to listen on (default 0.0.0.0)
 *   NODE_RED_KEEPALIVE_SECONDS     how long an idle keep-alive connection stays open (default 65, at least 5;
 *                                  the nginx router keeps its own 4 s). Behind a load balancer: above its
 *                                  idle timeout (the aws target sets the ALB's idleTimeoutSeconds + 5)
 *
 * Invalid or missing values throw an Error naming the variable; the launcher prints it and exits 1.
 */
const os = require('os');
const path = require('path');

const env = process.env;

function fail(message) {
    const err = new Error(message);
    err.code = 'NODERED_SCALE_CONFIG';
    throw err;
}

function positiveInt(name, dflt) {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < 1) fail(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return Number(raw);
}

// bcryptjs as shipped with node-red (the same one its admin login compares with).
function bcrypt() {
    const nodeRedDir = path.dirname(require.resolve('node-red/package.json'));
    return require(require.resolve('bcryptjs', { paths: [nodeRedDir] }));
}

const role = env.NODE_RED_ROLE;
if (role !== 'editor' && role !== 'worker') {
    fail(`NODE_RED_ROLE must be "editor" or "worker", got ${JSON.stringify(role === undefined ? null : role)}`);
}
const isEditor = role === 'editor';

if (!env.MONGO_URL) fail('MONGO_URL is required: the MongoDB connection string where flows are stored');

const credentialSecret = env.NODE_RED_CREDENTIAL_SECRET;
if (!credentialSecret) {
    fail('NODE_RED_CREDENTIAL_SECRET is required: it encrypts flow credentials, and the editor and every ' +
        'worker must share it so workers can decrypt the credentials the editor saves');
}

const httpNodeRoot = env.NODE_RED_HTTP_NODE_ROOT || '/red-nodes';
if (!httpNodeRoot.startsWith('/') || httpNodeRoot === '/') {
    fail(`NODE_RED_HTTP_NODE_ROOT must start with "/" and not be "/" alone, got ${JSON.stringify(httpNodeRoot)}`);
}

const port = positiveInt('PORT', 1880);
if (port > 65535) fail(`PORT must be at most 65535, got ${port}`);

// Must outlast the router's idle upstream connections (nginx: 4 s), so the router closes them first.
const keepAliveSeconds = positiveInt('NODE_RED_KEEPALIVE_SECONDS', 65);
if (keepAliveSeconds < 5 || keepAliveSeconds > 86400) {
    fail(`NODE_RED_KEEPALIVE_SECONDS must be from 5 to 86400, got ${keepAliveSeconds}`);
}

const instanceId = env.NODE_RED_INSTANCE_ID || `${os.hostname()}-${process.pid}`;

let adminAuth;
if (isEditor) {
    const user = env.NODE_RED_EDITOR_USER || 'admin';
    let hash = env.NODE_RED_EDITOR_PASSWORD_HASH;
    if (!hash) {
        if (!env.NODE_RED_EDITOR_PASSWORD) {
            fail('NODE_RED_EDITOR_PASSWORD or NODE_RED_EDITOR_PASSWORD_HASH is required for the editor: login is mandatory');
        }
        hash = bcrypt().hashSync(env.NODE_RED_EDITOR_PASSWORD, 10);
    } else if (!/^\$2[aby]\$\d\d\$/.test(hash)) {
        fail('NODE_RED_EDITOR_PASSWORD_HASH must be a bcrypt hash ($2a$/$2b$/$2y$...)');
    }
    adminAuth = { type: 'credentials', users: [{ username: user, password: hash, permissions: '*' }] };
}

module.exports = {
    uiPort: port,
    uiHost: env.NODE_RED_LISTEN_HOST || '0.0.0.0',
    // Read by the launcher (server.js), not by Node-RED.
    keepAliveSeconds,
    userDir: env.NODE_RED_USER_DIR || '/data',
    credentialSecret,

    // The editor serves the editor and admin API at /; workers have neither.
    httpAdminRoot: isEditor ? '/' : false,
    httpNodeRoot,
    adminAuth,
    disableEditor: !isEditor,

    storageModule: require('nodered-scale-storage'),
    storageModuleOptions: {
        role,
        mongoUrl: env.MONGO_URL,
        database: env.MONGO_DB || 'nodered',
        instanceId,
        host: os.hostname(),
        port,
        revisionsKept: positiveInt('NODE_RED_REVISIONS_KEPT', 20),
        syncCheckSeconds: positiveInt('NODE_RED_SYNC_CHECK_SECONDS', 30),
        tlsCAFile: env.MONGO_TLS_CA_FILE || null,
        enableChangeStreams: env.MONGO_ENABLE_CHANGE_STREAMS === 'true',
    },

    // Nodes are baked into the image so editor and workers run the same set: no installs at run time.
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false },
        modules: { allowInstall: false },
    },
    functionExternalModules: false,
    editorTheme: {
        projects: { enabled: false },
        tours: false,
    },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: false },
    runtimeState: { enabled: false, ui: false },

    logging: { console: { level: 'info', metrics: false, audit: false } },

    functionGlobalContext: {},
    exportGlobalContextKeys: false,
};
