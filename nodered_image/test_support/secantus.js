'use strict';
// The MongoDB the JavaScript tests of storage/ and context/ run against: MONGO_TEST_URL, else a
// SecantusDB started here (from ../venv, $SECANTUSD or PATH) on a free loopback port. Shared by both
// packages' test helpers; each passes the MongoClient of its own mongodb dependency.
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function findSecantusd() {
    const candidates = [process.env.SECANTUSD, path.resolve(__dirname, '../../venv/bin/secantusd-py')];
    for (const dir of (process.env.PATH || '').split(path.delimiter)) candidates.push(path.join(dir, 'secantusd-py'));
    return candidates.find((c) => c && fs.existsSync(c));
}

function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
        srv.on('error', reject);
    });
}

// Servers still running when the test process exits (a failed test that never reached stop()) are
// killed with it, so no test run leaves a database server behind.
const running = new Set();
process.on('exit', () => {
    for (const proc of running) proc.kill('SIGKILL');
});

// {url, stop(), pause(), resume()}. A missing server is an error: these tests never skip.
// pause()/resume(): SIGSTOP/SIGCONT, a server that hangs (connections accepted, nothing answered).
// port: a fixed one (a test that restarts the server on the same port; never MONGO_TEST_URL's).
// testCommands: SecantusDB takes configureFailPoint (a MONGO_TEST_URL server must allow it itself).
async function startMongo({ MongoClient, port = null, testCommands = false, prefix = 'mongo-test-' }) {
    if (process.env.MONGO_TEST_URL && !port) {
        const external = () => {
            throw new Error('MONGO_TEST_URL names an external server: it cannot be paused');
        };
        return { url: process.env.MONGO_TEST_URL, stop: async () => {}, pause: external, resume: external };
    }
    const bin = findSecantusd();
    if (!bin) throw new Error('no MongoDB for the tests: set MONGO_TEST_URL, or SECANTUSD / PATH to secantusd-py');
    const listenPort = port || await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const args = ['--host', '127.0.0.1', '--port', String(listenPort), '--storage-path', dir, '--log-level', 'WARNING'];
    if (testCommands) args.push('--enable-test-commands');
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const url = `mongodb://127.0.0.1:${listenPort}/?directConnection=true`;
    const deadline = Date.now() + 30000;
    for (;;) {
        const c = new MongoClient(url, { serverSelectionTimeoutMS: 500 });
        try {
            await c.connect();
            await c.db('admin').command({ ping: 1 });
            await c.close();
            break;
        } catch (err) {
            await c.close().catch(() => {});
            if (proc.exitCode !== null || Date.now() > deadline) {
                proc.kill('SIGKILL');
                throw new Error(`secantusd-py did not start: ${err.message}`, { cause: err });
            }
            await sleep(100);
        }
    }
    return {
        url,
        pause: () => proc.kill('SIGSTOP'),
        resume: () => proc.kill('SIGCONT'),
        stop: async () => {
            if (proc.exitCode === null && proc.signalCode === null) {
                proc.kill('SIGCONT'); // a paused server would not act on SIGTERM
                const exited = new Promise((r) => proc.once('exit', r));
                proc.kill('SIGTERM');
                // A server that does not stop on SIGTERM within 5 s is killed.
                const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
                await exited;
                clearTimeout(timer);
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

module.exports = { startMongo, findSecantusd, freePort, sleep };
