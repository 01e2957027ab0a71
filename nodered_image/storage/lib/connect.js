'use strict';
// Connecting to MongoDB / DocumentDB, waiting for it with backoff.
const { MongoClient } = require('mongodb');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The connection string without a password, for log lines.
function redact(url) {
    return String(url).replace(/\/\/([^@/]*)@/, (m, auth) => `//${auth.split(':')[0]}:***@`);
}

function clientOptions(opts) {
    const o = {
        appName: `nodered-scale-${opts.role}`,
        serverSelectionTimeoutMS: 5000,
        // The driver's own default: a lost connection shows at once on the change stream's getMore,
        // which marks the server unknown; a shorter interval only costs an idle instance CPU.
        heartbeatFrequencyMS: 10000,
        retryWrites: false, // DocumentDB has no retryable writes; a deploy is one insert, retried by us
    };
    if (opts.tlsCAFile) {
        o.tls = true;
        o.tlsCAFile = opts.tlsCAFile;
    }
    return o;
}

// How often the driver's connection pool looks for connections to close or open. Its default, 100 ms,
// is most of what an idle client costs (ten wakeups a second, for a pool of minimum size 0 that has
// nothing to open); connections are checked at every checkout all the same. The driver takes this only
// internally (it refuses it as a client option), so it is set on the parsed options before connecting,
// which every server's pool is made from (the storage tests check it reached the pool).
const POOL_CHECK_MS = 10000;

function newClient(opts) {
    const client = new MongoClient(opts.mongoUrl, clientOptions(opts));
    client.options.minPoolSizeCheckFrequencyMS = POOL_CHECK_MS;
    return client;
}

// Resolves with a connected client once MongoDB answers a ping; one log line per failed attempt.
async function connectWithBackoff(opts, log, isClosed) {
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
        const client = newClient(opts);
        try {
            await client.connect();
            await client.db(opts.database).command({ ping: 1 });
            log.info(`MongoDB reachable at ${redact(opts.mongoUrl)} (database ${opts.database}, attempt ${attempt})`);
            return client;
        } catch (err) {
            await client.close().catch(() => {});
            if (isClosed()) throw new Error('storage closed while waiting for MongoDB', { cause: err });
            log.warn(`waiting for MongoDB at ${redact(opts.mongoUrl)}: attempt ${attempt} failed (${err.message}); retrying in ${delay} ms`);
            await sleep(delay);
            delay = Math.min(delay * 2, 5000);
        }
    }
}

module.exports = { connectWithBackoff, redact, sleep, clientOptions, newClient, POOL_CHECK_MS };
