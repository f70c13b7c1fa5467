// Deliberately wrong: a payload that does not match its job type's schema.
// The example's test runs tsc on this file and expects it to fail here.
import { JobwireClient } from '../src/client.js';
import { resizeImage } from '../src/job-types.js';

const client = new JobwireClient('http://localhost:4000/graphql');
await client.createJob(resizeImage, { url: 'https://example.com/cat.jpg', width: 'wide', height: 100 });
