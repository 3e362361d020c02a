// A real OpenID Connect provider for the single sign-on tests (ADR 0060): panva's certified oidc-provider with
// one or more confidential clients (client_secret_basic, PKCE required) and a few accounts, each with a `sub`,
// an email address and whether the provider has verified it. It signs in with its own development login and
// consent pages: any password, the login box takes the account's `sub`.
//
//   node tests/support/oidc_provider.mjs '<config JSON>'
//
// config: {"port": 0, "issuer": "http://127.0.0.1:<port>", "clients": [{"client_id", "client_secret",
//          "redirect_uris": [...]}], "accounts": [{"sub", "email", "email_verified"}]}
// "issuer" defaults to the provider's own address; another value makes it name an issuer it does not serve.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? process.env.OIDC_PROVIDER_CONFIG ?? '{}');
const port = Number(config.port);
const issuer = config.issuer ?? `http://127.0.0.1:${port}`;
const accounts = new Map((config.accounts ?? []).map((a) => [a.sub, a]));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    ...c,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false, // the email in the ID token, as Entra ID's optional claim puts it
  cookies: { keys: ['vigil-test-provider-cookie-key'] },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: account.email, email_verified: account.email_verified };
      },
    };
  },
});
provider.proxy = false;

createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider ${issuer} listening on ${port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
