// The portfolio import kind: its job type and the bound on an uploaded statement.
// The kind row is portfolio_import_job (repository.ts); seed 000's service
// (create_job, mark_as_succeeded, mark_as_failed) maps to create.ts and the
// core's run outcomes, as docs/portfolios.md says.

/** The job_type of every PortfolioImportJob (its handler in handler.ts). */
export const PORTFOLIO_IMPORT_JOB_TYPE = 'portfolio.import';
/** Largest uploaded statement. */
export const STATEMENT_MAX_BYTES = 20 * 1024 * 1024;
