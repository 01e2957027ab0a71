'use strict';
// The one place where a change made through the cluster API is recorded: a log line naming who did what,
// and a record in the audit trail (lib/access/audit.js) with how they logged in and from where.
class ClusterActions {
    // access: the editor's access (lib/access/), or null (no audit trail: tests of the API alone).
    constructor({ log, access = null }) {
        this.log = log;
        this.access = access;
    }

    record(entry, req) {
        if (entry.action === 'rollback') {
            this.log('info', `cluster: ${entry.user} rolled back to revision ${entry.rollbackOf}: saved as revision ${entry.rev}`);
            if (this.access && this.access.audit) {
                this.access.audit.record({ event: 'rollback', ...this.access.who(req), user: entry.user, rev: entry.rev, detail: `of revision ${entry.rollbackOf}` });
            }
        } else {
            this.log('info', `cluster: ${entry.user} ${entry.action}`);
        }
    }
}

module.exports = { ClusterActions };
