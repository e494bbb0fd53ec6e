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

/** `kind`: a deploy or rollback (`run`), or a rotation. */
export function runLinks(kind: 'run' | 'rotation', id: string, ui: TemporalUi): { self: string; ui: string } {
  return {
    self: `/v1/${kind === 'run' ? 'deployments' : 'rotations'}/${encodeURIComponent(id)}`,
    ui: temporalUiLink(ui, `workflows/${encodeURIComponent(id)}`),
  };
}
