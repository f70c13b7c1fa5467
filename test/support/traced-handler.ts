// A job type for the tracing tests (test/tracing/): two durable steps, the
// second making a span of its own with the app's tracer, and failing on demand.
import { trace } from '@opentelemetry/api';
import { z } from 'zod';
import type { JobHandler } from '../../src/core/handler.ts';

const tracedPayload = z.object({ fail: z.boolean().default(false) });

export const tracedStepsHandler: JobHandler<z.infer<typeof tracedPayload>> = {
  jobType: 'test.traced_steps',
  description: 'Runs the steps first and second; second fails when payload.fail.',
  payload: tracedPayload,
  async handle(job, ctx) {
    await ctx.step('first', async () => ({ n: 1 }));
    await ctx.step('second', async () => {
      trace.getTracer('app').startActiveSpan('app.work', (span) => span.end());
      if (job.payload.fail) throw new Error('the second step broke');
    });
    return { success: true };
  },
};
