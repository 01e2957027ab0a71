'use strict';
// Who sent a request: the client address the launcher logs refusals with and counts failed logins by,
// and the request id it logs them under.
//
// The address is the TCP peer's, unless the peer is a trusted proxy (NODE_RED_TRUSTED_PROXIES: the
// router in front). Only then is X-Forwarded-For read, and only its last entry: the one that proxy
// added itself (nginx's $proxy_add_x_forwarded_for and the ALB both append the address they saw).
// Entries before it are whatever the client sent, so anyone could forge them; a header from a peer
// that is not a trusted proxy is ignored altogether.
const crypto = require('crypto');
const net = require('net');

const CLIENT = Symbol('client address');
const REQUEST_ID = Symbol('request id');
// Ids from the router (nginx makes one up or keeps a well-formed one of the client's); anything
// else is replaced, so a log line or a JSON answer never carries what a client made up.
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

// "::ffff:10.0.0.1" (an IPv4 client of a dual-stack socket) is 10.0.0.1.
function normalize(address) {
    const a = String(address || '').trim();
    return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

// "10.0.0.2, 172.28.0.0/24" -> {entries, check(address)}; throws for anything but addresses and CIDRs.
function parseTrustedProxies(text) {
    const entries = String(text || '').split(',').map((e) => e.trim()).filter(Boolean);
    const list = new net.BlockList();
    for (const entry of entries) {
        const [address, bits, extra] = entry.split('/');
        const family = net.isIP(address);
        const max = family === 4 ? 32 : 128;
        const badBits = bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max);
        if (!family || extra !== undefined || badBits) {
            throw new Error(`must be IP addresses or CIDRs separated by commas; ${JSON.stringify(entry)} is neither`);
        }
        const type = family === 4 ? 'ipv4' : 'ipv6';
        if (bits === undefined) list.addAddress(address, type);
        else list.addSubnet(address, Number(bits), type);
    }
    return {
        entries,
        check(address) {
            const a = normalize(address);
            const family = net.isIP(a);
            return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
        },
    };
}

function clientAddress(req, trusted) {
    if (req[CLIENT]) return req[CLIENT];
    const peer = normalize(req.socket && req.socket.remoteAddress);
    let address = peer;
    const forwarded = req.headers['x-forwarded-for'];
    if (forwarded && trusted && trusted.check(peer)) {
        const last = normalize(String(forwarded).split(',').pop());
        if (net.isIP(last)) address = last;
    }
    req[CLIENT] = address || 'unknown';
    return req[CLIENT];
}

function requestId(req) {
    if (!req[REQUEST_ID]) {
        const given = req.headers['x-request-id'];
        req[REQUEST_ID] = typeof given === 'string' && ID_PATTERN.test(given) ? given : crypto.randomUUID();
    }
    return req[REQUEST_ID];
}

module.exports = { parseTrustedProxies, clientAddress, requestId, normalize };
