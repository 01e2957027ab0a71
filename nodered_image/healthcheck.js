/**
 * Container health check of the nodered-scale image: `node healthcheck.js [readiness|liveness]`.
 *
 * GETs the instance's own readiness path (default) or liveness path (contract.json, "health") on
 * 127.0.0.1:$PORT and exits 0 on a 2xx answer, 1 on anything else: another status, no connection, or
 * no answer within the contract's timeoutMs (below the orchestrators' own check timeouts, so a hung
 * instance is reported unhealthy rather than the check timing out). The Dockerfile's HEALTHCHECK, the
 * docker target's containers and the aws target's task definitions all run this file.
 */
const http = require('http');

const contract = require('./contract.json');

const probes = { readiness: contract.health.readiness, liveness: contract.health.liveness };
const probe = process.argv[2] || 'readiness';
if (!Object.prototype.hasOwnProperty.call(probes, probe)) {
    console.error(`usage: node healthcheck.js [readiness|liveness], got ${JSON.stringify(probe)}`);
    process.exit(1);
}
const defaultPort = contract.environment.find((v) => v.name === 'PORT').default;
const port = Number(process.env.PORT || defaultPort);
const timeoutMs = contract.health.timeoutMs;

function done(code, why) {
    if (code !== 0) console.error(`${probe} check failed: ${why}`);
    process.exit(code);
}

// A hard deadline for the whole check, whatever stage it hangs in.
setTimeout(() => done(1, `no answer within ${timeoutMs} ms`), timeoutMs).unref();

const request = http.get({ host: '127.0.0.1', port, path: probes[probe], timeout: timeoutMs, agent: false }, (res) => {
    res.resume();
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    done(ok ? 0 : 1, `GET ${probes[probe]} answered ${res.statusCode}`);
});
request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
request.on('error', (err) => done(1, err.message));
