'use strict';
// Instance detail (revision, state, database reachability, Node-RED version, metrics) is for the
// orchestrator's health checks and operators on the instance's own port. A request that came through
// a router carries the headers every router in front adds (nginx: X-Forwarded-For, X-Real-IP,
// X-Nodered-Router; the ALB: X-Forwarded-For): it gets nothing but up or down, with the same status
// code, whatever path trick brought it here. The routers refuse these paths themselves too.
const ROUTER_HEADERS = ['x-forwarded-for', 'x-real-ip', 'x-nodered-router', 'forwarded'];

function viaRouter(req) {
    return ROUTER_HEADERS.some((h) => req.headers[h] !== undefined);
}

// Answers a health path: `detail` on the instance's own port, {status: up|down} through a router.
function healthAnswer(req, res, up, detail) {
    res.status(up ? 200 : 503).json(viaRouter(req) ? { status: up ? 'up' : 'down' } : detail);
}

module.exports = { viaRouter, healthAnswer };
