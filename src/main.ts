#!/usr/bin/env node
// jobwire CLI: `start` (API + worker, the default), `serve` (API only), `work`
// (worker only), `migrate`, the operator's `jobs` commands and `keys`
// (API keys) (cli/program.ts).
import './v8-flags.ts';
import { runProgram } from './cli/program.ts';
import { exitOnStartupFailure } from './startup-errors.ts';

// A failed start is one line on stderr and a non-zero exit (startup-errors.ts).
runProgram(process.argv).catch((error) => exitOnStartupFailure(error, { printStack: /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '') }));
