/**
 * Removes credentials from text that may end up in workflow history, logs or API answers:
 * every secret value the process knows of (registered when config is loaded) and the usual
 * shapes of credentials in URLs, headers and key files.
 */
const knownSecrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) knownSecrets.add(value);
}

const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[REDACTED PRIVATE KEY]'],
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  [/(\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1[REDACTED]@'],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '[REDACTED]'],
  [/((?:password|passwd|secret|token|api[_-]?key)["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, '$1[REDACTED]'],
];

/**
 * Replaces each of `secrets` in `text`, the longest first: a shorter secret inside a longer one
 * (`k-old` in `bk-old-2`) would otherwise break it up and leave the rest of it readable.
 */
export function withoutSecrets(text: string, secrets: Iterable<string>): string {
  return [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length).reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);
}

export function redact(text: string): string {
  let out = withoutSecrets(text, knownSecrets);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
