// GraphiQL's first load: bytes over the wire (the page and every asset it
// references, as a browser asks for them: brotli, else gzip) and the API
// process's resident memory before and after it, next to yoga's inline page.
//   npm run bench:graphiql
import { readFile } from 'node:fs/promises';
import zlib from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { report, round, spawnCli, startBenchServer } from './support.ts';

const rssMb = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const server = await startBenchServer();
try {
  const api = await spawnCli('serve', { DATABASE_URL: await server.database('bench_graphiql') });
  try {
    const origin = new URL(api.url!).origin;
    const rows = [];
    const before = await rssMb(api.process.pid!);
    for (const encoding of ['br', 'gzip', 'identity']) {
      const html = await (await fetch(api.url!, { headers: { accept: 'text/html' } })).text();
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"|"(\/graphql\/graphiql\/[^"]+)"/g)].map((match) => match[1] ?? match[2]!);
      let bytes = Buffer.byteLength(html);
      for (const url of urls) {
        const response = await fetch(`${origin}${url}`, { headers: { 'accept-encoding': encoding } });
        bytes += Number(response.headers.get('content-length'));
        await response.arrayBuffer();
      }
      rows.push({ page: `jobwire (${encoding})`, requests: urls.length + 1, 'MB over the wire': round(bytes / 1e6, 2), 'API RSS MB after': round(await rssMb(api.process.pid!)) });
    }
    const after = await rssMb(api.process.pid!);
    const inline = renderGraphiQL({ title: 'jobwire' });
    rows.unshift({ page: '(API before any view)', requests: 0, 'MB over the wire': 0, 'API RSS MB after': round(before) });
    rows.push({ page: "yoga's inline page (identity)", requests: 1, 'MB over the wire': round(Buffer.byteLength(inline) / 1e6, 2) });
    rows.push({ page: "yoga's inline page (if gzipped)", requests: 1, 'MB over the wire': round(zlib.gzipSync(inline).length / 1e6, 2) });
    await report('graphiql', rows, { apiRssMb: { beforeFirstView: round(before), afterFirstViews: round(after) } });
    console.log(`API RSS: ${round(before)} MB before the first view, ${round(after)} MB after the three loads above`);
  } finally {
    await api.stop();
  }
} finally {
  await server.stop();
}
