'use strict';
// The cluster on the editor (docs/cluster.md): the cluster API on Node-RED's admin app under /cluster
// (api.js), and the live view its Cluster sidebar shows (feed.js, pushed over the editor's comms). The
// editor only: workers have no admin app and do nothing for either.
const { ClusterReads } = require('./reads');
const { ClusterApi } = require('./api');
const { ClusterFeed } = require('./feed');
const { ClusterActions } = require('./actions');

// Node-RED's permission check as middleware, its refusals in JSON: Node-RED answers a request without a
// login, and one whose login lacks the permission, with a bare 401; here they are 401 and 403 with a
// reason. The check runs against a stand-in response whose end() tells the two apart.
function authorizer(RED, refusals) {
    return (permission) => {
        const check = RED.auth.needsPermission(permission);
        return (req, res, next) => {
            const probe = Object.create(res);
            probe.status = () => probe;
            probe.setHeader = () => probe;
            probe.end = () => {
                if (req.user) {
                    refusals.answer(req, res, 403, `the ${permission} permission is needed (your login has ${JSON.stringify(scopeOf(req))})`);
                } else {
                    refusals.answer(req, res, 401, 'log in first: an access token from POST /auth/token, as Authorization: Bearer <token>',
                        { headers: { 'WWW-Authenticate': 'Bearer' } });
                }
            };
            check(req, probe, next);
        };
    };
}

function scopeOf(req) {
    const scope = req.authInfo && req.authInfo.scope;
    return Array.isArray(scope) ? scope.join(' ') : String(scope || '');
}

// After RED.init (RED.httpAdmin exists); returns the feed, to stop it at shutdown. deploys: what the deploy
// guard returns (lib/deploy_guard.js); credentialSecret: the stack's; lock: a FlowsLock or null; access: the
// editor's access (lib/access/): its audit trail records changes and GET /cluster/audit reads it.
function installCluster({ RED, storage, refusals, log, deploys, credentialSecret, lock, access = null }) {
    const reads = new ClusterReads({ database: () => storage.database() });
    const api = new ClusterApi({
        reads, authorize: authorizer(RED, refusals), refusals, actions: new ClusterActions({ log, access }),
        deploys, credentialSecret, lock, audit: access ? access.audit : null,
    });
    RED.httpAdmin.use('/cluster', api.router);
    const feed = new ClusterFeed({ reads, events: RED.events, log });
    feed.start();
    return feed;
}

module.exports = { installCluster, authorizer };
