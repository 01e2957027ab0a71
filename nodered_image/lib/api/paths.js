'use strict';
// Paths under httpNodeRoot as the auth rules see them, and the rules' path patterns.
//
// A rule must hold for every spelling of a path that reaches the same flow. Express (Node-RED's HTTP-in
// routes) matches the raw path, percent-escapes undecoded, a trailing '/' optional, and case-insensitively
// unless told otherwise; the launcher turns on case-sensitive routes whenever auth is set (settings.js), so
// a rule and a route agree on case. Here a request path is read the same way for every rule:
//   - one trailing '/' is dropped (Express's non-strict routes match with or without it);
//   - each segment is percent-decoded (`/%6Frders` is `/orders`: a route with a parameter would take it);
//   - what could name one path in two ways is refused (400) instead: an empty segment ('//'), a '.' or
//     '..' segment (raw or encoded: the router refuses them too, but the ALB passes them on), an encoded
//     '/' or '\' inside a segment, control characters, malformed percent-escapes.
// So a protected endpoint has exactly one spelling, and it matches the rule.

const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

// A request path relative to httpNodeRoot as the rules match it: '/a/b' of its decoded segments, '' for
// the root itself; or {problem} for a path refused.
function canonicalPath(rawPath) {
    let p = rawPath || '/';
    if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
    if (p === '/') return { path: '' };
    // Most paths have no escapes: checked as they are, nothing allocated.
    if (!p.includes('%')) {
        if (p.includes('//')) return { problem: 'empty path segment (//)' };
        if (DOT_SEGMENT.test(p)) return { problem: 'path has a dot segment (. or ..)' };
        return { path: p };
    }
    const raw = p.slice(1).split('/');
    for (let i = 0; i < raw.length; i++) {
        const s = raw[i];
        if (s === '') return { problem: 'empty path segment (//)' };
        let decoded = s;
        // Node's HTTP parser refuses raw control characters in a request line: only escapes can hold them.
        if (s.includes('%')) {
            try {
                decoded = decodeURIComponent(s);
            } catch {
                return { problem: 'malformed percent-encoding in the path' };
            }
            if (decoded.includes('/') || decoded.includes('\\')) return { problem: 'encoded "/" or "\\" in a path segment' };
            // eslint-disable-next-line no-control-regex
            if (/[\x00-\x1f\x7f]/.test(decoded)) return { problem: 'control character in the path' };
        }
        if (decoded === '.' || decoded === '..') return { problem: 'path has a dot segment (. or ..)' };
        raw[i] = decoded;
    }
    return { path: `/${raw.join('/')}` };
}

// A rule's path pattern (contract.json httpApi.rulePath, already checked) as a test of a canonical path
// (canonicalPath). '*' is one segment, '**' any number of them
// (none included); everything else literal, case-sensitive.
function compilePattern(pattern) {
    const parts = pattern === '/' ? [] : pattern.slice(1).split('/');
    const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const body = parts.map((p) => {
        if (p === '**') return '(?:/[^/]+)*';
        if (p === '*') return '/[^/]+';
        return `/${escape(p)}`;
    }).join('');
    const regex = new RegExp(`^${body}$`);
    return (joined) => regex.test(joined);
}

module.exports = { canonicalPath, compilePattern };
