// An operation's Pothos caches (WeakMaps keyed by its context) are let go once
// it has executed (graphql/context.ts releaseRequestCaches): a later lookup
// with the same context finds none of them.
import pg from 'pg';
import { contextCacheSymbol, createContextCache } from '@pothos/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext, releaseRequestCaches, type ApiServices } from '../../src/graphql/context.ts';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';
import { createPrisma } from '../../src/db/prisma.ts';

// Never connects: a Prisma client is made, no query sent.
const pool = new pg.Pool({ connectionString: 'postgres://unused@127.0.0.1:1/unused' });
afterAll(() => pool.end());

describe('request caches', () => {
  it("a request's context keeps its Pothos caches until releaseRequestCaches, then gets fresh ones", () => {
    const context = createContext({ prisma: createPrisma(pool) } as ApiServices, LOCAL_PRINCIPAL);
    // Keyed by a small object of its own (not the context, which each cache points back at).
    expect(Object.getOwnPropertySymbols(context)).toContain(contextCacheSymbol);
    const cacheOf = createContextCache(() => ({ loaded: [] as string[] }));
    const cache = cacheOf(context);
    expect(cacheOf(context)).toBe(cache);
    releaseRequestCaches(context);
    expect(cacheOf(context)).not.toBe(cache);
  });
});
