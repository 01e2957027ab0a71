// The `shared` context store's own share of a set: in one Node.js process, the store's set of a 1 KB value
// (nodered_image/context, as Node-RED calls it) against the driver's updateOne of the same document shape
// on the store's own client and collection (same options, pool and write concern), taking turns in batches of 10, on a SecantusDB of its own; first with no
// change stream open on the server, then with `--streams` of them open elsewhere on it (a stack of an
// editor and 3 workers keeps 5: 4 on `flows`, 1 on `debug`). Prints p50s, ratios and the load average.
//
//   PATH=venv/node24/bin:$PATH node bench/context_store_vs_driver.js [--sets 600] [--streams 5]
const path = require('path');
const os = require('os');
const { performance } = require('perf_hooks');
const { parseArgs } = require('util');

const context = path.join(__dirname, '..', 'nodered_image', 'context');
const { MongoClient } = require(require.resolve('mongodb', { paths: [context] }));
const sharedContextStore = require(context);
const secantus = require(path.join(__dirname, '..', 'nodered_image', 'test_support', 'secantus'));

// About 1 KB as JSON, as bench/context_ops.py sets it; no key needs escaping, so both store the same.
const VALUE = { id: 'order-42', status: 'paid', items: Array.from({ length: 8 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) };
VALUE.note = 'x'.repeat(1024 - JSON.stringify(VALUE).length - 10);

const p50 = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function openStreams(url, count) {
    const clients = [];
    for (let i = 0; i < count; i++) {
        const client = new MongoClient(url);
        clients.push(client);
        const stream = client.db('bench_other').collection('flows').watch([], { maxAwaitTimeMS: 10000 });
        await stream.tryNext(); // the server's cursor is open from here on
        (async () => {
            for (;;) await stream.tryNext();
        })().catch(() => {}); // ends when its client closes
    }
    return async () => Promise.all(clients.map((c) => c.close().catch(() => {})));
}

async function compare(store, coll, sets) {
    const set = () => new Promise((resolve, reject) => store.set('global', 'bench', VALUE, (err) => (err ? reject(err) : resolve())));
    const update = { $set: { scope: 'global', key: 'driver', node: 'global', updatedBy: 'bench', value: VALUE }, $inc: { v: 1 }, $currentDate: { updatedAt: true } };
    const driver = () => coll.updateOne({ _id: '["global","driver"]' }, update, { upsert: true });
    const ms = { store: [], driver: [] };
    for (let round = -2; round < sets / 10; round++) { // rounds -2 and -1: warm-up, not counted
        for (const [name, op] of [['store', set], ['driver', driver]]) {
            for (let i = 0; i < 10; i++) {
                const t0 = performance.now();
                await op();
                if (round >= 0) ms[name].push(performance.now() - t0);
            }
        }
    }
    return { store: p50(ms.store), driver: p50(ms.driver) };
}

async function main() {
    const { values } = parseArgs({ options: { sets: { type: 'string', default: '600' }, streams: { type: 'string', default: '5' } } });
    const sets = Number(values.sets);
    const mongo = await secantus.startMongo({ MongoClient, prefix: 'bench-store-driver-' });
    const store = sharedContextStore({ mongoUrl: mongo.url, database: 'bench', role: 'editor', instanceId: 'bench' });
    try {
        await store.open();
        const coll = await store.collection();
        console.log(`shared store set of a 1 KB value vs the driver's updateOne, one process, ${sets} each (load average ${load()})`);
        for (const streams of [0, Number(values.streams)]) {
            const close = await openStreams(mongo.url, streams);
            const r = await compare(store, coll, sets);
            await close();
            console.log(`  ${streams} change streams open: store p50 ${r.store.toFixed(2)} ms, driver p50 ${r.driver.toFixed(2)} ms, ` +
                `ratio x${(r.store / r.driver).toFixed(2)} (load average ${load()})`);
        }
    } finally {
        await store.close();
        await mongo.stop();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
