// The Slipway console (docs/console.md): Preact with htm, run by the browser as it is. It reads
// the same API as the CLI, with the operator's bearer token, which it keeps in this tab's
// session storage only: never in a URL or a cookie.
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const TOKEN = 'slipway.token';
const token = () => sessionStorage.getItem(TOKEN);

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? `${response.status} ${response.statusText}`);
  return data;
}

/**
 * A server-sent event stream of the API, read with fetch: EventSource cannot send the bearer
 * token. `onData` gets each `event`'s data; a dropped stream is opened again, one the API
 * ended (the run finished) is not.
 */
function useStream(path, event, onData) {
  const latest = useRef(onData);
  latest.current = onData;
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const controller = new AbortController();
    (async () => {
      for (;;) {
        try {
          const response = await fetch(path, { headers: { authorization: `Bearer ${token()}`, accept: 'text/event-stream' }, signal: controller.signal });
          if (!response.ok) throw new ApiError(response.status, (await response.json()).detail);
          setState('live');
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) { setState('ended'); return; }
            buffer += value;
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const name = /^event: (.*)$/m.exec(block)?.[1];
              const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
              if (name === event && data) latest.current(JSON.parse(data));
            }
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          setState(error instanceof ApiError && error.status === 404 ? 'ended' : 'reconnecting');
          if (error instanceof ApiError && error.status < 500) return;
          await new Promise((r) => setTimeout(r, 2_000));
        }
      }
    })();
    return () => controller.abort();
  }, [path, event]);
  return state;
}

const short = (sha) => (sha ? sha.slice(0, 7) : 'a tag');
const ago = (iso) => {
  if (!iso) return '';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
};
const when = (iso) => (iso ? html`<time datetime=${iso} title=${iso}>${ago(iso)}</time>` : '');
const duration = (ms) => (ms < 120_000 ? `${Math.ceil(ms / 1000)}s` : `${Math.ceil(ms / 60_000)}m`);
const Badge = ({ status }) => html`<span class=${`badge s-${status}`}>${String(status).replace(/_/g, ' ')}</span>`;

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const changed = () => setHash(location.hash || '#/');
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash.slice(1).split('/').filter(Boolean).map(decodeURIComponent);
}

function SignIn({ error, onSignIn }) {
  const [value, setValue] = useState('');
  return html`<main>
    <h1>Sign in to Slipway</h1>
    <form class="card" onSubmit=${(e) => { e.preventDefault(); onSignIn(value.trim()); }}>
      <p class="muted">Paste an API token (its scopes apply here as in the API). It stays in this tab only, until you sign out or close it.</p>
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="off" required value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p><button type="submit">Sign in</button></p>
    </form>
  </main>`;
}

function Board() {
  const [board, setBoard] = useState(undefined);
  const state = useStream('/v1/board/events', 'board', setBoard);
  if (!board) return html`<main><p class="muted">Loading the board…</p></main>`;
  return html`<main>
    <h1>Environments <span class="live" aria-live="polite">${state === 'live' ? '● live' : state}</span></h1>
    <div class="grid">${board.environments.map((env) => html`<${EnvironmentCard} key=${`${env.service}/${env.environment}`} env=${env} />`)}</div>
  </main>`;
}

function EnvironmentCard({ env }) {
  const { current, active } = env;
  return html`<section class="card" aria-labelledby=${`env-${env.service}-${env.environment}`}>
    <h2 id=${`env-${env.service}-${env.environment}`}>${env.service} / ${env.environment}</h2>
    ${current ? html`<dl class="facts">
      <dt>Release</dt><dd><code>${short(current.sha)}</code>${current.tag ? html` <span class="muted">(${current.tag})</span>` : ''}</dd>
      <dt>Deployed</dt><dd>${when(current.deployedAt)}${current.deployedBy ? ` by ${current.deployedBy}` : ''}</dd>
      ${env.schemaRevision ? html`<dt>Schema</dt><dd><code>${env.schemaRevision}</code></dd>` : ''}
    </dl>` : html`<p class="muted">Nothing deployed yet.</p>`}
    <h3>Targets</h3>
    <ul class="plain">${env.targets.map((t) => html`<li key=${t.name}><strong>${t.name}</strong> <${Badge} status=${t.status} /> <code>${t.version ?? '—'}</code></li>`)}</ul>
    ${active && html`<p><a href=${active.kind === 'rotation' ? `#/rotations/${active.id}` : `#/runs/${active.id}`}>${active.kind} ${active.sha ? short(active.sha) : ''}</a> <${Badge} status=${active.status} /> ${active.kind !== 'rotation' ? html`<span class="muted">phase ${active.phase}, ${active.healthy}/${active.total} healthy</span>` : ''}</p>`}
    ${env.queue.length > 0 && html`<h3>Queue</h3><ol>${env.queue.map((q) => html`<li key=${q.id}><a href=${`#/runs/${q.id}`}>${q.kind} ${short(q.sha)}</a>${q.waitingFor ? html` <span class="badge s-waiting">${q.waitingFor.kind}</span> <span class="muted">until ${new Date(q.waitingFor.until).toLocaleString()}: ${q.waitingFor.reason}</span>` : ''}</li>`)}</ol>`}
    ${env.windows && html`<p>Deploy window: <${Badge} status=${env.windows.open ? 'open' : 'closed'} />${env.windows.freeze ? html` <span class="muted">freeze: ${env.windows.freeze.reason} until ${new Date(env.windows.freeze.to).toLocaleString()}</span>` : ''}${env.windows.window ? html` <span class="muted">${env.windows.open ? 'closes' : 'opens'} ${new Date(env.windows.open ? env.windows.window.closes : env.windows.window.opens).toLocaleString()}</span>` : ''}</p>`}
    ${env.promotion && html`<p>Promotion from ${env.promotion.from}: ${env.promotion.candidate ? html`<code>${short(env.promotion.candidate.sha)}</code> ${env.promotion.candidate.soaked ? html`<span class="badge s-succeeded">soaked</span>` : html`<span class="badge s-waiting">${duration(env.promotion.candidate.leftMs ?? 0)} left</span>`}` : html`<span class="muted">nothing current there</span>`}</p>`}
    <p><a href=${`#/environments/${env.service}/${env.environment}`}>History</a></p>
  </section>`;
}

const ACTIONS = [
  ['approve', 'Approve', 'The rest of the fleet is updated after the canary.'],
  ['pause', 'Pause', 'The run stops before its next batch.'],
  ['resume', 'Resume', 'The run goes on with its next batch.'],
  ['retry', 'Retry', 'The failed step runs again.'],
  ['rollback', 'Roll back', 'Every target it touched goes back to the last known-good release.'],
  ['abort', 'Abort', 'The run stops; what it changed is rolled back.'],
  ['override', 'Start now', 'The run starts outside its deploy window or during the freeze. Your reason goes into the ledger.'],
];

function RunPage({ id }) {
  const [live, setLive] = useState(undefined);
  const [open, setOpen] = useState(undefined);
  const [asking, setAsking] = useState(undefined);
  const [message, setMessage] = useState(undefined);
  const state = useStream(`/v1/deployments/${encodeURIComponent(id)}/events`, 'run', setLive);
  if (!live) return html`<main><p class="muted">${state === 'ended' ? `No deployment ${id}.` : 'Loading the run…'}</p></main>`;
  const { run, actions, githubUrl } = live;
  const batches = [...new Set(run.targets.map((t) => t.batch ?? 0))].sort((a, b) => a - b);
  const hooks = (before) => (run.hooks ?? []).filter((x) => (x.hook === 'beforeDeploy') === before);
  const ended = ['succeeded', 'failed', 'rolled_back', 'aborted'].includes(run.status) && !run.awaitingOperator;
  return html`<main>
    <h1>${run.kind} of ${run.service} <code>${short(run.version.sha)}</code> to ${run.environment}</h1>
    <p aria-live="polite"><${Badge} status=${run.status} /> <span class="muted">phase ${run.phase}</span> <span class="live">${state === 'live' ? '● live' : state}</span></p>
    <dl class="facts">
      <dt>Asked</dt><dd>${when(run.createdAt)}${run.requestedBy ? ` by ${run.requestedBy}` : ''}${run.reason ? `: ${run.reason}` : ''}</dd>
      ${run.previous && html`<dt>Replaces</dt><dd><code>${short(run.previous.sha)}</code></dd>`}
      ${run.promotedFrom && html`<dt>Promoted from</dt><dd>${run.promotedFrom.environment} (<a href=${`#/runs/${run.promotedFrom.runId}`}>${run.promotedFrom.runId}</a>)</dd>`}
      ${run.schemaRevision && html`<dt>Schema</dt><dd><code>${run.schemaRevision}</code></dd>`}
      ${run.finishedAt && html`<dt>Finished</dt><dd>${when(run.finishedAt)}</dd>`}
      <dt>Links</dt><dd><a href=${run.links.ui} target="_blank" rel="noopener">Temporal UI</a>${githubUrl ? html` · <a href=${githubUrl} target="_blank" rel="noopener">GitHub Deployment ${run.githubDeploymentId}</a>` : ''}</dd>
    </dl>
    ${run.waitingFor && html`<p class="notice">Waiting for ${run.waitingFor.kind === 'freeze' ? 'the end of a freeze' : 'its deploy window'} until ${new Date(run.waitingFor.until).toLocaleString()}: ${run.waitingFor.reason}</p>`}
    ${run.error && html`<div class="error" role="alert"><strong>${run.error.type}</strong> at ${run.error.step}<pre>${run.error.message}</pre></div>`}
    ${run.leftToFix?.length > 0 && html`<div class="error"><strong>Left to fix</strong><ul>${run.leftToFix.map((l) => html`<li>${l.target} (on ${l.version}): ${l.error}</li>`)}</ul></div>`}
    <h2>Actions</h2>
    ${ended ? html`<p class="muted">The run has ended: there is nothing to press.</p>` : html`<div class="actions">${ACTIONS.map(([action, label]) => {
      const why = actions[action];
      return html`<div class="action" key=${action}>
        <button type="button" class=${action === 'abort' || action === 'rollback' ? 'secondary' : ''} disabled=${why !== null} aria-describedby=${why ? `why-${action}` : undefined} onClick=${() => setAsking(action)}>${label}</button>
        ${why && html`<small id=${`why-${action}`}>${why}</small>`}
      </div>`;
    })}</div>`}
    ${message && html`<p class=${message.error ? 'error' : 'notice'} role="status">${message.text}</p>`}
    ${asking && html`<${Confirm} action=${asking} run=${run} onDone=${(result) => { setAsking(undefined); if (result) setMessage(result); }} />`}
    ${hooks(true).length > 0 && html`<h2>Before the deploy</h2><${Hooks} hooks=${hooks(true)} />`}
    <h2>Targets</h2>
    ${batches.map((batch) => html`<section class="batch card" key=${batch}>
      <h3>${batch ? `Batch ${batch}${batch === 1 && batches.length > 1 ? ' (canary)' : ''}` : 'Targets'}</h3>
      <ul class="plain">${run.targets.filter((t) => (t.batch ?? 0) === batch).map((t) => html`<li key=${t.id}>
        <strong>${t.name}</strong> <${Badge} status=${t.status} /> ${t.version ? html`<code>${short(t.version)}</code>` : ''}
        ${t.step && html`<span class="muted">${t.step}</span>`}
        ${t.error && html`<span class="s-failed">${t.error.split('\n')[0]}</span>`}
        <button type="button" class="link" aria-expanded=${open === t.id} onClick=${() => setOpen(open === t.id ? undefined : t.id)}>${open === t.id ? 'Hide' : 'Show'} step log of ${t.name}</button>
        ${open === t.id && html`<${StepLog} run=${run} target=${t} />`}
      </li>`)}</ul>
    </section>`)}
    ${hooks(false).length > 0 && html`<h2>After the deploy</h2><${Hooks} hooks=${hooks(false)} />`}
  </main>`;
}

const Hooks = ({ hooks }) => html`<ul class="plain">${hooks.map((x, i) => html`<li key=${i}><strong>${x.target}</strong> <code>${x.command}</code> <${Badge} status=${x.status} />${x.error ? html` <span class="s-failed">${x.error}</span>` : ''}</li>`)}</ul>`;

function StepLog({ run, target }) {
  const [log, setLog] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    api('GET', `/v1/deployments/${encodeURIComponent(run.id)}/targets/${encodeURIComponent(target.id)}`).then(setLog, (e) => setError(e.message));
  }, [run.id, target.id, run.updatedAt]);
  if (error) return html`<p class="error">${error}</p>`;
  if (!log) return html`<p class="muted">Loading the step log…</p>`;
  return html`<section class="steplog" aria-label=${`Step log of ${target.name}`}>
    ${log.steps.length === 0 ? html`<p class="muted">No steps logged.</p>` : html`<table>
      <thead><tr><th>Step</th><th>Status</th><th>Took</th><th>Exit</th></tr></thead>
      <tbody>${log.steps.map((s, i) => html`<tr key=${i}>
        <td>${s.phase === 'rollback' ? 'rollback: ' : ''}${s.label}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}${s.output.length ? html`<pre>${s.output.join('\n')}</pre>` : ''}</td>
        <td><${Badge} status=${s.status} /></td><td>${s.durationMs === undefined ? '' : `${(s.durationMs / 1000).toFixed(1)} s`}</td><td>${s.exitCode ?? ''}</td>
      </tr>`)}</tbody>
    </table>`}
    <p class="muted">Kept for ${log.keptFor}.</p>
  </section>`;
}

function Confirm({ action, run, onDone }) {
  const dialog = useRef(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState(undefined);
  const [, label, what] = ACTIONS.find(([a]) => a === action);
  const needsReason = action === 'override';
  useEffect(() => { dialog.current.showModal(); }, []);
  const submit = useCallback(async (e) => {
    e.preventDefault();
    try {
      const answer = await api('POST', `/v1/deployments/${encodeURIComponent(run.id)}/${action}`, needsReason ? { reason } : undefined);
      dialog.current.close();
      onDone({ text: `${label}: the run is ${answer.status}.` });
    } catch (failure) {
      setError(failure.message);
    }
  }, [reason]);
  return html`<dialog ref=${dialog} aria-labelledby="confirm-title" onCancel=${() => onDone(undefined)}>
    <form onSubmit=${submit}>
      <h2 id="confirm-title">${label} ${run.id}?</h2>
      <p>${what}</p>
      ${needsReason && html`<label for="reason">Reason (kept in the ledger)</label><textarea id="reason" required rows="3" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p class="actions"><button type="submit">${label}</button><button type="button" class="secondary" onClick=${() => { dialog.current.close(); onDone(undefined); }}>Cancel</button></p>
    </form>
  </dialog>`;
}

function History({ service, environment }) {
  const [view, setView] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => { api('GET', `/v1/services/${encodeURIComponent(service)}/environments/${encodeURIComponent(environment)}`).then(setView, (e) => setError(e.message)); }, [service, environment]);
  if (error) return html`<main><p class="error">${error}</p></main>`;
  if (!view) return html`<main><p class="muted">Loading the history…</p></main>`;
  return html`<main>
    <h1>${service} / ${environment}: history</h1>
    <table>
      <thead><tr><th>When</th><th>What</th><th>Status</th><th>Release</th><th>Notes</th></tr></thead>
      <tbody>${view.history.map((e) => html`<tr key=${e.runId}>
        <td>${when(e.finishedAt)}</td>
        <td><a href=${e.kind === 'rotation' ? `#/rotations/${e.runId}` : `#/runs/${e.runId}`}>${e.kind}</a>${e.requestedBy ? ` by ${e.requestedBy}` : ''}</td>
        <td><${Badge} status=${e.status} /></td>
        <td><code>${e.sha ? short(e.sha) : ''}</code></td>
        <td>${e.promotedFrom ? html`<div>promoted from ${e.promotedFrom.environment}</div>` : ''}${(e.overrides ?? []).map((o) => html`<div>override (${o.kind}) by ${o.by}: ${o.reason}</div>`)}${e.error ? html`<div class="s-failed">${e.error}</div>` : ''}${(e.leftToFix ?? []).map((l) => html`<div>left to fix: ${l}</div>`)}</td>
      </tr>`)}</tbody>
    </table>
    <h2>Known-good releases</h2>
    <ul class="plain">${view.knownGood.map((r) => html`<li key=${r.runId}><code>${short(r.sha)}</code> ${when(r.deployedAt)}${r.deployedBy ? ` by ${r.deployedBy}` : ''}</li>`)}</ul>
  </main>`;
}

function RotationPage({ id }) {
  const [rotation, setRotation] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => { api('GET', `/v1/rotations/${encodeURIComponent(id)}`).then(setRotation, (e) => setError(e.message)); }, [id]);
  if (error) return html`<main><p class="error">${error}</p></main>`;
  if (!rotation) return html`<main><p class="muted">Loading the rotation…</p></main>`;
  return html`<main>
    <h1>${rotation.kind} rotation${rotation.recipe ? ` ${rotation.recipe}` : ''} of ${rotation.service} in ${rotation.environment}</h1>
    <p><${Badge} status=${rotation.status} /> ${rotation.variables ? html`<span class="muted">values: ${rotation.variables.join(', ')}</span>` : ''}</p>
    <ul class="plain">${rotation.steps.map((s, i) => html`<li key=${i}>${s.target ? html`<strong>${s.target}</strong>` : ''} ${s.name} <${Badge} status=${s.status} />${s.error ? html` <span class="s-failed">${s.error}</span>` : ''}</li>`)}</ul>
  </main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [error, setError] = useState(undefined);
  const route = useRoute();
  const signIn = useCallback(async (value) => {
    if (value) sessionStorage.setItem(TOKEN, value);
    if (!token()) return setMe(null);
    try {
      setMe(await api('GET', '/v1/whoami'));
      setError(undefined);
    } catch (failure) {
      sessionStorage.removeItem(TOKEN);
      setMe(null);
      setError(failure.status === 401 ? 'That token is not one this Slipway knows.' : failure.message);
    }
  }, []);
  useEffect(() => { void signIn(); }, []);
  if (me === undefined) return html`<main><p class="muted">Loading…</p></main>`;
  if (me === null) return html`<${SignIn} error=${error} onSignIn=${signIn} />`;
  const [page, ...rest] = route;
  return html`<div>
    <header>
      <a class="brand" href="#/">Slipway</a>
      <nav aria-label="Main"><a href="#/">Environments</a></nav>
      <span class="who">Signed in as <strong>${me.name}</strong> (${me.scopes.join(', ')}) <button type="button" class="link" onClick=${() => { sessionStorage.removeItem(TOKEN); setMe(null); }}>Sign out</button></span>
    </header>
    ${page === 'runs' ? html`<${RunPage} key=${rest[0]} id=${rest[0]} />`
      : page === 'environments' ? html`<${History} service=${rest[0]} environment=${rest[1]} />`
        : page === 'rotations' ? html`<${RotationPage} id=${rest[0]} />`
          : html`<${Board} />`}
  </div>`;
}

const root = document.getElementById('app');
// The loading note goes: Preact renders into an empty container.
root.replaceChildren();
render(html`<${App} />`, root);
