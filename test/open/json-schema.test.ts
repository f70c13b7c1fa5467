// json_schema_error: the JSON Schema subset add_job checks a payload against,
// on what zod 4 prints for common schemas.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

async function check(schema: unknown, value: unknown): Promise<string | null> {
  const { rows } = await db.pool.query<{ error: string | null }>(`select json_schema_error($1::jsonb, $2::jsonb, 'payload') as error`, [
    JSON.stringify(schema),
    JSON.stringify(value),
  ]);
  return rows[0]!.error;
}

const order = z.toJSONSchema(
  z.object({
    amount: z.number().positive(),
    currency: z.enum(['EUR', 'USD']),
    note: z.string().min(1).max(5).optional(),
    tags: z.array(z.string()).max(2),
    quantity: z.number().int().min(1).nullable(),
    source: z.literal('shop'),
    reference: z.union([z.string(), z.number()]),
    address: z.object({ city: z.string() }).strict(),
    counts: z.record(z.string(), z.number()),
    pair: z.tuple([z.string(), z.number()]),
    sku: z.string().regex(/^[A-Z]{3}-\d+$/),
  }),
  { io: 'input' },
);

const valid = {
  amount: 12.5,
  currency: 'EUR',
  tags: ['a'],
  quantity: null,
  source: 'shop',
  reference: 7,
  address: { city: 'Lyon' },
  counts: { a: 1 },
  pair: ['x', 1],
  sku: 'ABC-12',
};

describe('a zod-printed schema', () => {
  it('passes a conforming payload', async () => {
    expect(await check(order, valid)).toBeNull();
    expect(await check(order, { ...valid, note: 'hey', quantity: 3, reference: 'r-1' })).toBeNull();
  });

  it.each([
    ['type', { amount: 'twelve' }, 'payload.amount: expected number, got string'],
    ['exclusiveMinimum', { amount: 0 }, 'payload.amount: must be greater than 0'],
    ['enum', { currency: 'GBP' }, 'payload.currency: expected one of "EUR", "USD"'],
    ['minLength', { note: '' }, 'payload.note: must be at least 1 characters'],
    ['maxLength', { note: 'toolong' }, 'payload.note: must be at most 5 characters'],
    ['maxItems', { tags: ['a', 'b', 'c'] }, 'payload.tags: must have at most 2 items'],
    ['items', { tags: ['a', 2] }, 'payload.tags.1: expected string, got number'],
    ['integer', { quantity: 1.5 }, 'payload.quantity: expected integer or null, got number'],
    ['minimum inside anyOf', { quantity: 0 }, 'payload.quantity: must be at least 1'],
    ['nullable (anyOf with null)', { quantity: 'x' }, 'payload.quantity: expected integer or null, got string'],
    ['const', { source: 'app' }, 'payload.source: expected "shop"'],
    ['type list', { reference: true }, 'payload.reference: expected string or number, got boolean'],
    ['additionalProperties false', { address: { city: 'Lyon', zip: '1' } }, 'payload.address.zip: is not a known property'],
    ['nested required', { address: {} }, 'payload.address.city: is required'],
    ['additionalProperties schema', { counts: { a: 'one' } }, 'payload.counts.a: expected number, got string'],
    ['prefixItems', { pair: [1, 1] }, 'payload.pair.0: expected string, got number'],
    ['tuple length', { pair: ['x', 1, 2] }, 'payload.pair: must have at most 2 items'],
    ['pattern', { sku: 'abc' }, 'payload.sku: must match the pattern "^[A-Z]{3}-\\\\d+$"'],
  ])('%s: names the path', async (_keyword, change, error) => {
    expect(await check(order, { ...valid, ...change })).toBe(error);
  });

  it('required: a missing property is named', async () => {
    const { amount: _amount, ...rest } = valid;
    expect(await check(order, rest)).toBe('payload.amount: is required');
  });
});

describe('keywords zod prints less often', () => {
  it('oneOf, allOf, not, multipleOf, uniqueItems, min/maxProperties, OpenAPI nullable, draft-4 exclusive bounds', async () => {
    expect(await check({ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 1)).toBe('payload: matches 2 of the oneOf schemas, must match exactly one');
    expect(await check({ oneOf: [{ type: 'number' }, { type: 'string' }] }, 1)).toBeNull();
    expect(await check({ allOf: [{ type: 'number' }, { maximum: 3 }] }, 4)).toBe('payload: must be at most 3');
    expect(await check({ not: { type: 'string' } }, 'x')).toBe('payload: must not match {"type": "string"}');
    expect(await check({ type: 'number', multipleOf: 0.5 }, 1.25)).toBe('payload: must be a multiple of 0.5');
    expect(await check({ type: 'array', uniqueItems: true }, [1, 1])).toBe('payload: must not repeat an item');
    expect(await check({ type: 'object', minProperties: 1 }, {})).toBe('payload: must have at least 1 properties');
    expect(await check({ type: 'object', maxProperties: 1 }, { a: 1, b: 2 })).toBe('payload: must have at most 1 properties');
    expect(await check({ type: 'string', nullable: true }, null)).toBeNull();
    expect(await check({ type: 'string', nullable: true }, 1)).toBe('payload: expected string or null, got number');
    expect(await check({ type: 'number', minimum: 1, exclusiveMinimum: true }, 1)).toBe('payload: must be greater than 1');
    expect(await check({ type: 'number', exclusiveMaximum: 1 }, 1)).toBe('payload: must be less than 1');
  });

  it('keywords it does not check pass, and a pattern Postgres cannot compile is left to the handler', async () => {
    expect(await check({ type: 'string', format: 'email' }, 'not an email')).toBeNull();
    expect(await check({ type: 'string', pattern: '(?<name>x)' }, 'y')).toBeNull();
    expect(await check(true, 'anything')).toBeNull();
    expect(await check(false, 'anything')).toBe('payload: is not allowed');
  });
});
