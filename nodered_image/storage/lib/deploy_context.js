'use strict';
// Which admin API call a saveFlows or getFlows belongs to. Node-RED hands the storage neither the
// editor's deployment type (Node-RED-Deployment-Type: full, nodes, flows, reload) nor, for a reload,
// the user: the launcher runs each flows API call inside runDeploy({type, user}) (lib/deploy_guard.js)
// and the storage reads it back here. AsyncLocalStorage keeps concurrent calls apart; Node-RED's
// own API mutex, awaited inside the call, keeps the context.
const { AsyncLocalStorage } = require('async_hooks');

const context = new AsyncLocalStorage();

// info.fields: more fields for the revision the call saves ({message, credentialsMissing} of a deploy from files).
function runDeploy(info, fn) {
    const fields = Object.freeze({ ...(info.fields || {}) });
    return context.run(Object.freeze({ type: info.type || 'full', user: info.user || null, startedAt: Date.now(), fields }), fn);
}

// {type, user, startedAt (Date.now() when the call began), fields} of the API call this code runs for, or null (Node-RED's own start, our reloads).
function currentDeploy() {
    return context.getStore() || null;
}

module.exports = { runDeploy, currentDeploy };
