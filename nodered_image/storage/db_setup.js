'use strict';
// One-off database setup with the cluster's admin login, before the editor starts (the aws target runs it
// as the first container of the editor's task, `node storage/db_setup.js`): the application user Node-RED
// logs in as gets readWrite on MONGO_DB and nothing else (created, or its password and roles reset when it
// exists), and change streams are enabled for that database (collections.js). Running it again changes
// nothing but a changed password. Exit code 0 once the user is set up, 1 when that failed.
//   MONGO_ADMIN_URL    admin connection string (the DocumentDB master user)
//   MONGO_URL          the application's connection string: its user name and password are the user set up
//   MONGO_DB           the application's database (default: database.json's)
//   MONGO_TLS_CA_FILE  CA bundle for TLS (DocumentDB)
// (contract.json, dbSetup: the same variables, for the deploy targets.)
const { MongoClient } = require('mongodb');
const { clientOptions, redact } = require('./lib/connect');
const { enableChangeStreams } = require('./lib/collections');
const { DEFAULTS, REVISION } = require('../common/database');

// The whole setup ends by contract.json's dbSetup.deadlineSeconds (a deploy target's grace for the editor's task
// counts on it); the change streams get what is left after 30 s for the connection and the user.
const SETUP_DEADLINE_MS = require('../contract.json').dbSetup.deadlineSeconds * 1000;
const CHANGE_STREAMS_DEADLINE_MS = SETUP_DEADLINE_MS - 30000;

// The user and password of a connection string (URL-decoded).
function credentialsOf(url) {
    const parsed = new URL(url);
    if (!parsed.username || !parsed.password) throw new Error(`MONGO_URL ${redact(url)} names no user and password`);
    return { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
}

// Create the user in `admin` with readWrite on `database` only, or reset the password and roles of an existing one.
async function setUpAppUser(client, { user, password, database }) {
    const admin = client.db('admin');
    const roles = [{ role: 'readWrite', db: database }];
    const found = await admin.command({ usersInfo: { user, db: 'admin' } });
    if (found.users && found.users.length) {
        await admin.command({ updateUser: user, pwd: password, roles });
        return 'updated';
    }
    await admin.command({ createUser: user, pwd: password, roles });
    return 'created';
}

async function main(env = process.env, log = console, progress = {}) {
    if (!env.MONGO_ADMIN_URL || !env.MONGO_URL) throw new Error('MONGO_ADMIN_URL and MONGO_URL are required');
    const database = env.MONGO_DB || DEFAULTS.database;
    const { user, password } = credentialsOf(env.MONGO_URL);
    const opts = { role: 'setup', tlsCAFile: env.MONGO_TLS_CA_FILE || null };
    const client = new MongoClient(env.MONGO_ADMIN_URL, clientOptions(opts));
    try {
        await client.connect();
        const done = await setUpAppUser(client, { user, password, database });
        progress.userReady = true;
        log.info(`user ${user} ${done}: readWrite on ${database} only`);
        // The collection makes the database exist, which enabling change streams may need.
        await client.db(database).createCollection(REVISION.collection).catch((err) => {
            if (err.code !== 48) throw err; // 48: exists already
        });
        const deadline = Date.now() + CHANGE_STREAMS_DEADLINE_MS;
        const verified = await enableChangeStreams(client, database, log, { isClosed: () => Date.now() > deadline });
        // Not fatal: the editor keeps trying, and workers poll meanwhile.
        if (!verified) log.warn(`change streams on ${database} not verified within ${CHANGE_STREAMS_DEADLINE_MS / 1000} s`);
    } finally {
        await client.close().catch(() => {});
    }
}

// Runs main() and calls exit(code) once: 0 when it succeeded, 1 when it failed, and at the deadline whatever it
// is doing then, 0 if the user is set up by then (the editor enables change streams itself too), else 1.
function runWithDeadline({ env = process.env, log = console, deadlineMs = SETUP_DEADLINE_MS, exit = process.exit } = {}) {
    const progress = { userReady: false };
    let ended = false;
    const end = (code) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        exit(code);
    };
    const timer = setTimeout(() => {
        log.error(`database setup not finished within ${deadlineMs / 1000} s: ` +
            (progress.userReady ? 'the user is set up, change streams are left to the editor' : 'the user is not set up'));
        end(progress.userReady ? 0 : 1);
    }, deadlineMs);
    main(env, log, progress).then(() => end(0), (err) => {
        log.error(`database setup failed: ${err.message}`);
        end(1);
    });
}

if (require.main === module) runWithDeadline();

module.exports = { main, runWithDeadline, setUpAppUser, credentialsOf, SETUP_DEADLINE_MS };
