/**
 * Loads nodered_image/settings.js once per case, each time with the case's environment as process.env,
 * and records every environment variable settings.js itself reads (reads by the modules it requires,
 * Node-RED's or the MongoDB driver's, are not its own and are left out).
 *
 *   node record_env_reads.js <settings.js>  < cases.json  > results.json
 *
 * cases.json: [{"env": {...}}, ...]; results: [{"reads": [names], "error": message or null,
 * "settings": {the values a test compares}}, ...] in case order.
 */
const fs = require('fs');
const path = require('path');

const target = path.resolve(process.argv[2]);
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const realEnv = process.env;
const results = [];

// The file of the code that made the property access the trap is handling.
function readerFile() {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (_, callSites) => callSites;
    const stack = new Error().stack;
    Error.prepareStackTrace = prepare;
    const outside = stack.find((site) => site.getFileName() !== __filename);
    return outside ? outside.getFileName() : null;
}

for (const { env } of cases) {
    const reads = new Set();
    const record = (key) => {
        if (readerFile() === target) reads.add(typeof key === 'string' ? key : String(key));
    };
    process.env = new Proxy({ ...env }, {
        get(values, key) {
            record(key);
            return values[key];
        },
        has(values, key) {
            record(key);
            return key in values;
        },
        ownKeys(values) {
            record('<every variable: the environment was enumerated>');
            return Reflect.ownKeys(values);
        },
        getOwnPropertyDescriptor(values, key) {
            record(key);
            return Reflect.getOwnPropertyDescriptor(values, key);
        },
    });
    let result;
    try {
        delete require.cache[target];
        const s = require(target);
        const { role, database, instanceId, port, revisionsKept, syncCheckSeconds, tlsCAFile, enableChangeStreams, tabs,
            previousCredentialSecret } = s.storageModuleOptions;
        result = {
            error: null,
            settings: {
                uiPort: s.uiPort, uiHost: s.uiHost, userDir: s.userDir, httpNodeRoot: s.httpNodeRoot,
                keepAliveSeconds: s.keepAliveSeconds, editorUser: s.access ? [...s.access.access.users.keys()][0] || null : null,
                bodyLimitBytes: s.bodyLimitBytes, apiMaxLength: s.apiMaxLength, trustedProxies: s.trustedProxies.entries,
                role, database, instanceId, port, revisionsKept, syncCheckSeconds, tlsCAFile, enableChangeStreams,
                tabs, contextDefault: s.contextStorage.default, sharedContext: s.contextStorage.shared.config,
                previousCredentialSecret,
                access: s.access ? {
                    users: [...s.access.access.users.values()].map((u) => [u.name, u.permissions]),
                    tokens: [...s.access.access.tokens.values()].map((t) => [t.name, t.permissions]),
                    oidc: s.access.access.oidc && { ...s.access.access.oidc, clientSecret: undefined },
                    sessionExpiryTime: s.adminAuth.sessionExpiryTime, loginType: s.adminAuth.type,
                    auditRetentionDays: s.access.access.auditRetentionDays,
                } : null,
            },
        };
    } catch (err) {
        result = { error: err.message, settings: null };
    } finally {
        process.env = realEnv;
    }
    results.push({ reads: [...reads].sort(), ...result });
}
process.stdout.write(JSON.stringify(results));
