// Deliberately wrong: payloads that do not match their job type's schema. The
// example's test runs tsc on this file and expects it to fail at each of them.
import { JobwireClient } from '../src/client.js';
import { createJob } from '../src/generated/index.js';
import { resizeImage } from '../src/job-types.js';

// The client `jobwire codegen` wrote from the JSON Schema the app's worker registered.
await createJob({ url: 'http://localhost:4000/graphql' }, { jobType: 'example.resize_image', payload: { url: 'https://example.com/cat.jpg', width: 'wide', height: 100 } });

// A helper typed by the job type's own zod schema (PayloadOf, src/client.ts).
const client = new JobwireClient('http://localhost:4000/graphql');
await client.createJob(resizeImage, { url: 'https://example.com/cat.jpg', width: 'wide', height: 100 });
