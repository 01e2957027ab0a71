'use strict';
// The storage module Node-RED loads (settings.storageModule): Node-RED flows, credentials, settings,
// sessions and library on MongoDB / DocumentDB. One storage per process.
//
// Collections in the configured database:
//   flows     {_id: rev, rev, deployId, flows, credentials, savedAt, savedBy, deployType, ...}  one per
//             deploy (lib/revisions.js, lib/revision_doc.js)
//   counters  {_id: "flows", seq}  the last revision number given (lib/numbering.js)
//   instances {_id: instanceId, role, host, port, pid, rev, latestRev, seenRev, state, ready, failedRev,
//             failure, message, restart, startedAt, lastSeen}  one status record per running instance
//             (lib/health.js, lib/status.js)
//   settings  {_id: "settings", settings, savedAt}   sessions {_id: "sessions", sessions, savedAt}
//   library   {_id: "<type>:<path>", type, path, meta, body, savedAt}  (lib/library.js)
//
// Roles: the editor writes. A worker writes only its status record: saving flows, credentials or
// library entries is refused (logged, nothing written); settings and sessions it is handed stay in its
// memory. Every instance follows new revisions and reloads (lib/reloader.js).
//
// Beside Node-RED's storage API the object has, for the launcher: statusInfo() (/healthz),
// revisionForHash(hash) (Node-RED's flows hash -> storage revision, or null), events (an EventEmitter:
// 'swap-starting', 'flows-started', 'start-failed', 'serving'; lib/events.js says what they carry),
// runDeploy({type, user}, fn), storageProblem(flows), deployProblems() and useReload(fn) (lib/deploy_guard.js), database()
// (the connected Db, or null: the launcher keeps workers' debug messages there) and close().
module.exports = require('./lib/storage').createStorage();
