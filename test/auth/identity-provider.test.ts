// JWTs from an identity provider's JWKS (AUTH_JWKS_URL): a local HTTP server
// plays the provider, so keys, issuer, audience and claim mapping are checked as
// a browser client's token would be; and the websockets one principal may hold.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { connectSocket } from '../support/websockets.ts';

const ISSUER = 'https://login.example.test/';
const AUDIENCE = 'jobwire';
const KEY_ID = 'signing-key-1';

let db: TestDatabase;
let service: TestApp;
let provider: Server;
let jwksRequests = 0;
let providerKey: CryptoKey;
let strangerKey: CryptoKey;

async function token(claims: Record<string, unknown>, options: { key?: CryptoKey; issuer?: string; audience?: string; kid?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? KEY_ID })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(options.key ?? providerKey);
}

const WHO = '{ jobs(first: 5) { edges { node { id createdBy } } } }';

beforeAll(async () => {
  const signing = await generateKeyPair('RS256', { extractable: true });
  providerKey = signing.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(signing.publicKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' }] });
  provider = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
    jwksRequests += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const { port } = provider.address() as AddressInfo;

  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: {
      AUTH_ENABLED: 'true',
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      AUTH_JWT_TENANT_CLAIM: 'org',
      AUTH_JWT_SCOPES_CLAIM: 'permissions',
      WS_MAX_SOCKETS_PER_PRINCIPAL: '2',
    },
  });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
  await new Promise((resolve) => provider?.close(resolve));
});

describe('JWTs signed by the identity provider (AUTH_JWKS_URL)', () => {
  it("a token signed with the provider's key is accepted, its claims mapped to principal, tenant and scopes", async () => {
    const carol = service.client.as(await token({ sub: 'carol@acme', org: 'acme', permissions: ['jobs:read', 'jobs:write'] }));
    const createdJob = await carol.send('mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id createdBy } } } }');
    expect(createdJob.status).toBe(200);
    expect((createdJob.body.data as any).createJob.data.createdBy).toBe('jwt:carol@acme');
    expect((await db.pool.query('select tenant_id, created_by from job')).rows).toEqual([{ tenant_id: 'acme', created_by: 'jwt:carol@acme' }]);
    expect(jwksRequests).toBeGreaterThan(0);

    const otherTenant = service.client.as(await token({ sub: 'dave@globex', org: 'globex', permissions: 'jobs:read' }));
    expect((await otherTenant.send(WHO)).body.data).toEqual({ jobs: { edges: [] } });
  });

  it("a token signed with another key, for another issuer or audience, or without the tenant claim is refused with 401 naming why", async () => {
    const claims = { sub: 'mallory', org: 'acme', permissions: 'admin' };
    const refusals = {
      'another key': await token(claims, { key: strangerKey }),
      'an unknown key id': await token(claims, { kid: 'not-published' }),
      'another issuer': await token(claims, { issuer: 'https://evil.example.test/' }),
      'another audience': await token(claims, { audience: 'someone-else' }),
      'no tenant claim': await token({ sub: 'mallory', permissions: 'admin' }),
      'an unknown scope': await token({ ...claims, permissions: 'jobs:read root' }),
      // HS256 "signed" with a secret: the provider's JWKS has no symmetric key, so no algorithm confusion.
      'a symmetric signature': await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('10m').sign(new TextEncoder().encode('a-guessed-secret-a-guessed-secret!!')),
    };
    const answers: Record<string, unknown> = {};
    for (const [what, jwt] of Object.entries(refusals)) {
      const answer = await service.client.as(jwt).send(WHO);
      answers[what] = [answer.status, answer.body.errors?.[0]?.message];
    }
    expect(answers).toEqual({
      'another key': [401, 'invalid token (signature or format)'],
      'an unknown key id': [401, 'invalid token (signature or format)'],
      'another issuer': [401, 'token claim "iss" is not accepted'],
      'another audience': [401, 'token claim "aud" is not accepted'],
      'no tenant claim': [401, 'token has no "org" claim'],
      'an unknown scope': [401, 'token claim "permissions": unknown scope "root" (known: jobs:read, jobs:write, connections:write, metrics:read, worker, admin)'],
      'a symmetric signature': [401, 'invalid token (signature or format)'],
    });
  });
});

describe('websockets per principal (WS_MAX_SOCKETS_PER_PRINCIPAL)', () => {
  const connect = (jwt: string) => connectSocket(service.client.url, jwt);

  it("a principal's socket past the limit is closed 4429 naming the setting; other principals are not affected; a freed slot can be used again", async () => {
    const erin = await token({ sub: 'erin@acme', org: 'acme', permissions: 'jobs:read' });
    const frank = await token({ sub: 'frank@acme', org: 'acme', permissions: 'jobs:read' });
    const first = connect(erin);
    const second = connect(erin);
    expect([await first.outcome, await second.outcome]).toEqual(['acknowledged', 'acknowledged']);

    const third = connect(erin);
    expect(await third.outcome).toEqual({ code: 4429, reason: 'Too many sockets: at most 2 per principal (WS_MAX_SOCKETS_PER_PRINCIPAL)' });
    const others = connect(frank);
    expect(await others.outcome).toBe('acknowledged');

    await first.client.dispose();
    // The server counts the socket as closed once its close handshake ends; a new socket then fits.
    let again = connect(erin);
    while ((await again.outcome) !== 'acknowledged') {
      await again.client.dispose();
      again = connect(erin);
    }
    for (const socket of [second, third, others, again]) await socket.client.dispose();
  });
});
