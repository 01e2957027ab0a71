// The replica-set health check/reconciler run against a simulated replica set (the mongosh globals it
// uses: rs, db, print, quit, process.env), one run at a time, as Docker runs it.
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SCRIPT = fs.readFileSync(path.join(__dirname, "..", "replica_set.js"), "utf8");

class Quit extends Error {
    constructor(code) {
        super(`quit(${code})`);
        this.code = code;
    }
}

// A replica set as seen from member 0: its config (null until initiated), its own state, which hosts answer.
// Objects made inside the script's context have that context's prototypes: compare plain copies.
const plain = (value) => (value === undefined ? value : JSON.parse(JSON.stringify(value)));

function fakeSet({ conf = null, primary = true, down = [] } = {}) {
    const set = { conf, primary, down, calls: [] };
    set.rs = {
        status() {
            if (!set.conf) throw Object.assign(new Error("no replset config has been received"), { codeName: "NotYetInitialized" });
            return { members: set.conf.members.map((m) => ({ name: m.host, health: set.down.includes(m.host) ? 0 : 1 })) };
        },
        initiate(config) {
            set.calls.push(["initiate", plain(config)]);
            set.conf = { ...plain(config), version: 1 };
        },
        conf() {
            return JSON.parse(JSON.stringify(set.conf));
        },
        reconfig(config, options) {
            set.calls.push(["reconfig", config.members.map((m) => m.host), plain(options) || {}]);
            set.conf = plain(config);
        },
    };
    set.db = { hello: () => ({ isWritablePrimary: !!set.conf && set.primary, secondary: !!set.conf && !set.primary }) };
    return set;
}

function run(set, members) {
    const env = { MONGO_REPLICA_SET: "rs0", MONGO_RS_MEMBERS: members.join(","), MONGO_RS_RECONCILER: "true" };
    const context = {
        rs: set.rs,
        db: set.db,
        print: () => {},
        quit: (code) => {
            throw new Quit(code);
        },
        process: { env },
    };
    try {
        vm.runInNewContext(SCRIPT, context);
    } catch (e) {
        if (e instanceof Quit) return e.code;
        throw e;
    }
    return 0;
}

const ONE = ["m-0:27017"];
const THREE = ["m-0:27017", "m-1:27017", "m-2:27017"];
const hosts = (set) => set.conf.members.map((m) => m.host);

test("initiates once with member 0 and reports unhealthy until it is primary", () => {
    const set = fakeSet();
    assert.strictEqual(run(set, ONE), 1);
    assert.deepStrictEqual(hosts(set), ONE);
    assert.strictEqual(set.calls.length, 1);
    assert.strictEqual(run(set, ONE), 0);
    assert.strictEqual(run(set, ONE), 0);
    assert.strictEqual(set.calls.length, 1, "a matching set is left alone");
});

test("going from 1 to 3 members adds one member per run, then changes nothing", () => {
    const set = fakeSet();
    run(set, THREE);
    run(set, THREE);
    assert.deepStrictEqual(hosts(set), THREE.slice(0, 2));
    run(set, THREE);
    assert.deepStrictEqual(hosts(set), THREE);
    const ids = set.conf.members.map((m) => m._id);
    assert.strictEqual(new Set(ids).size, 3);
    const calls = set.calls.length;
    assert.strictEqual(run(set, THREE), 0);
    assert.strictEqual(set.calls.length, calls);
    assert.strictEqual(set.conf.members[0].priority, 2, "member 0 is preferred as primary");
});

test("each reconfig raises the config version", () => {
    const set = fakeSet();
    run(set, THREE);
    const before = set.conf.version;
    run(set, THREE);
    assert.strictEqual(set.conf.version, before + 1);
});

test("going from 3 to 1 with the others gone forces the config to the wanted member", () => {
    const set = fakeSet({
        conf: { _id: "rs0", version: 5, members: THREE.map((host, i) => ({ _id: i, host, priority: 1 })) },
        primary: false,
        down: THREE.slice(1),
    });
    run(set, ONE);
    const [kind, members, options] = set.calls.at(-1);
    assert.strictEqual(kind, "reconfig");
    assert.deepStrictEqual(members, ONE);
    assert.deepStrictEqual(options, { force: true });
});

test("never forces while the members to remove still answer", () => {
    const set = fakeSet({
        conf: { _id: "rs0", version: 5, members: THREE.map((host, i) => ({ _id: i, host, priority: 1 })) },
        primary: false,
    });
    assert.strictEqual(run(set, ONE), 0, "a secondary is healthy");
    assert.deepStrictEqual(set.calls, []);
});

test("a primary removes an extra member the normal way", () => {
    const set = fakeSet({ conf: { _id: "rs0", version: 2, members: THREE.map((host, i) => ({ _id: i, host, priority: 1 })) } });
    run(set, THREE.slice(0, 2));
    assert.deepStrictEqual(set.calls.at(-1), ["reconfig", THREE.slice(0, 2), {}]);
});
