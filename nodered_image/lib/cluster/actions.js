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
            // While the flows are locked to their source, a rollback is the emergency way past the lock.
            const locked = entry.lockedTo ? ` (flows locked to ${entry.lockedTo}: the next \`pulumi up\` deploys the source again)` : '';
            this.log(entry.lockedTo ? 'warn' : 'info',
                `cluster: ${entry.user} rolled back to revision ${entry.rollbackOf}: saved as revision ${entry.rev}${locked}`);
            this.audit(req, { event: 'rollback', user: entry.user, rev: entry.rev,
                detail: `of revision ${entry.rollbackOf}${entry.lockedTo ? ` (flows locked to ${entry.lockedTo})` : ''}` });
        } else if (entry.action === 'deploy') {
            const message = entry.message ? ` (${JSON.stringify(entry.message)})` : '';
            this.log('info', `cluster: ${entry.user} deployed flows from files${message}: saved as revision ${entry.rev} (${entry.summary})`);
            this.audit(req, { event: 'deploy', user: entry.user, rev: entry.rev, deployType: 'files',
                detail: entry.message ? String(entry.message).slice(0, 200) : undefined });
        } else {
            this.log('info', `cluster: ${entry.user} ${entry.action}`);
        }
    }

    // A record in the audit trail, with how the request's user logged in and the client address.
    audit(req, record) {
        if (this.access && this.access.audit) this.access.audit.record({ ...this.access.who(req), ...record });
    }
}

module.exports = { ClusterActions };
