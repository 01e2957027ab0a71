'use strict';
// The one place where a change made through the cluster API is recorded: today a log line naming who
// did what; an audit trail would keep the same entries ({action, user, ...what it did}).
class ClusterActions {
    constructor({ log }) {
        this.log = log;
    }

    record(entry) {
        if (entry.action === 'rollback') {
            this.log('info', `cluster: ${entry.user} rolled back to revision ${entry.rollbackOf}: saved as revision ${entry.rev}`);
        } else {
            this.log('info', `cluster: ${entry.user} ${entry.action}`);
        }
    }
}

module.exports = { ClusterActions };
