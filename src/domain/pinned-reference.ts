/** `repository[:tag]@sha256:<hex>` split into its repository, the tag it was pinned from and its digest; undefined for a reference not pinned by digest. */
export function parsePinnedReference(reference: string): { repository: string; tag?: string | undefined; digest: string } | undefined {
  const match = /^(.+?)(?::([\w][\w.-]{0,127}))?@(sha256:[a-f0-9]{64})$/.exec(reference);
  return match ? { repository: match[1]!, ...(match[2] ? { tag: match[2] } : {}), digest: match[3]! } : undefined;
}
