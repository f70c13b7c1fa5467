// jobwire CLI: `start` (API + worker, the default), `serve` (API only), `work`
// (worker only), `migrate`, and the operator's `jobs` commands (cli/program.ts).
import './v8-flags.ts';
import { createProgram } from './cli/program.ts';

createProgram()
  .parseAsync(process.argv)
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
