// This app's job types. The API validates their payloads; this app's worker
// (worker.ts) runs them. Nothing here is jobwire's own code.
import { defineJobType, NonRetriableError } from 'jobwire';
import { z } from 'zod';

/** Three durable steps with progress between them: a retry resumes at the first unfinished step. */
export const resizeImage = defineJobType({
  jobType: 'example.resize_image',
  description: 'Resizes an image (simulated): fetch, resize, store',
  payload: z.object({
    url: z.url(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  }),
  result: z.object({ key: z.string(), bytes: z.number().int() }),
  steps: ['fetch', 'resize', 'store'],
  defaults: { queueName: 'images', maxRetries: 2, timeoutMs: 60_000 },
  async handle(job, ctx) {
    const { width, height, url } = job.payload;
    const fetched = await ctx.step('fetch', async () => ({ bytes: url.length * 1000 }));
    ctx.progress({ percent: 33, message: 'fetched' });
    const resized = await ctx.step('resize', async () => ({ bytes: Math.min(fetched.bytes, width * height * 3) }));
    ctx.progress({ percent: 66, message: 'resized' });
    const stored = await ctx.step('store', async () => ({ key: `thumbnails/${job.id}-${width}x${height}.jpg` }));
    ctx.progress({ percent: 100, message: 'stored' });
    ctx.logger.info({ key: stored.key }, 'image stored');
    return { success: true, resultData: { key: stored.key, bytes: resized.bytes } };
  },
});

/** No steps; a name it cannot greet fails the job without retries. */
export const sendGreeting = defineJobType({
  jobType: 'example.send_greeting',
  description: 'Greets someone by name',
  payload: z.object({ name: z.string().min(1), language: z.enum(['en', 'fr']).default('en') }),
  async handle(job, ctx) {
    ctx.signal.throwIfAborted();
    if (job.payload.name === 'nobody') throw new NonRetriableError('nobody cannot be greeted', { data: { name: job.payload.name } });
    const greeting = job.payload.language === 'fr' ? `Bonjour ${job.payload.name}` : `Hello ${job.payload.name}`;
    return { success: true, resultData: { greeting } };
  },
});

export const jobTypes = [resizeImage, sendGreeting];
