// Tags a running job's handler adds (ctx.addTags): appended to job.tags,
// duplicates dropped, within the documented bound (src/core/tags.ts).
import type { Queryable } from '../db/pool.ts';
import { assertTags, JOB_TAGS_MAX } from '../core/tags.ts';
import { ValidationError } from '../core/errors.ts';

export async function addJobTags(db: Queryable, jobId: string, tags: readonly unknown[]): Promise<void> {
  const valid = assertTags(tags);
  if (valid.length === 0) return;
  // One statement: the bound is checked against the tags as stored, so two adds at once cannot pass it together.
  const { rows } = await db.query<{ tags: string[]; stored: boolean }>(
    `with current as (select tags from job where id = $1 for update),
          merged as (select tags || array(select t from unnest($2::text[]) with ordinality u(t, n) where t <> all(tags) order by n) as tags from current),
          stored as (update job j set tags = m.tags from merged m where j.id = $1 and cardinality(m.tags) <= $3 returning j.id)
     select m.tags, exists (select 1 from stored) as stored from merged m`,
    [jobId, valid, JOB_TAGS_MAX],
  );
  const row = rows[0];
  if (row && !row.stored) {
    throw new ValidationError('tags', `a job has at most ${JOB_TAGS_MAX} tags; adding ${valid.join(', ')} would make ${row.tags.length}`);
  }
}
