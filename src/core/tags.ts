// Job tags: short labels a job is about ("customer:42", "nightly"), searched
// with `jobs(filter: { tags })`. The same bounds are a check constraint on
// job.tags (migration 000038), so no write path stores what this refuses.
import { z } from 'zod';
import { ValidationError } from './errors.ts';

/** At most this many tags per job (after adding a handler's). */
export const JOB_TAGS_MAX = 20;
/** 1-64 letters, digits or _.:=/- , starting with a letter or digit. */
export const JOB_TAG_FORMAT = /^[A-Za-z0-9][A-Za-z0-9_.:=/-]{0,63}$/;
const FORMAT_MESSAGE = 'must be 1-64 letters, digits or _.:=/- and start with a letter or digit';

/** A list of tags as an input takes it: valid, at most JOB_TAGS_MAX, duplicates dropped (order kept). */
export const jobTagList = z
  .array(z.string().regex(JOB_TAG_FORMAT, FORMAT_MESSAGE), { message: 'must be a list of tags' })
  .max(JOB_TAGS_MAX, `must have at most ${JOB_TAGS_MAX} tags`)
  .transform((tags) => [...new Set(tags)]);

/** Checks tags a handler adds (ctx.addTags): each valid; the error names the tag. */
export function assertTags(tags: readonly unknown[], field = 'tags'): string[] {
  tags.forEach((tag, index) => {
    if (typeof tag !== 'string' || !JOB_TAG_FORMAT.test(tag)) {
      throw new ValidationError(`${field}.${index}`, `${FORMAT_MESSAGE}, got ${JSON.stringify(tag)}`);
    }
  });
  return [...new Set(tags as string[])];
}
