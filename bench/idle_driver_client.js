// The driver's share of an idle worker: one MongoDB client made with the storage module's own client
// options, following a change stream the way a worker follows its flows, and nothing else.
// Run by bench/idle_cpu.py: `MONGO_URL=... DB=... node bench/idle_driver_client.js` prints "ready".
const path = require('path');

const storage = path.join(__dirname, '..', 'nodered_image', 'storage');
const { MongoClient } = require(require.resolve('mongodb', { paths: [storage] }));
const { clientOptions } = require(path.join(storage, 'lib', 'connect'));

(async () => {
    const client = new MongoClient(process.env.MONGO_URL, clientOptions({ role: 'worker' }));
    await client.connect();
    const stream = client.db(process.env.DB).collection('flows').watch([], { maxAwaitTimeMS: 10000 });
    await stream.tryNext();
    console.log('ready');
    for (;;) await stream.tryNext();
})().catch((err) => {
    console.error(err);
    process.exit(1);
});
