import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * A client for the OCI distribution API as GHCR serves it: anonymous or Basic credentials
 * exchanged for a Bearer token at the realm named by `WWW-Authenticate`, manifests checked
 * with `HEAD`, tags listed page by page through `Link` headers.
 */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface RegistryAuth {
  username?: string | undefined;
  token?: string | undefined;
  insecure?: boolean | undefined;
}

export type RegistryErrorKind = 'auth' | 'unavailable' | 'invalid';

export class RegistryError extends Error {
  constructor(readonly kind: RegistryErrorKind, message: string, readonly status?: number) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface ImageName {
  registry: string;
  path: string;
}

export function parseRepository(repository: string): ImageName {
  const slash = repository.indexOf('/');
  if (slash < 0) throw new RegistryError('invalid', `"${repository}" has no registry host`);
  return { registry: repository.slice(0, slash), path: repository.slice(slash + 1) };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const tokenAnswer = z.object({ token: z.string().min(1).optional(), access_token: z.string().min(1).optional() })
  .refine((t) => t.token ?? t.access_token, 'no token in the answer');
const tagsAnswer = z.object({ name: z.string(), tags: z.array(z.string()).nullable() });

/** `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"` */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.trim().split(/\s+/, 1)[0]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

/** The `rel="next"` target of a `Link` header, resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  return match ? new URL(match[1]!, base).toString() : undefined;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** One host: the same name, or two names of this machine's loopback (a lab registry and its token server). */
function sameHost(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || (LOOPBACK.test(a) && LOOPBACK.test(b));
}

function describeStatus(status: number): string {
  return status === 429 ? '429 Too Many Requests' : `HTTP ${status}`;
}

export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(
    /** Read before every request: a rotation may have switched them (the store may be a database). */
    private readonly credentials: (registry: string) => RegistryAuth | undefined | Promise<RegistryAuth | undefined>,
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly timeoutMs = 30_000,
  ) {}

  private async baseUrl(registry: string): Promise<string> {
    return `${(await this.credentials(registry))?.insecure ? 'http' : 'https'}://${registry}`;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, redirect: 'follow', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new RegistryError('unavailable', `${new URL(url).host} did not answer (${cause})`);
    }
  }

  private async fetchToken(registry: string, challenge: Record<string, string>, scope: string): Promise<string> {
    if (!challenge.realm) throw new RegistryError('invalid', `${registry} asked for a Bearer token without a realm`);
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new RegistryError('invalid', `${registry} named a token realm that is not a URL`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? scope);
    const auth = await this.credentials(registry);
    const headers: Record<string, string> = {};
    if (auth?.username && auth.token) {
      // A challenge is the registry's answer, not a trusted party: credentials go only over
      // HTTPS, or in plain HTTP to the registry's own host when it is marked insecure.
      const ownHost = sameHost(url.hostname, new URL(await this.baseUrl(registry)).hostname);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && auth.insecure && ownHost)) {
        throw new RegistryError('invalid', `${registry} asked for its credentials at ${url.origin}: Slipway sends them only over HTTPS, or to the registry's own host when it is marked insecure`);
      }
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.token}`).toString('base64')}`;
    }
    const response = await this.send(url.toString(), { headers });
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError('auth', `${registry} refused the credentials${auth?.username ? ` of ${auth.username}` : ' (anonymous)'} (${describeStatus(response.status)})`, response.status);
    }
    if (response.status === 429 || response.status >= 500) throw new RegistryError('unavailable', `token endpoint of ${registry} answered ${describeStatus(response.status)}`, response.status);
    if (!response.ok) throw new RegistryError('invalid', `token endpoint of ${registry} answered ${describeStatus(response.status)}`, response.status);
    const parsed = tokenAnswer.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new RegistryError('invalid', `token endpoint of ${registry} gave no token`);
    return (parsed.data.token ?? parsed.data.access_token)!;
  }

  /** A request to the registry, answering its auth challenge once. */
  async request(registry: string, path: string, scope: string, init: RequestInit = {}, absoluteUrl?: string): Promise<Response> {
    const url = absoluteUrl ?? `${await this.baseUrl(registry)}${path}`;
    // Tokens are kept per credential: after a rotation switches it, the next request asks anew.
    const current = await this.credentials(registry);
    const key = `${registry} ${scope} ${createHash('sha256').update(`${current?.username ?? ''}:${current?.token ?? ''}`).digest('hex')}`;
    const withAuth = (authorization?: string): RequestInit => ({
      ...init, headers: { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) },
    });
    const cached = this.tokens.get(key);
    let response = await this.send(url, withAuth(cached ? `Bearer ${cached}` : undefined));
    if (response.status === 401) {
      const { scheme, params } = parseChallenge(response.headers.get('www-authenticate') ?? '');
      const auth = current;
      let authorization: string;
      if (scheme === 'bearer') {
        const token = await this.fetchToken(registry, params, scope);
        this.tokens.set(key, token);
        authorization = `Bearer ${token}`;
      } else if (scheme === 'basic' && auth?.username && auth.token) {
        authorization = `Basic ${Buffer.from(`${auth.username}:${auth.token}`).toString('base64')}`;
      } else {
        throw new RegistryError('auth', `${registry} requires credentials, and none are configured for it`, 401);
      }
      response = await this.send(url, withAuth(authorization));
    }
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError('auth', `${registry} denied access to ${scope} (${describeStatus(response.status)})`, response.status);
    }
    if (response.status === 429 || response.status >= 500) {
      throw new RegistryError('unavailable', `${registry} answered ${describeStatus(response.status)} for ${path}`, response.status);
    }
    return response;
  }

  /** The digest `repository:tag` points at now, or undefined when it does not exist (yet). */
  async resolveDigest(repository: string, tag: string): Promise<string | undefined> {
    const { registry, path } = parseRepository(repository);
    const scope = `repository:${path}:pull`;
    const manifestPath = `/v2/${path}/manifests/${encodeURIComponent(tag)}`;
    const headers = { accept: MANIFEST_MEDIA_TYPES.join(', ') };
    let response = await this.request(registry, manifestPath, scope, { method: 'HEAD', headers });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new RegistryError('invalid', `${registry} answered ${describeStatus(response.status)} for ${repository}:${tag}`, response.status);
    let digest = response.headers.get('docker-content-digest') ?? undefined;
    if (!digest) {
      // Some registries leave the digest out of HEAD answers: hash the manifest ourselves.
      response = await this.request(registry, manifestPath, scope, { method: 'GET', headers });
      if (response.status === 404) return undefined;
      digest = `sha256:${createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex')}`;
    }
    if (!DIGEST.test(digest)) throw new RegistryError('invalid', `${registry} gave an invalid digest for ${repository}:${tag}`);
    return digest;
  }

  /**
   * Proves the credentials work: the registry's token endpoint must grant them pull on
   * `repository`, and the registry must accept the token it gave.
   */
  async verifyAccess(repository: string): Promise<void> {
    const { registry, path } = parseRepository(repository);
    // The repository's own tag list, not `/v2/`: a token the registry accepts may still be
    // scoped to other repositories, and only a read of this one says it may pull here.
    const response = await this.request(registry, `/v2/${path}/tags/list?n=1`, `repository:${path}:pull`);
    if (response.status === 401 || response.status === 403) throw new RegistryError('auth', `${registry} refused to let these credentials pull ${repository} (${describeStatus(response.status)})`, response.status);
    if (!response.ok && response.status !== 404) throw new RegistryError('invalid', `${registry} answered ${describeStatus(response.status)} listing the tags of ${repository}`, response.status);
  }

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repository: string, pageSize = 100): Promise<string[]> {
    const { registry, path } = parseRepository(repository);
    const scope = `repository:${path}:pull`;
    const tags: string[] = [];
    let url: string | undefined = `${await this.baseUrl(registry)}/v2/${path}/tags/list?n=${pageSize}`;
    for (let page = 0; url; page++) {
      if (page > 10_000) throw new RegistryError('invalid', `${registry} kept paginating the tags of ${repository}`);
      const response = await this.request(registry, new URL(url).pathname, scope, {}, url);
      if (response.status === 404) return [];
      if (!response.ok) throw new RegistryError('invalid', `${registry} answered ${describeStatus(response.status)} listing tags of ${repository}`);
      const parsed = tagsAnswer.safeParse(await response.json().catch(() => undefined));
      if (!parsed.success) throw new RegistryError('invalid', `${registry} gave a malformed tag list for ${repository}`);
      tags.push(...(parsed.data.tags ?? []));
      const next = nextLink(response.headers.get('link'), url);
      // The next page carries the token: never to another origin.
      if (next && new URL(next).origin !== new URL(url).origin) throw new RegistryError('invalid', `${registry} pointed the next page of tags at another host (${new URL(next).origin})`);
      url = next;
    }
    return tags;
  }
}

export function pinnedReference(repository: string, tag: string, digest: string): string {
  return `${repository}:${tag}@${digest}`;
}
