/** `repository[:tag]@sha256:<hex>` split into its repository and digest; undefined for a reference not pinned by digest. */
export function parsePinnedReference(reference: string): { repository: string; digest: string } | undefined {
  const match = /^(.+?)(?::[\w][\w.-]{0,127})?@(sha256:[a-f0-9]{64})$/.exec(reference);
  return match ? { repository: match[1]!, digest: match[2]! } : undefined;
}
