'use strict';
// Run-once tabs on the stack's leader: this instance's part (tabs.js) and, when it takes part in the
// election, its leader lease (leader_lease.js). createStorage() sets it up at init, before Node-RED loads
// any flows, and closes it after Node-RED has stopped them (a leader frees the lease for the next).
const { collection } = require('../../common/database');
const { LeaderLease } = require('./leader_lease');
const { TabFilter } = require('./tabs');

async function setUpLeadership({ runtime, client, opts, health, log }) {
    let lease = null;
    const tabs = new TabFilter({ mode: opts.tabs, isLeader: () => Boolean(lease && lease.isLeading()), log });
    if (runtime && runtime.flows && runtime.nodes) tabs.install(runtime);
    if (tabs.electing) {
        lease = new LeaderLease({
            coll: collection(client.db(opts.database), 'leases'), // every write acknowledged by a majority (database.json)
            opts, log,
            onChange: (leader) => {
                health.setLeader(leader);
                tabs.reconcile();
            },
        });
        await lease.start();
    } else {
        log.info(`no part in the leader election: ${opts.tabs === 'none' ? 'runs no tabs' : 'runs every tab but the run-once tabs'}`);
    }
    return {
        info: () => (lease ? lease.info() : { leader: false, term: null }),
        close: async () => {
            if (lease) await lease.close();
        },
    };
}

module.exports = { setUpLeadership };
