'use strict';
// CORS for the flows' endpoints (NODE_RED_HTTP_CORS), in front of authentication, the gate and the flows.
//
// Node-RED's own httpNodeCors (the `cors` package inside the HTTP-in nodes) would answer preflights, but
// it still sends its Allow-Methods and Allow-Headers to an origin it does not list, and its preflight
// route sits behind the flows' routes' gate. Here the same package answers the preflights of a listed
// origin; a request from any other origin gets no CORS header at all, and a preflight (OPTIONS with
// Access-Control-Request-Method) is always answered here, 204, never by a flow. Preflights carry no
// credentials, so they are answered before authentication; an actual request gets its CORS headers
// before authentication too, so a browser application can read a 401. Every answer varies by Origin.
const cors = require('cors');

function apiCors({ origins, methods, headers, credentials, maxAgeSeconds }) {
    const any = origins.length === 1 && origins[0] === '*';
    const listed = new Set(origins);
    const preflight = cors({
        origin: any ? '*' : true, // true: the request's own origin, once it is known to be listed
        methods,
        allowedHeaders: headers || undefined, // unset: what the preflight asks for
        credentials,
        maxAge: maxAgeSeconds,
        preflightContinue: false,
        optionsSuccessStatus: 204,
    });
    return function corsForFlows(req, res, next) {
        res.setHeader('Vary', 'Origin'); // the first header set on the way to the flow
        const origin = req.headers.origin;
        const allowed = origin !== undefined && (any || listed.has(origin) || listed.has(origin.toLowerCase()));
        if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
            if (allowed) {
                preflight(req, res, next);
            } else {
                res.statusCode = 204;
                res.end();
            }
            return;
        }
        // An actual request: the two headers of the cors package's answer, set here (every request pays
        // for them; the package's own path costs several times as much).
        if (allowed) {
            res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
            if (credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
        }
        next();
    };
}

module.exports = { apiCors };
