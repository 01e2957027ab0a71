// The driver's share of an idle worker: one MongoDB client made as the storage module makes it,
// following a change stream the way a worker follows its flows, and nothing else.
// Run by bench/idle_cpu.py: `MONGO_URL=... DB=... node bench/idle_driver_client.js` prints "ready".
const path = require('path');

const storage = path.join(__dirname, '..', 'nodered_image', 'storage');
const { newClient } = require(path.join(storage, 'lib', 'connect'));

(async () => {
    const client = newClient({ role: 'worker', mongoUrl: process.env.MONGO_URL });
    await client.connect();
    const stream = client.db(process.env.DB).collection('flows').watch([], { maxAwaitTimeMS: 10000 });
    await stream.tryNext();
    console.log('ready');
    for (;;) await stream.tryNext();
})().catch((err) => {
    console.error(err);
    process.exit(1);
});
