/** A failure the user can act on: printed without a stack, exit status 1. */
export class CliError extends Error {}
