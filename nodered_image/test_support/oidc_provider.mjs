// A real OpenID Connect provider on loopback for the tests (oidc-provider, a devDependency): one
// confidential client, and accounts with the groups the test gives. Started as a process by
// local_stack/oidc.py; its login page is oidc-provider's development one (any password is accepted: the
// tests are about what the editor does with who the provider says logged in).
//
//   node oidc_provider.mjs   with OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI,
//                            OIDC_ACCOUNTS ({"alice": ["nodered-admins"], ...}) in the environment
// Prints "listening <issuer>" once it serves.
import Provider from 'oidc-provider';

const env = process.env;
const port = Number(env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(env.OIDC_ACCOUNTS || '{}');

const provider = new Provider(issuer, {
    clients: [{
        client_id: env.OIDC_CLIENT_ID,
        client_secret: env.OIDC_CLIENT_SECRET,
        redirect_uris: [env.OIDC_REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
    }],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
    // Claims the scopes ask for go into the ID token too (as Keycloak and Entra ID put groups there).
    conformIdTokenClaims: false,
    findAccount: async (ctx, id) => ({
        accountId: id,
        claims: async () => ({ sub: id, preferred_username: id, name: id, groups: accounts[id] || [] }),
    }),
    // No consent screen: the client gets every scope it asks for.
    loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope(ctx.oidc.params.scope);
        await grant.save();
        return grant;
    },
    pkce: { required: () => true },
    cookies: { keys: ['nodered-scale-test-provider-cookie-key'] },
    features: { devInteractions: { enabled: true } },
});
// Quiet: its development warnings are not the test's concern.
provider.on('server_error', (ctx, err) => console.error(`server_error: ${err.stack || err}`));

const server = provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
