// `${VAR}` expansion of config string values (CONTRACT §2). `$${` is a literal `${`. A reference
// to an unset variable is an error rather than an empty string: a missing admin token or
// target must stop `serve`, not start it half-configured.

export type Expansion = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `$${` escape | `${…}` reference | a `${` never closed
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;

export function expandEnv(input: string, env: NodeJS.ProcessEnv): Expansion {
  if (!input.includes('${')) return { ok: true, value: input };
  const unset: string[] = [];
  let malformed: string | undefined;
  const value = input.replace(REFERENCE, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      malformed ??= 'has a "${" without a closing "}" (write "$${" for a literal "${")';
      return match;
    }
    if (!NAME.test(name)) {
      malformed ??= `has an invalid variable reference "${match}" (names are letters, digits and _)`;
      return match;
    }
    const replacement = env[name];
    if (replacement === undefined) {
      if (!unset.includes(name)) unset.push(name);
      return match;
    }
    return replacement;
  });
  if (malformed !== undefined) return { ok: false, message: malformed };
  if (unset.length === 1) return { ok: false, message: `environment variable ${unset[0]} is not set` };
  if (unset.length > 1) return { ok: false, message: `environment variables ${unset.join(', ')} are not set` };
  return { ok: true, value };
}
