// GraphiQL at /graphql: a small page whose assets (the bundle, its styles and
// its editor workers, from @graphql-yoga/render-graphiql, offline) are served
// as separate files, compressed once and cached by the browser for good (their
// URL carries the package's version). yoga's own renderer inlines all of them
// into one 9 MB page per view. The page opens on tabs of example operations.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

const require = createRequire(import.meta.url);
const VERSION: string = require('@graphql-yoga/render-graphiql/package.json').version;

export const GRAPHIQL_TITLE = 'jobwire GraphiQL';

const WELCOME = `# Welcome to jobwire: background jobs on Postgres with a live GraphQL API.
#
# Each tab holds an example: create a job here, list jobs in the next tab,
# and watch every job's status changes live in the third (open it first,
# then create jobs here). Run an operation with the ▶ button or Ctrl-Enter;
# the Docs button (top left) shows every type, query and mutation.
`;

/** The tabs a first visit opens on (GraphiQL keeps the user's tabs after that). */
export const EXAMPLE_TABS: NonNullable<GraphiQLOptions['defaultTabs']> = [
  {
    query: `${WELCOME}
# Create a job: system.sleep sleeps \`ms\` milliseconds and reports progress.
mutation CreateJob {
  createJob(input: { jobType: "system.sleep", payload: { ms: 5000 } }) {
    __typename
    ... on MutationCreateJobSuccess { data { id status } }
    ... on ValidationError { field message }
  }
}
`,
  },
  {
    query: `# The 20 newest jobs, with their status and progress.
# Filter with e.g. jobs(first: 20, filter: { statuses: [RUNNING, PENDING] }).
query ListJobs {
  jobs(first: 20) {
    edges { node { id jobType queueName status progress progressMessage createdAt } }
  }
}
`,
  },
  {
    query: `# Every job's status changes, live: run this, then create jobs in the first tab.
# Pass the cursor of the last event seen as \`after\` to resume without a gap.
subscription WatchJobEvents {
  jobEvents {
    status previousStatus message createdAt cursor
    job { id jobType queueName }
  }
}
`,
  },
];

interface Asset {
  file: string;
  type: string;
  /** Its export in render-graphiql's bundle module; the favicon is a data: URL there. */
  source: 'js' | 'css' | 'editorWorkerService' | 'jsonWorker' | 'graphqlWorker' | 'favicon';
}

const JS = 'text/javascript; charset=utf-8';
const ASSETS: Record<string, Asset> = {
  js: { file: 'graphiql.js', type: JS, source: 'js' },
  css: { file: 'graphiql.css', type: 'text/css; charset=utf-8', source: 'css' },
  editorWorkerService: { file: 'editor.worker.js', type: JS, source: 'editorWorkerService' },
  json: { file: 'json.worker.js', type: JS, source: 'jsonWorker' },
  graphql: { file: 'graphql.worker.js', type: JS, source: 'graphqlWorker' },
  favicon: { file: 'favicon.ico', type: 'image/x-icon', source: 'favicon' },
};

type Encoding = 'br' | 'gzip' | 'identity';

/**
 * Reads the bundle module and compresses every asset, in a worker thread: the
 * 9 MB module and the compressors' memory go when the thread ends, and only
 * the results stay (about 2 MB per encoding; yoga's renderer kept ~80 MB).
 * Plain JavaScript, run with eval, so it loads the same under tsx and from dist/.
 */
const PREPARE_ASSETS = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
import(workerData.moduleUrl).then((bundle) => {
  const bodies = {};
  for (const source of workerData.sources) {
    const text = bundle[source];
    const raw = source === 'favicon' ? Buffer.from(text.slice(text.indexOf(',') + 1), 'base64') : Buffer.from(text);
    bodies[source] =
      workerData.encoding === 'br' ? zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } })
      : workerData.encoding === 'gzip' ? zlib.gzipSync(raw, { level: 9 })
      : raw;
  }
  parentPort.postMessage(bodies);
});
`;

/** Every asset in one encoding, prepared once per process on the first request for that encoding. */
class AssetStore {
  readonly #byEncoding = new Map<Encoding, Promise<Record<string, Uint8Array<ArrayBuffer>>>>();

  async body(asset: Asset, encoding: Encoding): Promise<Uint8Array<ArrayBuffer>> {
    let bodies = this.#byEncoding.get(encoding);
    if (!bodies) {
      bodies = new Promise((resolve, reject) => {
        const worker = new Worker(PREPARE_ASSETS, {
          eval: true,
          workerData: { moduleUrl: import.meta.resolve('@graphql-yoga/render-graphiql/graphiql'), sources: Object.values(ASSETS).map((a) => a.source), encoding },
        });
        worker.once('message', (result: Record<string, Uint8Array>) => {
          resolve(Object.fromEntries(Object.entries(result).map(([source, body]) => [source, new Uint8Array(body)])));
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`preparing GraphiQL's assets stopped (exit ${code})`)));
      });
      bodies.catch(() => this.#byEncoding.delete(encoding));
      this.#byEncoding.set(encoding, bodies);
    }
    return (await bodies)[asset.source]!;
  }
}

function preferredEncoding(acceptEncoding: string | null): Encoding {
  const accepted = (acceptEncoding ?? '').split(',').map((part) => part.trim().split(';')[0]);
  if (accepted.includes('br')) return 'br';
  if (accepted.includes('gzip')) return 'gzip';
  return 'identity';
}

/** Serves the assets under `<graphqlPath>/graphiql/<version>/`. */
export function graphiqlAssets(graphqlPath: string): { plugin: Plugin; render: (options: GraphiQLOptions) => string } {
  const base = `${graphqlPath}/graphiql/${VERSION}/`;
  const store = new AssetStore();
  const byPath = new Map(Object.values(ASSETS).map((asset) => [`${base}${asset.file}`, asset]));
  const url = (name: keyof typeof ASSETS) => `${base}${ASSETS[name]!.file}`;

  const plugin: Plugin = {
    onRequest({ request, url: requestUrl, fetchAPI, endResponse }) {
      if (!requestUrl.pathname.startsWith(base)) return;
      const asset = byPath.get(requestUrl.pathname);
      if (!asset || (request.method !== 'GET' && request.method !== 'HEAD')) {
        endResponse(new fetchAPI.Response('not found', { status: 404 }));
        return;
      }
      const encoding = preferredEncoding(request.headers.get('accept-encoding'));
      return store.body(asset, encoding).then((body) => {
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
            headers: {
              'content-type': asset.type,
              'content-length': String(body.length),
              // The URL changes with the package version: a browser never needs to ask again.
              'cache-control': 'public, max-age=31536000, immutable',
              vary: 'accept-encoding',
              ...(encoding === 'identity' ? {} : { 'content-encoding': encoding }),
            },
          }),
        );
      });
    },
  };

  const render = (options: GraphiQLOptions) => {
    const json = JSON.stringify(options).replaceAll('<', '\\u003c');
    return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? GRAPHIQL_TITLE)}</title>
    <link rel="icon" href="${url('favicon')}" />
    <link rel="stylesheet" href="${url('css')}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script src="${url('js')}"></script>
    <script>
      const workers = { editorWorkerService: ${JSON.stringify(url('editorWorkerService'))}, json: ${JSON.stringify(url('json'))}, graphql: ${JSON.stringify(url('graphql'))} };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${json});
    </script>
  </body>
</html>
`;
  };
  return { plugin, render };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
