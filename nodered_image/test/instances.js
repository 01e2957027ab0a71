'use strict';
// Test helpers for the launcher: real Node-RED instances started the way the image starts them
// (node server.js with the environment contract), on loopback ports, against the tests' database
// server (storage/test/helpers.js: MONGO_TEST_URL, else SecantusDB started here).
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startMongo, freePort, sleep } = require('../storage/test/helpers');

const IMAGE_DIR = path.resolve(__dirname, '..');
const EDITOR_PASSWORD = 'launcher-test-password';

async function waitFor(fn, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
        await sleep(50);
    }
}

class Instance {
    constructor(role, { mongoUrl, database, env = {} }) {
        this.role = role;
        this.mongoUrl = mongoUrl;
        this.database = database;
        this.extraEnv = env;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `launcher-${role}-`));
        this.output = '';
    }

    get url() {
        return `http://127.0.0.1:${this.port}`;
    }

    async start() {
        this.port = await freePort();
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_RED_|MONGO_)/.test(k)));
        Object.assign(env, {
            NODE_RED_ROLE: this.role, MONGO_URL: this.mongoUrl, MONGO_DB: this.database, PORT: String(this.port),
            NODE_RED_LISTEN_HOST: '127.0.0.1', NODE_RED_USER_DIR: this.dir, NODE_RED_INSTANCE_ID: `${this.role}-${this.port}`,
            NODE_RED_CREDENTIAL_SECRET: 'launcher-test-secret', NODE_RED_EDITOR_PASSWORD: EDITOR_PASSWORD,
        }, this.extraEnv);
        this.proc = spawn(process.execPath, ['server.js'], { cwd: IMAGE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
        const keep = (chunk) => {
            this.output = (this.output + chunk).slice(-20000);
        };
        this.proc.stdout.on('data', keep);
        this.proc.stderr.on('data', keep);
        this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
        return this;
    }

    async healthz() {
        const r = await fetch(`${this.url}/healthz`);
        return { status: r.status, ...(await r.json()) };
    }

    async waitReady(rev, timeoutMs = 60000) {
        return waitFor(async () => {
            if (this.proc.exitCode !== null) throw new Error(`${this.role} exited:\n${this.output}`);
            const h = await this.healthz();
            return h.status === 200 && (rev === undefined || h.rev >= rev) ? h : null;
        }, timeoutMs, `${this.role} ready at revision ${rev}:\n${this.output.slice(-3000)}`);
    }

    async stop() {
        if (this.proc && this.proc.exitCode === null) {
            this.proc.kill('SIGTERM');
            const killed = setTimeout(() => this.proc.kill('SIGKILL'), 20000);
            await this.exited;
            clearTimeout(killed);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

// The editor's admin API as tooling drives it: token login, then POST /flows.
class Admin {
    constructor(editor) {
        this.url = editor.url;
    }

    async login() {
        const r = await fetch(`${this.url}/auth/token`, {
            method: 'POST',
            body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: EDITOR_PASSWORD }),
        });
        if (!r.ok) throw new Error(`login: ${r.status}`);
        this.token = (await r.json()).access_token;
    }

    // Resolves with the storage revision the deploy was saved as.
    async deploy(flows) {
        const r = await fetch(`${this.url}/flows`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify({ flows }),
        });
        if (!r.ok) throw new Error(`deploy: ${r.status} ${await r.text()}`);
        return Number(r.headers.get('x-flows-revision'));
    }
}

// GET <httpNodeRoot>/marker answers {"marker": marker} at once, GET <httpNodeRoot>/slow answers after
// slowMs; `filler` extra function nodes make the flow slow to stop and start (a large deploy).
function markerFlow(marker, { filler = 0, slowMs = 2000 } = {}) {
    const flows = [{ id: 'tab-m', type: 'tab', label: 'marker' }];
    const endpoint = (id, url, func) => flows.push(
        { id: `${id}-in`, type: 'http in', z: 'tab-m', url, method: 'get', upload: false, wires: [[`${id}-fn`]] },
        { id: `${id}-fn`, type: 'function', z: 'tab-m', func, outputs: 1, wires: [[`${id}-out`]] },
        { id: `${id}-out`, type: 'http response', z: 'tab-m', statusCode: '', headers: {}, wires: [] },
    );
    endpoint('m', '/marker', `msg.payload = ${JSON.stringify({ marker })};\nreturn msg;`);
    endpoint('s', '/slow', `setTimeout(() => node.send(msg), ${slowMs});\nreturn null;`);
    for (let i = 0; i < filler; i++) {
        flows.push({ id: `f-${i}`, type: 'function', z: 'tab-m', func: `msg.n = ${i};\nreturn msg;`, outputs: 1, wires: [[]] });
    }
    return flows;
}

async function marker(instance, url = '/marker') {
    const r = await fetch(`${instance.url}/red-nodes${url}`);
    if (r.status !== 200) return null;
    return (await r.json()).marker;
}

module.exports = { startMongo, Instance, Admin, markerFlow, marker, waitFor, sleep };
