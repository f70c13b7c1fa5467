// The settings of PROVIDER_CREDENTIALS=server (one tenant's credentials from the
// environment). Each kind names its own (YNAB_ACCESS_TOKEN, IBKR_FLEX_*) in its
// checkConfig; with per-tenant connections they are refused rather than ignored,
// as they served every tenant before connections existed.

/** A problem per named setting that is set while PROVIDER_CREDENTIALS is not server. */
export function serverOnlySettingProblems(config: { PROVIDER_CREDENTIALS: 'tenant' | 'server' }, names: readonly string[]): string[] {
  if (config.PROVIDER_CREDENTIALS === 'server') return [];
  const values = config as unknown as Record<string, unknown>;
  return names
    .filter((name) => values[name])
    .map(
      (name) =>
        `${name}: only used with PROVIDER_CREDENTIALS=server (one tenant's credentials from the environment); with per-tenant connections (PROVIDER_CREDENTIALS=tenant, the default) unset it and save each tenant's credentials (saveProviderConnection or \`jobwire connections set\`)`,
    );
}
