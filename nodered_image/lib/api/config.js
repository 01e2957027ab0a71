'use strict';
// The flows' HTTP API settings from the environment (NODE_RED_HTTP_AUTH, _USERS, _TOKENS, _CORS,
// _RATE_LIMIT): JSON objects checked against contract.json's httpApi rules, the same rules the stack
// config applies (stack_config/http.py). A bad value throws an Error naming the variable and the key in
// it; settings.js turns that into a refusal to start.
const contract = require('../../contract.json');

const RULES = contract.httpApi;
const rulePathPattern = new RegExp(RULES.rulePath.pattern);
const namePattern = new RegExp(RULES.name.pattern);
const tokenPattern = new RegExp(RULES.token.pattern);
const originPattern = new RegExp(RULES.corsOrigin.pattern);
const headerPattern = new RegExp(RULES.corsHeader.pattern);

class ApiConfigError extends Error {}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v) => JSON.stringify(v === undefined ? null : v).slice(0, 80);

function parseJson(variable, text) {
    if (text === null || text === undefined) return null;
    let value;
    try {
        value = JSON.parse(text);
    } catch (err) {
        throw new ApiConfigError(`${variable} must be a JSON object: ${err.message}`);
    }
    if (!isObject(value)) throw new ApiConfigError(`${variable} must be a JSON object, got ${show(value)}`);
    return value;
}

function onlyKeys(variable, where, object, known) {
    for (const key of Object.keys(object)) {
        if (!known.includes(key)) throw new ApiConfigError(`${variable}: ${where}${key}: unknown key (known: ${known.join(', ')})`);
    }
}

// {name: secret} of NODE_RED_HTTP_USERS or NODE_RED_HTTP_TOKENS; secrets are never shown in an error.
// Tokens name their client, so no two clients share one (unique); users are named by the request.
function credentials(variable, text, checkSecret, unique) {
    const value = parseJson(variable, text) || {};
    const result = new Map();
    const seen = new Map();
    for (const [name, secret] of Object.entries(value)) {
        if (!namePattern.test(name)) throw new ApiConfigError(`${variable}: ${show(name)} must be ${RULES.name.rule}`);
        if (typeof secret !== 'string') throw new ApiConfigError(`${variable}: ${name}: must be a string`);
        const problem = checkSecret(secret);
        if (problem) throw new ApiConfigError(`${variable}: ${name}: ${problem}`);
        if (unique && seen.has(secret)) throw new ApiConfigError(`${variable}: ${name}: the same value as ${seen.get(secret)}; each must have its own`);
        seen.set(secret, name);
        result.set(name, secret);
    }
    return result;
}

function users(text) {
    return credentials('NODE_RED_HTTP_USERS', text, (password) => {
        if (password.length < RULES.passwordMinLength || password.length > RULES.passwordMaxLength) {
            return `the password must have ${RULES.passwordMinLength} to ${RULES.passwordMaxLength} characters`;
        }
        // eslint-disable-next-line no-control-regex
        if (/[\x00-\x1f\x7f]/.test(password)) return 'the password must not contain control characters';
        return null;
    }, false);
}

function tokens(text) {
    return credentials('NODE_RED_HTTP_TOKENS', text, (token) => (tokenPattern.test(token) ? null : `the token must be ${RULES.token.rule}`), true);
}

function authType(variable, where, value) {
    if (!RULES.authTypes.includes(value)) throw new ApiConfigError(`${variable}: ${where}: must be one of ${RULES.authTypes.join(', ')}, got ${show(value)}`);
    return value;
}

// {default, rules: [{path, type, names}]}; every name must be a user (basic) or client (bearer) the
// secrets hold.
function auth(text, { users: knownUsers, tokens: knownTokens }) {
    const V = 'NODE_RED_HTTP_AUTH';
    const value = parseJson(V, text);
    if (value === null) return null;
    onlyKeys(V, '', value, ['default', 'rules']);
    const defaultType = value.default === undefined ? 'none' : authType(V, 'default', value.default);
    const given = value.rules === undefined ? [] : value.rules;
    if (!Array.isArray(given)) throw new ApiConfigError(`${V}: rules: must be a list`);
    if (given.length > RULES.maxRules) throw new ApiConfigError(`${V}: rules: at most ${RULES.maxRules}`);
    const paths = new Set();
    const rules = given.map((rule, i) => {
        const at = `rules[${i}]`;
        if (!isObject(rule)) throw new ApiConfigError(`${V}: ${at}: must be an object {path, type, names}`);
        onlyKeys(V, `${at}.`, rule, ['path', 'type', 'names']);
        if (typeof rule.path !== 'string' || !rulePathPattern.test(rule.path)) {
            throw new ApiConfigError(`${V}: ${at}.path: must be ${RULES.rulePath.rule}, got ${show(rule.path)}`);
        }
        if (paths.has(rule.path)) throw new ApiConfigError(`${V}: ${at}.path: ${show(rule.path)} is already a rule before it`);
        paths.add(rule.path);
        const type = authType(V, `${at}.type`, rule.type);
        let names = null;
        if (rule.names !== undefined) {
            if (type === 'none') throw new ApiConfigError(`${V}: ${at}.names: a rule of type none names nobody`);
            if (!Array.isArray(rule.names) || rule.names.length === 0) throw new ApiConfigError(`${V}: ${at}.names: must be a non-empty list`);
            const known = type === 'basic' ? knownUsers : knownTokens;
            const secret = type === 'basic' ? 'NODE_RED_HTTP_USERS' : 'NODE_RED_HTTP_TOKENS';
            names = new Set();
            for (const name of rule.names) {
                if (typeof name !== 'string' || !known.has(name)) throw new ApiConfigError(`${V}: ${at}.names: ${show(name)} is not in ${secret}`);
                if (names.has(name)) throw new ApiConfigError(`${V}: ${at}.names: ${show(name)} twice`);
                names.add(name);
            }
        }
        return { path: rule.path, type, names };
    });
    for (const [type, known, secret] of [['basic', knownUsers, 'NODE_RED_HTTP_USERS'], ['bearer', knownTokens, 'NODE_RED_HTTP_TOKENS']]) {
        const uses = defaultType === type || rules.some((r) => r.type === type);
        if (uses && known.size === 0) throw new ApiConfigError(`${V}: type ${type} is used, but ${secret} has nobody to accept`);
    }
    return { default: defaultType, rules };
}

function cors(text) {
    const V = 'NODE_RED_HTTP_CORS';
    const value = parseJson(V, text);
    if (value === null) return null;
    onlyKeys(V, '', value, ['origins', 'methods', 'headers', 'credentials']);
    // Items checked and told apart as `same` reads them (origins and header names in any case).
    const list = (key, pattern, rule, same, kept = same) => {
        const items = value[key];
        if (!Array.isArray(items) || items.length === 0) throw new ApiConfigError(`${V}: ${key}: must be a non-empty list`);
        const seen = new Set();
        return items.map((item, i) => {
            if (typeof item !== 'string' || !pattern.test(item)) throw new ApiConfigError(`${V}: ${key}[${i}]: must be ${rule}, got ${show(item)}`);
            if (seen.has(same(item))) throw new ApiConfigError(`${V}: ${key}[${i}]: ${show(item)} twice`);
            seen.add(same(item));
            return kept(item);
        });
    };
    const lower = (s) => s.toLowerCase();
    const origins = list('origins', originPattern, RULES.corsOrigin.rule, lower);
    if (origins.includes('*') && origins.length > 1) throw new ApiConfigError(`${V}: origins: '*' stands alone`);
    const methods = value.methods === undefined ? RULES.corsMethods
        : list('methods', new RegExp(`^(?:${RULES.corsMethods.join('|')})$`), `one of ${RULES.corsMethods.join(', ')}`, (s) => s);
    const headers = value.headers === undefined ? null : list('headers', headerPattern, RULES.corsHeader.rule, lower, (s) => s);
    const credentials = value.credentials === undefined ? false : value.credentials;
    if (typeof credentials !== 'boolean') throw new ApiConfigError(`${V}: credentials: must be true or false`);
    if (credentials && origins[0] === '*') throw new ApiConfigError(`${V}: credentials: not with origins ['*'] (browsers refuse it): list the origins`);
    return { origins, methods, headers, credentials, maxAgeSeconds: RULES.corsMaxAgeSeconds };
}

function rateLimit(text) {
    const V = 'NODE_RED_HTTP_RATE_LIMIT';
    const value = parseJson(V, text);
    if (value === null) return null;
    onlyKeys(V, '', value, ['perSecond', 'burst']);
    const bounded = (key, fallback) => {
        const n = value[key] === undefined ? fallback : value[key];
        const { min, max } = RULES.rateLimit[key];
        if (!Number.isInteger(n) || n < min || n > max) throw new ApiConfigError(`${V}: ${key}: must be an integer from ${min} to ${max}, got ${show(n)}`);
        return n;
    };
    const perSecond = bounded('perSecond');
    return { perSecond, burst: bounded('burst', perSecond) };
}

// Everything at once, from the variables' raw values (null: unset).
function parseApiConfig(raw) {
    const u = users(raw.users);
    const t = tokens(raw.tokens);
    const both = [...u.keys()].filter((name) => t.has(name));
    if (both.length > 0) {
        throw new ApiConfigError(`NODE_RED_HTTP_TOKENS: ${both.join(', ')} also in NODE_RED_HTTP_USERS: a name is a user or a client, not both`);
    }
    return {
        auth: auth(raw.auth, { users: u, tokens: t }),
        users: u,
        tokens: t,
        cors: cors(raw.cors),
        rateLimit: rateLimit(raw.rateLimit),
        openapi: raw.openapi === 'true',
    };
}

module.exports = { parseApiConfig, ApiConfigError, rulePathPattern };
