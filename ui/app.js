// Berth's web UI: one JavaScript module, no framework, no build step.
// It renders the page for the current path from the JSON endpoints under
// /ui/api/ (docs/ui.md). Everything the registry controls (names, tags,
// labels, annotations, env values...) is put into the page with textContent,
// through el() below, never as HTML.

const state = { session: null };

// el('td', {class: 'num'}, 'text', otherNode): an element; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick') node.addEventListener('click', v);
    else if (k === 'oninput') node.addEventListener('input', v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function bytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}

function when(unixSeconds) {
  if (!unixSeconds) return '';
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function short(digest) { return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : ''; }

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
  if (options.method && options.method !== 'GET' && state.session && state.session.csrf) {
    headers['X-CSRF-Token'] = state.session.csrf;
  }
  const r = await fetch(path, Object.assign({}, options, { headers, credentials: 'same-origin' }));
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const message = body && body.errors && body.errors[0] ? body.errors[0].message : r.statusText;
    const err = new Error(message);
    err.status = r.status;
    throw err;
  }
  return body;
}

function repoPath(name) { return '/repositories/' + name.split('/').map(encodeURIComponent).join('/'); }
function repoApi(name) { return '/ui/api/repositories/' + name.split('/').map(encodeURIComponent).join('/'); }

function navigate(path) {
  history.pushState(null, '', path);
  render();
}

function link(path, ...children) {
  return el('a', { href: path, onclick: (e) => { if (e.button === 0 && !e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate(path); } } }, ...children);
}

function main(...children) {
  const m = document.getElementById('main');
  m.replaceChildren(...children);
}

function showError(err) {
  if (err.status === 404) main(el('h1', {}, 'Not found'), el('p', { class: 'muted' }, 'There is no such repository or manifest, or you may not see it.'));
  else main(el('h1', {}, 'Error'), el('p', { class: 'error' }, err.message));
}

// --- session ---

async function loadSession() {
  state.session = await api('/ui/api/session');
  const who = document.getElementById('who');
  const out = document.getElementById('signout');
  const inb = document.getElementById('signin-open');
  who.textContent = state.session.signed_in ? 'Signed in as ' + state.session.user : (state.session.auth ? 'Anonymous' : '');
  out.hidden = !state.session.signed_in;
  inb.hidden = state.session.signed_in || !state.session.auth;
}

function setUpSignIn() {
  const dialog = document.getElementById('signin');
  const form = document.getElementById('signin-form');
  const error = document.getElementById('signin-error');
  document.getElementById('signin-open').addEventListener('click', () => { error.textContent = ''; dialog.showModal(); });
  document.getElementById('signin-cancel').addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await api('/ui/api/session', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Berth-UI': '1' },
        body: JSON.stringify({ user: form.user.value, password: form.password.value }),
      });
      form.password.value = '';
      dialog.close();
      await loadSession();
      render();
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong user name or password.' : err.message;
    }
  });
  document.getElementById('signout').addEventListener('click', async () => {
    await api('/ui/api/session', { method: 'DELETE' });
    await loadSession();
    navigate('/');
  });
}

// --- repositories ---

async function renderRepositories() {
  const params = new URLSearchParams(location.search);
  const filter = el('input', { type: 'search', id: 'filter', placeholder: 'Filter: text, or ^prefix', value: params.get('filter') || '' });
  const body = el('tbody');
  const more = el('button', { id: 'more', hidden: true }, 'More');
  const status = el('span', { class: 'muted', id: 'repo-status' });
  let next = '';
  let seq = 0;
  async function load(reset) {
    const mine = ++seq;
    const q = new URLSearchParams({ filter: filter.value, n: '50' });
    if (!reset && next) q.set('last', next);
    const started = performance.now();
    const page = await api('/ui/api/repositories?' + q.toString());
    if (mine !== seq) return;  // a later filter answered first
    if (reset) body.replaceChildren();
    for (const r of page.repositories) {
      body.append(el('tr', {},
        el('td', {}, link(repoPath(r.name), r.name)),
        el('td', { class: 'num' }, r.tags),
        el('td', { class: 'num' }, bytes(r.size)),
        el('td', {}, when(r.last_pushed_at))));
    }
    next = page.next;
    more.hidden = !next;
    status.textContent = body.children.length + ' shown (' + Math.round(performance.now() - started) + ' ms)';
    document.body.dataset.loaded = 'repositories';
  }
  let timer = null;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const u = new URL(location.href);
      if (filter.value) u.searchParams.set('filter', filter.value); else u.searchParams.delete('filter');
      history.replaceState(null, '', u.pathname + u.search);
      load(true).catch(showError);
    }, 120);
  });
  more.addEventListener('click', () => load(false).catch(showError));
  main(el('h1', {}, 'Repositories'),
    el('div', { class: 'toolbar' }, filter, status),
    el('table', { id: 'repositories' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', { class: 'num' }, 'Tags'), el('th', { class: 'num' }, 'Size'), el('th', {}, 'Last push'))),
      body),
    more);
  await load(true);
}

// --- one repository ---

function copyButton(text) {
  return el('button', {
    class: 'copy', onclick: async (e) => {
      try { await navigator.clipboard.writeText(text); } catch (err) {
        const ta = el('textarea', {}, text); document.body.append(ta); ta.select(); document.execCommand('copy'); ta.remove();
      }
      e.target.textContent = 'Copied';
      setTimeout(() => { e.target.textContent = 'Copy'; }, 1500);
    },
  }, 'Copy');
}

function pullCommands(host, name, ref) {
  const image = host + '/' + name + (ref.startsWith('sha256:') ? '@' + ref : ':' + ref);
  return el('div', { class: 'pulls' },
    ['docker', 'podman'].map((tool) => {
      const cmd = tool + ' pull ' + image;
      return el('div', { class: 'pull' }, el('code', { class: 'pull-command' }, cmd), copyButton(cmd));
    }));
}

async function confirmDialog(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true }));
}

async function deleteTag(repo, tag) {
  const estimate = await api(repoApi(repo) + '/tags/' + encodeURIComponent(tag));
  let text = 'Delete tag ' + tag + ' of ' + repo + '? ';
  if (estimate.other_tags > 0) text += 'Other tags (' + estimate.other_tags + ') keep its manifest: nothing is freed.';
  else text += 'This frees ' + bytes(estimate.bytes) + ' (' + estimate.blobs + ' blobs nothing else references) once garbage collection runs.';
  if (!(await confirmDialog(text))) return false;
  await api(repoApi(repo) + '/tags/' + encodeURIComponent(tag), { method: 'DELETE' });
  return true;
}

async function renderRepository(name) {
  const body = el('tbody');
  const more = el('button', { hidden: true }, 'More tags');
  const tagFilter = el('input', { type: 'search', id: 'tag-filter', placeholder: 'Filter tags' });
  let next = '';
  let info = null;
  async function load(reset) {
    const q = new URLSearchParams({ n: '100', filter: tagFilter.value });
    if (!reset && next) q.set('last', next);
    info = await api(repoApi(name) + '/summary?' + q.toString());
    if (reset) body.replaceChildren();
    for (const t of info.tags) {
      const actions = el('td', {});
      if (info.can_delete) {
        actions.append(el('button', {
          class: 'delete', 'data-tag': t.name, onclick: async () => {
            try { if (await deleteTag(name, t.name)) render(); } catch (err) { showError(err); }
          },
        }, 'Delete'));
      }
      body.append(el('tr', { 'data-tag': t.name },
        el('td', {}, link(repoPath(name) + '/manifests/' + encodeURIComponent(t.name), t.name)),
        el('td', {}, el('code', { title: t.digest }, short(t.digest))),
        el('td', { class: 'num' }, bytes(t.size)),
        el('td', {}, t.platforms.map((p) => el('span', { class: 'chip' }, p))),
        el('td', {}, when(t.pushed_at)),
        actions));
    }
    next = info.next;
    more.hidden = !next;
  }
  more.addEventListener('click', () => load(false).catch(showError));
  let timer = null;
  tagFilter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(true).catch(showError), 120);
  });
  await load(true);
  const firstTag = info.tags.some((t) => t.name === 'latest') || !info.tags.length ? 'latest' : info.tags[0].name;
  const parts = [
    el('h1', {}, name),
    el('p', { class: 'muted' }, 'Last push ' + when(info.last_pushed_at)),
    pullCommands(info.pull_host, name, firstTag),
    el('h2', {}, 'Tags'),
    el('div', { class: 'toolbar' }, tagFilter),
    el('table', { id: 'tags' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Tag'), el('th', {}, 'Digest'), el('th', { class: 'num' }, 'Size'), el('th', {}, 'Platforms'), el('th', {}, 'Pushed'), el('th', {}))),
      body),
    more,
  ];
  if (info.can_see_access) {
    const access = await api(repoApi(name) + '/access');
    parts.push(el('h2', {}, 'Who can access'),
      el('p', { class: 'muted' }, 'The ACL entries that can decide for this repository, in order: the first that matches a request decides.'),
      el('table', { id: 'access' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Line'), el('th', {}, 'Account'), el('th', {}, 'Name'), el('th', {}, 'Actions'), el('th', {}, 'Comment'))),
        el('tbody', {}, access.entries.map((e) => el('tr', {},
          el('td', {}, e.line), el('td', {}, e.account), el('td', {}, e.name + (e.name_depends_on_account ? ' (per account)' : '')),
          el('td', {}, e.actions.length ? e.actions.join(', ') : 'denied' ), el('td', {}, e.comment + (e.ip_ranges ? ' [from ' + e.ip_ranges + ' address ranges]' : '')))))));
  }
  main(...parts);
  document.body.dataset.loaded = 'repository';
}

// --- a manifest ---

function kv(pairs) {
  const dl = el('dl');
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    dl.append(el('dt', {}, k), el('dd', {}, Array.isArray(v) ? v.map((x) => el('div', { class: 'mono' }, x)) : v));
  }
  return dl;
}

function objectRows(obj) {
  return Object.entries(obj || {}).map(([k, v]) => el('tr', {}, el('td', { class: 'mono' }, k), el('td', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v))));
}

async function renderManifest(name, ref) {
  const m = await api(repoApi(name) + '/manifests/' + encodeURIComponent(ref));
  const parts = [
    el('h1', {}, name + (ref.startsWith('sha256:') ? '@' + ref : ':' + ref)),
    el('p', {}, link(repoPath(name), '← ' + name)),
    kv([['Digest', m.digest], ['Media type', m.media_type], ['Size', bytes(m.size)]]),
    pullCommands(m.pull_host, name, ref),
  ];
  const doc = m.manifest || {};
  if (Array.isArray(doc.manifests)) {
    parts.push(el('h2', {}, 'Platforms'), el('table', { id: 'platforms' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Platform'), el('th', {}, 'Digest'), el('th', { class: 'num' }, 'Size'))),
      el('tbody', {}, doc.manifests.map((d) => {
        const p = d.platform || {};
        const platform = [p.os, p.architecture, p.variant].filter(Boolean).join('/');
        return el('tr', {}, el('td', {}, platform || '(none)'),
          el('td', {}, link(repoPath(name) + '/manifests/' + encodeURIComponent(d.digest), el('code', {}, d.digest))),
          el('td', { class: 'num' }, bytes(d.size)));
      }))));
  }
  if (m.config) {
    const c = m.config.config || {};
    parts.push(el('h2', {}, 'Image'), kv([
      ['Created', m.config.created], ['Platform', [m.config.os, m.config.architecture, m.config.variant].filter(Boolean).join('/')],
      ['Entrypoint', c.Entrypoint ? JSON.stringify(c.Entrypoint) : ''], ['Cmd', c.Cmd ? JSON.stringify(c.Cmd) : ''],
      ['User', c.User], ['Working dir', c.WorkingDir], ['Env', c.Env || []],
      ['Exposed ports', Object.keys(c.ExposedPorts || {})],
    ]));
    if (c.Labels && Object.keys(c.Labels).length) {
      parts.push(el('h2', {}, 'Labels'), el('table', { id: 'labels' }, el('tbody', {}, objectRows(c.Labels))));
    }
  }
  if (Array.isArray(doc.layers)) {
    const history = ((m.config && m.config.history) || []).filter((h) => !h.empty_layer);
    parts.push(el('h2', {}, 'Layers'), el('table', { id: 'layers' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'Digest'), el('th', { class: 'num' }, 'Size'), el('th', {}, 'Created by'))),
      el('tbody', {}, doc.layers.map((l, i) => el('tr', {},
        el('td', {}, i + 1), el('td', {}, el('code', {}, l.digest)), el('td', { class: 'num' }, bytes(l.size)),
        el('td', { class: 'mono' }, history[i] ? (history[i].created_by || history[i].comment || '') : ''))))));
    const total = doc.layers.reduce((s, l) => s + (l.size || 0), 0);
    parts.push(el('p', { class: 'muted' }, doc.layers.length + ' layers, ' + bytes(total)));
  }
  if (doc.annotations && Object.keys(doc.annotations).length) {
    parts.push(el('h2', {}, 'Annotations'), el('table', { id: 'annotations' }, el('tbody', {}, objectRows(doc.annotations))));
  }
  if (m.referrers.length) {
    const groups = new Map();
    for (const r of m.referrers) {
      const k = r.artifact_type || '(no artifact type)';
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(r);
    }
    parts.push(el('h2', {}, 'Referrers'));
    for (const [type, list] of groups) {
      parts.push(el('h3', {}, type), el('ul', {}, list.map((r) => el('li', {},
        link(repoPath(name) + '/manifests/' + encodeURIComponent(r.digest), el('code', {}, r.digest)), ' ', bytes(r.size)))));
    }
  }
  let pretty = m.raw;
  try { pretty = JSON.stringify(JSON.parse(m.raw), null, 2); } catch (e) { /* shown as stored */ }
  parts.push(el('h2', {}, 'Raw manifest'), el('pre', { id: 'raw' }, pretty));
  main(...parts);
  document.body.dataset.loaded = 'manifest';
}

// --- storage ---

async function renderStorage() {
  const s = await api('/ui/api/storage');
  const parts = [el('h1', {}, 'Storage')];
  if (s.totals) {
    parts.push(kv([['Repositories', String(s.totals.repositories)], ['Blobs', String(s.totals.blobs)], ['Stored', bytes(s.totals.bytes)]]));
  }
  if (s.quotas && s.quotas.length) {
    parts.push(el('h2', {}, 'Quotas'), el('table', { id: 'quotas' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Policy'), el('th', { class: 'num' }, 'Used'), el('th', { class: 'num' }, 'Limit'), el('th', { class: 'num' }, 'Used %'))),
      el('tbody', {}, s.quotas.map((q) => el('tr', {}, el('td', {}, q.policy), el('td', { class: 'num' }, bytes(q.used)),
        el('td', { class: 'num' }, bytes(q.limit)), el('td', { class: 'num' }, q.limit > 0 ? (100 * q.used / q.limit).toFixed(1) + ' %' : ''))))));
  }
  if (s.gc) {
    parts.push(el('h2', {}, 'Garbage collection'), kv([
      ['Last success', s.gc.last_success_at ? when(s.gc.last_success_at) : 'never'],
      ['Last run took', s.gc.last_duration_s >= 0 ? s.gc.last_duration_s.toFixed(1) + ' s' : ''],
      ['Runs', s.gc.runs_succeeded + ' succeeded, ' + s.gc.runs_failed + ' failed, ' + s.gc.runs_skipped + ' skipped'],
      ['Freed since start', bytes(s.gc.bytes_freed) + ' (' + s.gc.blobs_deleted + ' blobs, ' + s.gc.manifests_deleted + ' manifests)'],
    ]));
  } else if (s.totals) {
    parts.push(el('p', { class: 'muted' }, 'Garbage collection has not run in this process (storage.gc, docs/gc.md).'));
  }
  parts.push(el('h2', {}, 'Usage by namespace'),
    el('p', { class: 'muted' }, 'Of the repositories you may pull; a blob shared by two repositories counts in both.'),
    el('table', { id: 'namespaces' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Namespace'), el('th', { class: 'num' }, 'Repositories'), el('th', { class: 'num' }, 'Size'))),
      el('tbody', {}, s.namespaces.map((n) => el('tr', {}, el('td', {}, n.name || '(top level)'), el('td', { class: 'num' }, n.repositories), el('td', { class: 'num' }, bytes(n.bytes)))))));
  main(...parts);
  document.body.dataset.loaded = 'storage';
}

// --- routing ---

async function render() {
  delete document.body.dataset.loaded;
  const path = decodeURIComponent(location.pathname);
  try {
    if (path === '/' || path === '') await renderRepositories();
    else if (path === '/storage') await renderStorage();
    else if (path.startsWith('/repositories/')) {
      const rest = path.slice('/repositories/'.length);
      const at = rest.lastIndexOf('/manifests/');
      if (at >= 0) await renderManifest(rest.slice(0, at), rest.slice(at + '/manifests/'.length));
      else await renderRepository(rest);
    } else {
      main(el('h1', {}, 'Not found'));
    }
  } catch (err) {
    showError(err);
  }
}

window.addEventListener('popstate', render);
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (a && e.button === 0 && !e.ctrlKey && !e.metaKey) { e.preventDefault(); navigate(a.getAttribute('href')); }
});
setUpSignIn();
loadSession().then(render).catch(showError);
