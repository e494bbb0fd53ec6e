/**
 * Where a run is found: its path in Slipway's API and its page in the Temporal UI. The API's
 * answers and the notifications a worker sends use the same links.
 */
export interface TemporalUi {
  /** The Temporal UI's base URL. */
  uiUrl: string;
  namespace: string;
}

/** Where `npm start`'s dev server serves the Temporal UI, and where links point unless told otherwise. */
export const DEFAULT_UI_URL = 'http://localhost:8233';

export function temporalUiLink(ui: TemporalUi, path: string): string {
  return `${ui.uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}/${path}`;
}

/**
 * A repository's deployments page on GitHub's web side, from the API's address: github.com for
 * api.github.com, the server itself for GitHub Enterprise's `…/api/v3`.
 */
export function githubDeploymentsLink(apiUrl: string, repo: string): string {
  const web = apiUrl.replace(/^https:\/\/api\.github\.com\/?$/, 'https://github.com').replace(/\/api\/v3\/?$/, '').replace(/\/$/, '');
  return `${web}/${repo}/deployments`;
}

/** `kind`: a deploy or rollback (`run`), or a rotation. */
export function runLinks(kind: 'run' | 'rotation', id: string, ui: TemporalUi): { self: string; ui: string } {
  return {
    self: `/v1/${kind === 'run' ? 'deployments' : 'rotations'}/${encodeURIComponent(id)}`,
    ui: temporalUiLink(ui, `workflows/${encodeURIComponent(id)}`),
  };
}
