'use strict';
// Which requests a partial reload holds: those an HTTP-in route of a restarting flow takes, matched as
// Express matches Node-RED's HTTP-in routes.
const test = require('node:test');
const assert = require('node:assert');
const { RestartScope } = require('../lib/restart_scope');

const req = (method, path) => ({ method, path });

test('only requests for routes of the restarting flows concern a partial swap', () => {
    const scope = new RestartScope({ flows: ['b'], routes: [{ method: 'get', url: '/users/:id', flow: 'b' }, { method: 'post', url: 'orders', flow: 'b' }] });
    assert.ok(scope.concerns(req('GET', '/users/42')), 'route params, as Express matches them');
    assert.ok(scope.concerns(req('HEAD', '/USERS/42/')), 'HEAD on a GET route, case-insensitive, trailing slash');
    assert.ok(scope.concerns(req('POST', '/orders')), 'a url without its leading slash, as Node-RED adds it');
    assert.ok(!scope.concerns(req('POST', '/users/42')), 'another method');
    assert.ok(!scope.concerns(req('GET', '/users/42/more')), 'a longer path');
    assert.ok(!scope.concerns(req('GET', '/count')), 'a route of a flow that keeps running');
    scope.widen({ flows: ['a'], routes: [{ method: 'get', url: '/count', flow: 'a' }] });
    assert.ok(scope.concerns(req('GET', '/count')), 'a second swap before the first ended widens what is held');
    scope.widen(null);
    assert.ok(scope.concerns(req('DELETE', '/anything')), 'a full swap concerns every request');
    assert.ok(new RestartScope(null).concerns(req('GET', '/x')));
});
