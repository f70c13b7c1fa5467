// The note table, in SQL (a fixture kind has no Prisma model: prisma/schema.prisma
// is the product's). Reads filter by tenant as tenant-scope.ts asks of raw SQL.
import type { Principal } from '../../../src/auth/principal.ts';
import { visibleTenant } from '../../../src/auth/principal.ts';
import { tenantCondition } from '../../../src/auth/tenant-scope.ts';
import type { Queryable } from '../../../src/db/pool.ts';

export interface Note {
  jobId: string;
  text: string;
  shouted: string | null;
}

const COLUMNS = 'n.job_id as "jobId", n.text, n.shouted';

export class NoteRepository {
  constructor(private readonly db: Queryable) {}

  async insert(jobId: string, tenantId: string, text: string): Promise<void> {
    await this.db.query('insert into note (job_id, tenant_id, text) values ($1, $2, $3)', [jobId, tenantId, text]);
  }

  async findById(jobId: string): Promise<Note | null> {
    const { rows } = await this.db.query<Note>(`select ${COLUMNS} from note n where n.job_id = $1`, [jobId]);
    return rows[0] ?? null;
  }

  /** The caller's note (another tenant's answers as a missing one). */
  async findVisible(caller: Principal, jobId: string): Promise<Note | null> {
    const { rows } = await this.db.query<Note>(`select ${COLUMNS} from note n where n.job_id = $1 and ${tenantCondition('n', 2)}`, [
      jobId,
      visibleTenant(caller),
    ]);
    return rows[0] ?? null;
  }

  async saveShouted(jobId: string, shouted: string): Promise<void> {
    await this.db.query('update note set shouted = $2 where job_id = $1', [jobId, shouted]);
  }
}
