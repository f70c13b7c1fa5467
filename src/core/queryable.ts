// What runs a query: the pool or one of its clients (a transaction). Declared
// here, below db/ (which re-exports it), so that the handler port names it.
import type pg from 'pg';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;
