'use strict';
// The one place where a change made through the cluster API is recorded: today a log line naming who
// did what; an audit trail would keep the same entries ({action, user, ...what it did}).
class ClusterActions {
    constructor({ log }) {
        this.log = log;
    }

    record(entry) {
        if (entry.action === 'rollback') {
            // While the flows are locked to their source, a rollback is the emergency way past the lock.
            const locked = entry.lockedTo ? ` (flows locked to ${entry.lockedTo}: the next \`pulumi up\` deploys the source again)` : '';
            this.log(entry.lockedTo ? 'warn' : 'info',
                `cluster: ${entry.user} rolled back to revision ${entry.rollbackOf}: saved as revision ${entry.rev}${locked}`);
        } else if (entry.action === 'deploy') {
            const message = entry.message ? ` (${JSON.stringify(entry.message)})` : '';
            this.log('info', `cluster: ${entry.user} deployed flows from files${message}: saved as revision ${entry.rev} (${entry.summary})`);
        } else {
            this.log('info', `cluster: ${entry.user} ${entry.action}`);
        }
    }
}

module.exports = { ClusterActions };
